"""A generated support mailbox: realistic RFC 5322 messages, one at a time, from a seed.

`MailGenerator(seed=...).messages(count)` yields raw messages in mailbox order. About 30%
are replies to an earlier message of the same mailbox (In-Reply-To / References, a "Re:"
subject, the quoted history), about 3.5% out-of-office auto-replies to one (RFC 3834
`Auto-Submitted: auto-replied`, as a CC'd colleague's or the customer's own mail server
sends them), about 25% carry an HTML alternative, about 10% a small
attachment and about 15% are written in a legacy charset (iso-8859-1, windows-1252,
koi8-r, shift_jis, iso-2022-jp) with RFC 2047 encoded subjects and names. The mix comes
from a few hundred contacts across a dozen company and free-mail domains.

Only a bounded window of recent conversations is kept to reply to, so generating a
million messages needs no more memory than generating a thousand; `conversations` (each
Message-ID's conversation and kind, for the benchmark to check threading) is the one
record that grows, by one small entry a message.
"""

from __future__ import annotations

import base64
import quopri
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from email.utils import format_datetime, formataddr
from html import escape
from random import Random

from mailtext import LOCALES, Locale

WIRE = compat32.clone(linesep="\r\n")
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
RECENT_THREADS = 400  # conversations a reply may continue
MAX_REFERENCES = 10
MAX_QUOTED_LINES = 40
REPLY_SHARE = 0.30
AUTO_REPLY_SHARE = 0.035
HTML_SHARE = 0.25
ATTACHMENT_SHARE = 0.10
CONTACTS = 340  # before duplicates of generated addresses are dropped
# Which body encodings mailers use for each charset.
TRANSFER_ENCODINGS = {
    "utf-8": ("quoted-printable", "quoted-printable", "8bit", "base64"),
    "iso-8859-1": ("quoted-printable", "8bit"),
    "windows-1252": ("quoted-printable",),
    "koi8-r": ("8bit", "base64"),
    "shift_jis": ("base64",),
    "iso-2022-jp": ("7bit",),
}
MAILERS = (
    "Microsoft Outlook 16.0",
    "Apple Mail (2.3774.500.171)",
    "Mozilla Thunderbird 128.3",
    "Roundcube Webmail/1.6.9",
    "K-9 Mail for Android",
)


@dataclass(frozen=True)
class Contact:
    name: str
    address: str
    locale: Locale
    company: str | None


@dataclass
class Thread:
    root: str  # the Message-ID of the conversation's first message
    contact: Contact
    subject: str
    references: list[str]  # Message-IDs, oldest first, the latest last
    last_text: str
    last_author: Contact
    last_date: datetime


@dataclass
class Stats:
    """What was generated, so the benchmark can say what a correct import yields."""

    messages: int = 0
    threads: int = 0
    replies: int = 0
    auto_replies: int = 0
    html: int = 0
    attachments: int = 0
    bytes: int = 0
    charsets: Counter[str] = field(default_factory=Counter)

    @property
    def legacy_charset(self) -> int:
        return sum(n for charset, n in self.charsets.items() if charset != "utf-8")

    def summary(self) -> dict[str, object]:
        return {
            "messages": self.messages,
            "new_conversations": self.threads,
            "replies": self.replies,
            "auto_replies": self.auto_replies,
            "with_html": self.html,
            "with_attachment": self.attachments,
            "legacy_charset": self.legacy_charset,
            "charsets": dict(self.charsets.most_common()),
            "bytes": self.bytes,
            "average_bytes": round(self.bytes / self.messages) if self.messages else 0,
        }


class MailGenerator:
    def __init__(self, *, seed: int, support_address: str) -> None:
        self.rng = Random(seed)
        self.support = support_address
        self.contacts = self._contacts()
        self.by_domain: dict[str, list[Contact]] = {}
        for contact in self.contacts:
            self.by_domain.setdefault(contact.address.split("@")[1], []).append(contact)
        # Some customers write far more than others.
        self.weights = [1.0 / (rank + 8) for rank in range(len(self.contacts))]
        self.recent: list[Thread] = []
        self.stats = Stats()
        # Message-ID -> (its conversation's first Message-ID, "new", "reply" or "auto").
        self.conversations: dict[str, tuple[str, str]] = {}

    def _contacts(self) -> list[Contact]:
        rng = self.rng
        contacts: dict[str, Contact] = {}
        for locale in LOCALES:
            for _ in range(round(CONTACTS * locale.share)):
                domain, company = rng.choice(locale.domains)
                first, first_ascii = rng.choice(locale.first_names)
                last, last_ascii = rng.choice(locale.last_names)
                local = rng.choice((f"{first_ascii}.{last_ascii}", f"{first_ascii[0]}{last_ascii}",
                                    f"{first_ascii}{rng.randint(1, 99)}"))  # fmt: skip
                address = f"{local}@{domain}"
                name = locale.full_name(first, last)
                contacts.setdefault(address, Contact(name, address, locale, company))
        found = list(contacts.values())
        rng.shuffle(found)  # so the busiest customers are of every locale
        return found

    def messages(self, count: int) -> Iterator[bytes]:
        for index in range(count):
            raw = self.message(index)
            self.stats.messages += 1
            self.stats.bytes += len(raw)
            yield raw

    # -- one message ---------------------------------------------------------------------

    def message(self, index: int) -> bytes:
        rng = self.rng
        date = START + timedelta(seconds=index * 37 + rng.randint(0, 30))
        if self.recent and rng.random() < AUTO_REPLY_SHARE:
            return self._auto_reply(index, date)
        thread = self._reply_target() if rng.random() < REPLY_SHARE and self.recent else None
        if thread is None:
            author = rng.choices(self.contacts, self.weights)[0]
            new_text, history = self._new_text(author), None
            subject = self._subject(author.locale)
        else:
            colleagues = self.by_domain[thread.contact.address.split("@")[1]]
            author = thread.contact if rng.random() < 0.85 else rng.choice(colleagues)
            new_text, history = self._reply_text(author), self._history(author, thread)
            subject = f"{rng.choice(author.locale.reply_prefixes)}{thread.subject}"
        text = f"{new_text}\n\n{history[0]}\n{history[1]}" if history else new_text
        charset = author.locale.pick_charset(rng)
        message_id = self._message_id(author, date, index)

        body = self._body(text, new_text, history, charset)
        if rng.random() < ATTACHMENT_SHARE:
            mixed = MIMEMultipart("mixed")
            mixed.attach(body)
            mixed.attach(self._attachment(author, index))
            body = mixed
            self.stats.attachments += 1
        self._headers(body, author, subject, charset, date, message_id, thread, index)

        if thread is None:
            thread = Thread(message_id, author, subject, [], text, author, date)
            self.recent.append(thread)
            if len(self.recent) > RECENT_THREADS:
                del self.recent[0]
            self.stats.threads += 1
            self.conversations[message_id] = (message_id, "new")
        else:
            self.stats.replies += 1
            self.conversations[message_id] = (thread.root, "reply")
        thread.references = [*thread.references, message_id][-MAX_REFERENCES:]
        thread.last_text, thread.last_author, thread.last_date = text, author, date
        self.stats.charsets[charset] += 1
        return body.as_bytes(policy=WIRE)

    def _auto_reply(self, index: int, date: datetime) -> bytes:
        """An out-of-office answer to the newest message of a recent conversation, from the
        customer or a colleague CC'd on it; nobody replies to it."""
        rng = self.rng
        thread = self._reply_target()
        colleagues = self.by_domain[thread.contact.address.split("@")[1]]
        author = thread.contact if rng.random() < 0.5 else rng.choice(colleagues)
        back = (date + timedelta(days=rng.randint(2, 14))).strftime("%d %B")
        text = (
            f"Thank you for your message. I am out of the office until {back} with limited "
            f"access to email.\n\nFor urgent matters please call the front desk.\n\n{author.name}"
        )
        body = self._text_part(text, "plain", "utf-8")
        message_id = self._message_id(author, date, index)
        subject = f"Automatic reply: {thread.subject}"
        self._headers(body, author, subject, "utf-8", date, message_id, thread, index)
        body["Auto-Submitted"] = "auto-replied"
        body["X-Auto-Response-Suppress"] = "All"
        self.stats.auto_replies += 1
        self.stats.charsets["utf-8"] += 1
        self.conversations[message_id] = (thread.root, "auto")
        return body.as_bytes(policy=WIRE)

    def _reply_target(self) -> Thread:
        # Recent conversations are the likeliest to get an answer.
        position = int(len(self.recent) * (1 - self.rng.random() ** 2.5))
        return self.recent[min(position, len(self.recent) - 1)]

    def _message_id(self, author: Contact, date: datetime, index: int) -> str:
        host = author.address.split("@")[1]
        token = self.rng.getrandbits(48)
        return f"<{date:%Y%m%d%H%M%S}.{index:06d}.{token:012x}@mail.{host}>"

    def _subject(self, locale: Locale) -> str:
        template = self.rng.choice(locale.subjects)
        return template.format(
            order=self.rng.randint(10_000, 99_999), invoice=self.rng.randint(1000, 9999)
        )

    def _paragraphs(self, locale: Locale, low: int, high: int) -> list[str]:
        rng = self.rng
        paragraphs = []
        for _ in range(rng.randint(low, high)):
            sentences = rng.sample(locale.sentences, rng.randint(2, 4))
            paragraphs.append(
                locale.sentence_join.join(sentences).format(
                    order=rng.randint(10_000, 99_999), invoice=rng.randint(1000, 9999)
                )
            )
        return paragraphs

    def _signature(self, author: Contact) -> str:
        lines = [author.name]
        if author.company:
            lines.append(author.company)
        if self.rng.random() < 0.6:
            lines.append(f"+{self.rng.randint(10, 99)} {self.rng.randint(100, 999)} "
                         f"{self.rng.randint(1000, 9999)}")  # fmt: skip
        return "\n".join(lines)

    def _new_text(self, author: Contact) -> str:
        locale = author.locale
        return "\n\n".join(
            [
                self.rng.choice(locale.greetings),
                *self._paragraphs(locale, 2, 4),
                f"{self.rng.choice(locale.closings)}\n{self._signature(author)}",
            ]
        )

    def _reply_text(self, author: Contact) -> str:
        locale = author.locale
        return "\n\n".join(
            [
                self.rng.choice(locale.greetings),
                self.rng.choice(locale.follow_ups),
                *self._paragraphs(locale, 0, 2),
                f"{self.rng.choice(locale.closings)}\n{author.name}",
            ]
        )

    def _history(self, author: Contact, thread: Thread) -> tuple[str, str]:
        """(the "On ... wrote:" line, the previous message quoted with "> ")."""
        who = thread.last_author
        when = format_datetime(thread.last_date.astimezone(author.locale.tz))
        attribution = author.locale.wrote.format(date=when, name=who.name, address=who.address)
        quoted = [
            f">{line}" if line.startswith(">") else f"> {line}" if line else ">"
            for line in thread.last_text.splitlines()[:MAX_QUOTED_LINES]
        ]
        return attribution, "\n".join(quoted)

    # -- MIME ----------------------------------------------------------------------------

    def _text_part(self, text: str, subtype: str, charset: str) -> MIMENonMultipart:
        """A text leaf encoded the way mailers write `charset`, bytes kept exact."""
        cte = self.rng.choice(TRANSFER_ENCODINGS[charset])
        part = MIMENonMultipart("text", subtype, charset=charset)
        del part["MIME-Version"]  # only the top level carries it
        if cte == "base64":  # of the canonical form, whose line breaks are CRLF
            data = text.replace("\n", "\r\n").encode(charset)
            payload = base64.encodebytes(data).decode("ascii")
        elif cte == "quoted-printable":
            payload = quopri.encodestring(text.encode(charset)).decode("ascii")
        else:  # 7bit (iso-2022-jp is ASCII on the wire) or 8bit
            payload = text.encode(charset).decode("ascii", "surrogateescape")
        part.set_payload(payload)
        part["Content-Transfer-Encoding"] = cte
        return part

    def _body(
        self, text: str, new_text: str, history: tuple[str, str] | None, charset: str
    ) -> MIMENonMultipart | MIMEMultipart:
        plain = self._text_part(text, "plain", charset)
        if self.rng.random() >= HTML_SHARE:
            return plain
        self.stats.html += 1
        alternative = MIMEMultipart("alternative")
        del alternative["MIME-Version"]
        alternative.attach(plain)
        alternative.attach(self._text_part(self._html(new_text, history), "html", charset))
        return alternative

    def _html(self, new_text: str, history: tuple[str, str] | None) -> str:
        """Outlook-ish HTML: styles, a paragraph per block, the history in a blockquote."""
        blocks = [
            "<p class=MsoNormal>" + escape(block).replace("\n", "<br>\n") + "</p>"
            for block in new_text.split("\n\n")
        ]
        if history:
            attribution, quoted = history
            inner = "<br>\n".join(escape(line[2:]) for line in quoted.splitlines())
            blocks.append(
                f"<div>{escape(attribution)}</div>\n"
                '<blockquote style="margin:0 0 0 .8ex;border-left:1px #ccc solid;'
                f'padding-left:1ex">{inner}</blockquote>'
            )
        link = self.rng.choice(("https://status.example/", "https://shop.example/orders"))
        return (
            '<html><head><meta http-equiv=Content-Type content="text/html">'
            "<style>p.MsoNormal{margin:0cm;font-size:11pt;font-family:Calibri,sans-serif}"
            '</style></head><body lang=EN-US link="#0563C1">\n<div class=WordSection1>\n'
            + "\n".join(blocks)
            + f'\n<p class=MsoNormal><a href="{link}">{link}</a></p>\n'
            '<table cellpadding=0 style="border-collapse:collapse"><tr><td '
            'style="padding:0 6pt;color:#1F3864"><b>Customer</b></td></tr></table>\n'
            "</div></body></html>"
        )

    def _attachment(self, author: Contact, index: int) -> MIMENonMultipart:
        rng = self.rng
        kind = rng.choice(("pdf", "pdf", "png", "csv"))
        if kind == "pdf":
            data = _pdf(rng, rng.randint(2_000, 8_000))
            name = rng.choice(author.locale.document_names).format(n=index)
            part = MIMENonMultipart("application", "pdf")
        elif kind == "png":
            data = _png(rng, rng.randint(1_500, 6_000))
            name = f"screenshot-{index}.png"
            part = MIMENonMultipart("image", "png")
        else:
            rows = [f"{rng.randint(10_000, 99_999)};{rng.randint(1, 9)};{rng.random():.2f}"
                    for _ in range(rng.randint(40, 150))]  # fmt: skip
            data = ("order;quantity;price\r\n" + "\r\n".join(rows) + "\r\n").encode()
            name = f"export-{index}.csv"
            part = MIMENonMultipart("text", "csv", charset="us-ascii")
        del part["MIME-Version"]
        part.set_payload(base64.encodebytes(data).decode("ascii"))
        part["Content-Transfer-Encoding"] = "base64"
        filename = name if name.isascii() else ("utf-8", "", name)  # RFC 2231 otherwise
        part.add_header("Content-Disposition", "attachment", filename=filename)
        return part

    def _headers(
        self,
        msg: MIMENonMultipart | MIMEMultipart,
        author: Contact,
        subject: str,
        charset: str,
        date: datetime,
        message_id: str,
        thread: Thread | None,
        index: int,
    ) -> None:
        """Headers in the order a delivering MTA leaves them, trace headers first."""
        rng = self.rng
        domain = author.address.split("@")[1]
        header_charset = "utf-8" if charset == "utf-8" else charset
        received_at = date + timedelta(seconds=rng.randint(1, 5))
        body_headers = list(msg.items())
        for name in list(msg.keys()):
            del msg[name]
        msg["Return-Path"] = f"<{author.address}>"
        msg["Delivered-To"] = self.support
        msg["Received"] = (
            f"from mail.{domain} (mail.{domain} [198.51.100.{index % 250 + 1}])\r\n"
            f"\tby mx.relaydesk.example (Postfix) with ESMTPS id {rng.getrandbits(40):010X}\r\n"
            f"\tfor <{self.support}>; {format_datetime(received_at)}"
        )
        msg["DKIM-Signature"] = (
            f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=mail;\r\n"
            f"\tt={int(date.timestamp())}; bh="
            f"{base64.b64encode(rng.randbytes(32)).decode()};\r\n\th=From:To:Subject:Date:"
            f"Message-ID; b={_folded(base64.b64encode(rng.randbytes(128)).decode())}"
        )
        msg["From"] = formataddr((author.name, author.address), charset=header_charset)
        msg["To"] = f"Support <{self.support}>"
        if rng.random() < 0.1:
            colleague = rng.choice(self.by_domain[domain])
            if colleague is not author:
                msg["Cc"] = formataddr((colleague.name, colleague.address), charset=header_charset)
        msg["Subject"] = _encoded(subject, header_charset)
        msg["Date"] = format_datetime(date.astimezone(author.locale.tz))
        msg["Message-ID"] = message_id
        if thread is not None:
            msg["In-Reply-To"] = thread.references[-1]
            msg["References"] = "\r\n ".join(thread.references)
        msg["MIME-Version"] = "1.0"
        msg["X-Mailer"] = rng.choice(MAILERS)
        for name, value in body_headers:
            if name != "MIME-Version":
                msg[name] = value


def _encoded(text: str, charset: str) -> str:
    """`text` as RFC 2047 encoded words in `charset` (ASCII text as it is).

    The stdlib would write Shift_JIS headers as ISO-2022-JP, as Japanese mailers usually
    do; some write Shift_JIS words, so those are built here.
    """
    if text.isascii():
        return text
    if charset != "shift_jis":
        return Header(text, charset).encode()
    chunks = [text[i : i + 12] for i in range(0, len(text), 12)]
    return "\r\n ".join(
        f"=?shift_jis?B?{base64.b64encode(c.encode(charset)).decode()}?=" for c in chunks
    )


def _folded(value: str, width: int = 70) -> str:
    return "\r\n\t ".join(value[i : i + width] for i in range(0, len(value), width))


def _pdf(rng: Random, size: int) -> bytes:
    """Bytes shaped like a small PDF: header, an object with a binary stream, trailer."""
    stream = rng.randbytes(size)
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Length "
        + str(size).encode()
        + b" /Filter /FlateDecode >>\nstream\n"
        + stream
        + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def _png(rng: Random, size: int) -> bytes:
    """A PNG whose chunks and CRCs are well formed (the pixels are noise)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data).to_bytes(4, "big")
        return len(data).to_bytes(4, "big") + kind + data + crc

    header = (640).to_bytes(4, "big") + (400).to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", rng.randbytes(size))
        + chunk(b"IEND", b"")
    )
