"""Raw RFC 5322 bytes into a `ParsedEmail`: pure, no I/O.

Hostile input is normal input: every header may be malformed, every charset unknown,
every body truncated. Whatever can be recovered is; only input with no headers at all
raises `EmailParseError`, and the caller then stores the raw bytes as a failed message.
Work is bounded (parts walked, nesting depth) so one message cannot exhaust a worker.
"""

from __future__ import annotations

import email
import email.policy
import mimetypes
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime

from app.ingest.types import ThreadHints
from app.messages.sanitize import sanitize_html, text_from_html
from channels.email.addresses import (
    addresses,
    content_type,
    decode_bytes,
    hashed_id,
    header_text,
    message_id,
    msg_ids,
    param,
    payload,
    raw_header,
    repair,
    unfold,
)
from channels.email.classify import AUTO_REPLY, Bounce, automation, find_bounce
from channels.email.quoting import split_quoted, split_quoted_html

MAX_PARTS = 500
MAX_DEPTH = 30
_TICKET_TAG = re.compile(r"\[#(\d{1,18})\]")
_DISPLAY_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Message-ID")
_FILENAME_BAD = re.compile(r"[\x00-\x1f\x7f\"<>:|?*]")
_TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef"}
_BODY_TYPES = {"text/plain", "text/html"}
_REPORT_NAMES = {
    "message/delivery-status": "delivery-status.txt",
    "message/disposition-notification": "disposition-notification.txt",
    "text/rfc822-headers": "original-headers.txt",
}
_FORWARDED_TYPES = {"message/rfc822", "message/global", "message/news"}
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


class EmailParseError(ValueError):
    """The bytes are not an email at all (empty, or no header); store them raw."""


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None  # without angle brackets: the HTML refers to it as "cid:<this>"
    inline: bool  # shown in the HTML body rather than listed


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    subject: str
    from_address: str | None
    from_name: str | None
    reply_to: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    text: str
    html: str | None  # sanitized; "cid:" sources kept for the ingest layer to rewrite
    new_text: str
    quoted_text: str
    attachments: tuple[ParsedAttachment, ...]
    auto_submitted: bool
    # A machine's answer to a message (auto-replied, out of office), not a bounce: it joins
    # the conversation it answers or opens nothing.
    auto_reply: bool
    bounce: Bounce | None
    ticket_number: int | None
    headers: dict[str, str] = field(default_factory=dict)


def _bounded(raw: bytes) -> bytes:
    """The raw message cut before its (MAX_PARTS * 4)th boundary-like line.

    The stdlib parser builds the whole tree before we can count parts, and a message of
    tiny parts costs it seconds per megabyte. A cut multipart parses like a truncated one.
    """
    position = -1
    for _ in range(MAX_PARTS * 4):
        position = raw.find(b"\n--", position + 1)
        if position < 0:
            return raw
    return raw[: position + 1]


def _is_clean(msg: Message, raw: bytes) -> bool:
    """A body, no parse defects and 7-bit headers in every part: compat32 read it as the
    modern policy would. On damaged mail the modern policy recovers more (boundaries,
    8-bit parameters)."""
    if _BLANK_LINE.search(raw) is None:
        return False
    return not any(
        part.defects or not all(value.isascii() for _, value in part.raw_items())
        for part in msg.walk()
    )


def _parse_tree(raw: bytes) -> Message:
    """compat32's tree for well-formed mail, else the modern policy's; at worst the headers.

    The helpers in `addresses` read header values as the strings they were, which compat32
    keeps; the modern policy builds a header object on every access, six times slower for
    the same result (addresses still go through its parser, one header at a time). Damaged
    mail goes the slower way, as the modern policy recovers more of it.
    """
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        if _is_clean(msg, raw):
            return msg
    except Exception:  # noqa: S110 - the stdlib parser has raised many kinds (RecursionError too)
        pass
    parsers = (
        lambda: email.message_from_bytes(raw, policy=email.policy.default),
        lambda: email.message_from_bytes(raw, policy=email.policy.compat32),
    )
    for parse in parsers:
        try:
            return parse()
        except Exception:  # noqa: S112 - as above
            continue
    # The whole body is then read as one text part.
    return BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)


def _walk(root: Message) -> list[Message]:
    """Leaf parts in document order, bounded; message/* parts are leaves, left unopened."""
    leaves: list[Message] = []
    stack: list[tuple[Message, int]] = [(root, 0)]
    seen = 0
    while stack and seen < MAX_PARTS:
        part, depth = stack.pop()
        seen += 1
        content = payload(part)
        if isinstance(content, list) and content_type(part).startswith("multipart/"):
            if depth < MAX_DEPTH:
                children = [child for child in content if isinstance(child, Message)]
                stack.extend((child, depth + 1) for child in reversed(children))
            continue
        leaves.append(part)
    return leaves


def _decoded_payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # garbage transfer encodings
        data = None
    if isinstance(data, bytes):
        return data
    content = payload(part)
    return str(content).encode("utf-8", "surrogateescape") if isinstance(content, str) else b""


def _part_text(part: Message) -> str:
    return decode_bytes(_decoded_payload(part), param(part, "charset"))


def _disposition(part: Message) -> str:
    raw = raw_header(part, "Content-Disposition") or ""
    return raw.split(";", 1)[0].strip().lower()


def _filename(part: Message) -> str | None:
    name = param(part, "filename", "content-disposition") or param(part, "name")
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _FILENAME_BAD.sub("_", name).strip().strip(".")
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        name = (
            stem[: 199 - len(extension)] + dot + extension
            if dot and len(extension) < 16
            else name[:200]
        )
    return name or None


def _is_body(part: Message, kind: str) -> bool:
    return kind in _BODY_TYPES and _disposition(part) != "attachment" and not _filename(part)


def _inner(part: Message) -> Message | None:
    content = payload(part)
    inner = content[0] if isinstance(content, list) and content else None
    return inner if isinstance(inner, Message) else None


def _as_bytes(msg: Message) -> bytes:
    """A parsed message (or header block) serialized again, headers as they were written."""
    for policy in (email.policy.default.clone(refold_source="none"), email.policy.compat32):
        try:
            return msg.as_bytes(policy=policy)
        except Exception:  # noqa: S112 - the next, plainer policy may cope
            continue
    return b""


def _serialized(part: Message) -> bytes:
    """A message/* part's content: the forwarded message, or delivery-status blocks."""
    content = payload(part)
    if isinstance(content, list):
        return b"\n".join(_as_bytes(block) for block in content if isinstance(block, Message))
    return _decoded_payload(part)


def _attachment(part: Message, kind: str, position: int) -> ParsedAttachment:
    filename = _filename(part)
    inner = _inner(part) if kind in _FORWARDED_TYPES else None
    data = _serialized(part) if kind.startswith("message/") else _decoded_payload(part)
    if inner is not None:
        subject = _FILENAME_BAD.sub("_", header_text(inner, "Subject").replace("/", "_"))
        filename = filename or f"{subject[:100].strip(' .') or 'forwarded message'}.eml"
    if kind in _TNEF_TYPES or (filename or "").lower() == "winmail.dat":
        kind, filename = "application/ms-tnef", filename or "winmail.dat"
    if not filename:
        extension = mimetypes.guess_extension(kind, strict=False) or ".bin"
        filename = _REPORT_NAMES.get(kind) or f"attachment-{position}{extension}"
    content_id = message_id(raw_header(part, "Content-ID"))
    return ParsedAttachment(
        filename=filename,
        content_type=kind,
        data=data,
        content_id=content_id[1:-1] if content_id else None,
        inline=False,
    )


def _date(msg: Message) -> datetime | None:
    raw = raw_header(msg, "Date")
    if not raw:
        return None
    try:
        value = parsedate_to_datetime(unfold(repair(raw)))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if value.year < 1970:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _ticket_number(subject: str) -> int | None:
    match = _TICKET_TAG.search(subject)
    return int(match.group(1)) if match and int(match.group(1)) < 2**63 else None


def _bodies(leaves: list[Message]) -> tuple[list[str], list[str], list[tuple[Message, str]]]:
    texts: list[str] = []
    htmls: list[str] = []
    others: list[tuple[Message, str]] = []
    for part in leaves:
        kind = content_type(part)
        if kind.startswith("multipart/"):
            kind = "text/plain"  # a multipart without usable boundary: its body is text
        if _is_body(part, kind):
            (htmls if kind == "text/html" else texts).append(_part_text(part))
        else:
            others.append((part, kind))
    if not texts and not htmls:
        # Some mailers name their only body part ("name=body.txt"); if nothing else is the
        # body, the first text part not explicitly an attachment is.
        for index, (part, kind) in enumerate(others):
            if kind in _BODY_TYPES and _disposition(part) != "attachment":
                (htmls if kind == "text/html" else texts).append(_part_text(part))
                del others[index]
                break
    return texts, htmls, others


def _split(text: str, raw_html: str, has_text_part: bool) -> tuple[str, str]:
    if not has_text_part and raw_html:
        halves = split_quoted_html(raw_html)
        if halves is not None:
            return text_from_html(halves[0]), text_from_html(halves[1])
    return split_quoted(text)


def parse_email(raw: bytes) -> ParsedEmail:
    raw = bytes(raw)
    if not raw.strip():
        raise EmailParseError("empty message")
    msg = _parse_tree(_bounded(raw))
    if not list(msg.raw_items()):
        raise EmailParseError("no header found")
    leaves = _walk(msg)
    texts, htmls, others = _bodies(leaves)
    raw_html = "\n".join(htmls)
    html = sanitize_html(raw_html) if htmls else None
    text = "\n\n".join(t.rstrip() for t in texts if t.strip()) or text_from_html(raw_html)
    text = text.replace("\r\n", "\n")
    referenced = (html or "").lower()
    attachments = []
    for position, (part, kind) in enumerate(others, start=1):
        found = _attachment(part, kind, position)
        if found.content_id and f"cid:{found.content_id.lower()}" in referenced:
            found = replace(found, inline=True)
        attachments.append(found)

    subject = header_text(msg, "Subject")
    senders = addresses(msg, "From")
    from_name, from_address = senders[0] if senders else (None, None)
    reply_to = addresses(msg, "Reply-To")
    new_text, quoted_text = _split(text, raw_html, any(t.strip() for t in texts))
    bounce = find_bounce(msg, leaves, sender=from_address, subject=subject, text=text)
    headers = {name: header_text(msg, name)[:2000] for name in _DISPLAY_HEADERS}
    automated = automation(msg, subject=subject)
    return ParsedEmail(
        message_id=message_id(raw_header(msg, "Message-ID")) or hashed_id(raw),
        subject=subject,
        from_address=from_address,
        from_name=from_name or None,
        reply_to=reply_to[0][1] if reply_to else None,
        to=tuple(address for _, address in addresses(msg, "To")),
        cc=tuple(address for _, address in addresses(msg, "Cc")),
        date=_date(msg),
        in_reply_to=msg_ids(raw_header(msg, "In-Reply-To")),
        references=msg_ids(raw_header(msg, "References")),
        text=text,
        html=html,
        new_text=new_text,
        quoted_text=quoted_text,
        attachments=tuple(attachments),
        auto_submitted=bounce is not None or automated is not None,
        auto_reply=bounce is None and automated == AUTO_REPLY,
        bounce=bounce,
        ticket_number=_ticket_number(subject),
        headers={name: value for name, value in headers.items() if value},
    )


def thread_hints(parsed: ParsedEmail) -> ThreadHints:
    """In-Reply-To first, then References from the nearest (last) to the oldest."""
    replies_to: list[str] = []
    for candidate in (*parsed.in_reply_to, *reversed(parsed.references)):
        if candidate != parsed.message_id and candidate not in replies_to:
            replies_to.append(candidate)
    return ThreadHints(replies_to=tuple(replies_to), ticket_number=parsed.ticket_number)
