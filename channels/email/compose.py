"""Builds the MIME message for an agent reply. No network: the only I/O is reading the
attachment files, so run `compose` off the event loop (`asyncio.to_thread`).

Threading headers follow RFC 5322 §3.6.4: `In-Reply-To` names the message we answer and
`References` the thread, oldest first. Mail clients group by those; the `[#1042]` subject
tag is the fallback our own inbound parser reads when a client drops them.
"""

from __future__ import annotations

import email.policy
import email.utils
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

from app.ingest.types import OutboundAttachment, OutboundMessage

# Bodies become quoted-printable or base64 (7-bit clean), so the message needs no 8BITMIME
# and its bytes do not depend on what the server offers. `refold_source="none"` keeps the
# msg-id headers we fold ourselves (see `_set_msg_ids`) exactly as written.
POLICY = email.policy.SMTP.clone(cte_type="7bit", refold_source="none")

# References keeps the thread's first message and the most recent ones (RFC 5322 allows
# trimming; the first anchors the thread for clients that look only at it).
REFERENCES_LIMIT = 20

_MSG_ID = re.compile(r"<[!-;=?-~]+>")  # printable ASCII, no angle brackets or spaces
_NONCE = re.compile(r"[A-Za-z0-9._-]+")
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")
_REPLY_PREFIX = re.compile(r"(?:re|aw|sv)\s*:", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_MIME_TOKEN = re.compile(r"[A-Za-z0-9!#$&^_.+-]+")


def domain_of(address: str) -> str:
    """The domain of an address, lower-case and IDNA-encoded so it fits a Message-ID."""
    _, _, domain = address.strip().rpartition("@")
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise ValueError(f"{address!r} has no usable domain") from exc
    if not _DOMAIN.fullmatch(ascii_domain):
        raise ValueError(f"{address!r} has no usable domain")
    return ascii_domain


def make_message_id(*, message_id: int, domain: str, nonce: str) -> str:
    """`<relaydesk.{message_id}.{nonce}@{domain}>`; the nonce keeps ids unique across
    databases (a restored backup, a staging copy) that reuse message ids."""
    if not _NONCE.fullmatch(nonce):
        raise ValueError(f"nonce {nonce!r} may hold only letters, digits, '.', '_' and '-'")
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(f"domain {domain!r} is not a plain ASCII host name")
    return f"<relaydesk.{message_id}.{nonce}@{domain}>"


def _one_line(value: str) -> str:
    """Header text on one line: CR, LF and other controls would break or inject headers."""
    return " ".join(_CONTROL.sub(" ", value).split())


def tagged_subject(subject: str, ticket_number: int) -> str:
    """`Re: {subject} [#{number}]`, adding neither a second reply prefix (Re:, AW:, SV:)
    nor a second tag."""
    line = _one_line(subject)
    tag = f"[#{ticket_number}]"
    if not re.search(rf"\[#\s*{ticket_number}\s*\]", line):
        line = f"{line} {tag}" if line else tag
    if not _REPLY_PREFIX.match(line):
        line = f"Re: {line}"
    return line


def thread_message_ids(external_ids: Iterable[str]) -> list[str]:
    """The ids that look like Message-IDs, oldest first, without repeats. Other channels'
    ids and IMAP `UIDVALIDITY:UID` keys are skipped."""
    seen: dict[str, None] = {}
    for external_id in external_ids:
        candidate = external_id.strip()
        if _MSG_ID.fullmatch(candidate):
            seen.setdefault(candidate, None)
    return list(seen)


def _references(ids: list[str]) -> list[str]:
    if len(ids) <= REFERENCES_LIMIT:
        return ids
    return [ids[0], *ids[-(REFERENCES_LIMIT - 1) :]]


def _set_msg_ids(message: EmailMessage, name: str, ids: list[str]) -> None:
    # The header classes treat In-Reply-To and References as unstructured text and
    # RFC 2047-encode an id longer than a line, which no client matches any more. Fold
    # between ids ourselves and store the value raw.
    message.set_raw(name, "\r\n ".join(ids))


def _content_type(value: str) -> tuple[str, str]:
    maintype, _, subtype = value.split(";", 1)[0].strip().lower().partition("/")
    if not (_MIME_TOKEN.fullmatch(maintype) and _MIME_TOKEN.fullmatch(subtype)):
        return "application", "octet-stream"
    # A message/* or multipart/* part must hold a parsed message, not opaque bytes: send
    # the stored file as it is, byte for byte.
    if maintype in {"message", "multipart"}:
        return "application", "octet-stream"
    return maintype, subtype


def _filename(name: str) -> str:
    cleaned = _one_line(name.replace("/", "_").replace("\\", "_")).strip(". ")
    return cleaned or "attachment"


def _attach(message: EmailMessage, attachment: OutboundAttachment) -> None:
    maintype, subtype = _content_type(attachment.content_type)
    data = Path(attachment.path).read_bytes()
    # Non-ASCII names go out as RFC 2231 `filename*=utf-8''...`.
    message.add_attachment(
        data, maintype=maintype, subtype=subtype, filename=_filename(attachment.filename)
    )


def compose(
    outbound: OutboundMessage,
    *,
    from_address: str,
    from_name: str | None,
    message_id_header: str,
    now: datetime | None = None,
) -> EmailMessage:
    """The reply as a MIME message: text/plain, text/html as an alternative when the reply
    has HTML, then the attachments.

    Raises `ValueError` for an address that cannot be written in a header and `OSError`
    when an attachment file cannot be read.
    """
    if not _MSG_ID.fullmatch(message_id_header):
        raise ValueError(f"{message_id_header!r} is not a Message-ID")
    message = EmailMessage(policy=POLICY)
    display_name = _one_line(from_name) if from_name else ""
    # Address() rejects CR/LF and malformed addresses; the policy RFC 2047-encodes a
    # non-ASCII display name.
    message["From"] = Address(display_name=display_name, addr_spec=from_address.strip())
    message["To"] = Address(addr_spec=outbound.recipient.address.strip())
    message["Subject"] = tagged_subject(outbound.subject, outbound.ticket_number)
    message["Date"] = email.utils.format_datetime(now or datetime.now(UTC))
    message.set_raw("Message-ID", message_id_header)
    thread = [i for i in thread_message_ids(outbound.thread_external_ids) if i != message_id_header]
    if thread:
        answered = outbound.in_reply_to if outbound.in_reply_to in thread else thread[-1]
        _set_msg_ids(message, "In-Reply-To", [answered])
        _set_msg_ids(message, "References", _references(thread))
    if outbound.automated:
        # RFC 3834: other robots must not answer us, and Exchange must not either.
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
    message["X-Relaydesk-Ticket"] = str(outbound.ticket_number)

    message.set_content(outbound.text, charset="utf-8")
    if outbound.html:
        message.add_alternative(outbound.html, subtype="html", charset="utf-8")
    for attachment in outbound.attachments:
        _attach(message, attachment)
    return message
