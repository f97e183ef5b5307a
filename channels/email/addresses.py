"""Header values made safe: charsets, RFC 2047 encoded words, addresses and Message-IDs.

Every function here takes hostile input and never raises. Decoded text never contains
lone surrogates (what the `email` package uses for undecodable 8-bit bytes) or NUL
characters, so it can be stored in PostgreSQL and encoded as UTF-8 without surprises.

The modern policy's own RFC 2047 decoding is lossy where mail is commonly broken: a
multi-byte character split across two encoded words becomes two replacement characters,
an unknown charset yields surrogates, and adjacent encoded words in a display name keep
the space between them. `decode_words` decodes the raw header text instead.
"""

from __future__ import annotations

import base64
import binascii
import email.policy
import hashlib
import re
from email.message import Message
from email.utils import getaddresses
from typing import Any

# Labels mail software writes that Python does not know, or knows only as a subset of
# what senders actually use (WHATWG treats ISO-8859-1 as windows-1252 for the same reason).
CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "sjis": "cp932",
    "windows-31j": "cp932",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "unknown-8bit": "",
    "x-unknown": "",
    "x-user-defined": "",
}
_ASCII_LABELS = {"", "us-ascii", "ascii", "ansi_x3.4-1968", "us", "default", "none"}
_SURROGATES = re.compile(r"[\udc80-\udcff]+")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FOLD = re.compile(r"\r?\n[ \t]*|\r")
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,80})\?([bBqQ])\?([^?\s]*)\?=")
_QP_ESCAPE = re.compile(rb"=([0-9A-Fa-f]{2})")
_MSG_ID = re.compile(r"<\s*([^<>\s]+?)\s*>")
MAX_MSG_ID = 998  # the column that stores external ids is VARCHAR(998)
MAX_REFERENCES = 100
MODERN_PARSER_LIMIT = 8000


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text from bytes in a declared charset that may be wrong, unknown or missing.

    The label first, then UTF-8 (the most common mislabel), then the label with
    replacement characters for a known multi-byte charset, then windows-1252.
    """
    label = (charset or "").strip().strip("\"'").lower().split("*", 1)[0][:64]
    label = CHARSET_ALIASES.get(label, label)
    if not label.isascii() or "\x00" in label:
        label = ""
    for candidate in (label, "utf-8"):
        if candidate:
            try:
                return repair(data.decode(candidate))
            except (LookupError, UnicodeError, ValueError, TypeError):
                pass
    if label not in _ASCII_LABELS:
        try:
            return repair(data.decode(label, "replace"))
        except (LookupError, UnicodeError, ValueError, TypeError):
            pass
    return repair(data.decode("cp1252", "replace"))


def _surrogate_run(match: re.Match[str]) -> str:
    raw = match.group().encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


def repair(value: str) -> str:
    """Undecodable bytes the parser kept as surrogates become text; NULs go."""
    value = _SURROGATES.sub(_surrogate_run, value)
    return _LONE_SURROGATE.sub("\ufffd", value).replace("\x00", "")


def _word_bytes(encoding: str, text: str) -> bytes | None:
    if encoding in "bB":
        text = re.sub(r"[^A-Za-z0-9+/]", "", text)
        text += "=" * (-len(text) % 4)
        try:
            return base64.b64decode(text)
        except (binascii.Error, ValueError):
            return None
    raw = text.replace("_", " ").encode("ascii", "replace")
    return _QP_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words, joining adjacent words of one charset first.

    Whitespace between adjacent encoded words is dropped (RFC 2047 section 6.2), and a
    character split over two words survives. Malformed words stay as they were written.
    """
    pieces: list[str] = []
    pending: tuple[str, bytearray] | None = None
    position = 0

    def flush() -> None:
        nonlocal pending
        if pending is not None:
            pieces.append(decode_bytes(bytes(pending[1]), pending[0]))
            pending = None

    for match in _ENCODED_WORD.finditer(value):
        charset, encoding, text = match.groups()
        data = _word_bytes(encoding, text)
        gap = value[position : match.start()]
        if data is None:
            continue  # left in place: it is copied with the next gap
        if gap.strip() or pending is None:
            flush()
            pieces.append(repair(gap))
        label = charset.split("*", 1)[0].lower()
        if pending is not None and pending[0] != label:
            flush()
        if pending is None:
            pending = (label, bytearray())
        pending[1].extend(data)
        position = match.end()
    flush()
    pieces.append(repair(value[position:]))
    return "".join(pieces)


def unfold(value: str) -> str:
    return _CONTROL.sub(" ", _FOLD.sub(" ", value)).strip()


def raw_header(msg: Message, name: str) -> str | None:
    """The first header of that name as written (8-bit bytes kept as surrogates)."""
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            return value if isinstance(value, str) else str(value)
    return None


def raw_headers(msg: Message, name: str) -> list[str]:
    wanted = name.lower()
    return [str(value) for key, value in msg.raw_items() if key.lower() == wanted]


def header_text(msg: Message, name: str) -> str:
    """An unstructured header, decoded and unfolded; "" when absent."""
    raw = raw_header(msg, name)
    return unfold(decode_words(raw)) if raw is not None else ""


def normalize_address(value: str) -> str | None:
    """A lower-cased addr-spec, or None when it is not one."""
    address = repair(value).strip().strip("<>").strip().lower()
    if len(address) > 320 or "@" not in address or _CONTROL.search(address):
        return None
    local, _, domain = address.rpartition("@")
    if not local or not domain or "." not in domain.strip("."):
        return None
    if any(ch in domain for ch in ' \t<>,;:"()\\@[]') and not domain.startswith("["):
        return None
    if not local.startswith('"') and any(ch in local for ch in ' \t<>,;:"()\\[]'):
        return None
    return address


# A plain address list, `Name <a@b>, c@d`: no quotes, comments, groups or routes, where
# `getaddresses` and the modern parser agree.
_ATOMS = r'[^\s"()<>@,;:\\\[\]]+'
_PLAIN_ITEM = rf'(?:[^"()<>@,;:\\\[\]]*<{_ATOMS}@{_ATOMS}>|\s*{_ATOMS}@{_ATOMS})\s*'
_PLAIN_LIST = re.compile(rf"{_PLAIN_ITEM}(?:,{_PLAIN_ITEM})*")


def _modern_addresses(name: str, raw: str) -> list[tuple[str, str]] | None:
    try:
        # As the modern policy reads a header: line breaks dropped, then its parser.
        unfolded = raw.replace("\r", "").replace("\n", "")
        header = email.policy.default.header_factory(name, unfolded)
        found = [(str(a.display_name), str(a.addr_spec)) for a in getattr(header, "addresses", ())]
    except Exception:  # the modern header parser raises assorted errors on hostile input
        return None
    return found


def addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """(display name, address) for every valid address of every header of that name.

    Addresses come from the modern policy's parser where it copes (it is stricter than
    `getaddresses`, which 3.11 fools with quoted '@'); names are decoded from the raw text.
    """
    raws = raw_headers(msg, name)
    if not raws:
        return []
    names: dict[str, str] = {}
    fallback: list[tuple[str, str]] = []
    try:
        parsed = getaddresses([_address_text(raw) for raw in raws])
    except Exception:  # e.g. RecursionError on deeply nested comments
        parsed = []
    for display, spec in parsed:
        address = normalize_address(spec)
        if address is not None:
            names.setdefault(address, unfold(decode_words(display)))
            fallback.append((names[address], address))
    # The modern parser is quadratic in the length of an address list, and adds nothing
    # where the header is plain `Name <a@b>, c@d` (no quotes, comments or groups).
    usable = (
        len(raws) == 1
        and len(raws[0]) <= MODERN_PARSER_LIMIT
        and not _PLAIN_LIST.fullmatch(_address_text(raws[0]))
    )
    modern = _modern_addresses(name, raws[0]) if usable else None
    if not modern:
        return _dedupe(fallback)
    found: list[tuple[str, str]] = []
    for display, spec in modern:
        address = normalize_address(spec)
        if address is not None:
            found.append((names.get(address) or unfold(repair(display)), address))
    return _dedupe(found or fallback)


def _address_text(raw: str) -> str:
    """Raw address text with 8-bit bytes repaired; encoded words are decoded per name."""
    return repair(_FOLD.sub(" ", raw))


def _dedupe(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    unique = []
    for display, address in pairs:
        if address not in seen:
            seen.add(address)
            unique.append((display, address))
    return unique


def hashed_id(data: bytes, kind: str = "sha256") -> str:
    return f"<{kind}-{hashlib.sha256(data).hexdigest()}@relaydesk.invalid>"


def msg_ids(value: str | None, *, limit: int = MAX_REFERENCES) -> tuple[str, ...]:
    """Normalised "<id>" values of a Message-ID list header, at most `limit`, the last kept.

    Ids without angle brackets (some clients) are accepted when they contain "@".
    """
    if not value:
        return ()
    text = repair(value)
    found = _MSG_ID.findall(text)
    if not found:
        found = [token for token in re.split(r"[\s,;]+", text) if "@" in token]
    ids: dict[str, None] = {}  # ordered and deduplicated
    for token in found:
        normalized = f"<{token.strip('<>')}>"
        if 2 < len(normalized) <= MAX_MSG_ID:
            ids[normalized] = None
    return tuple(ids)[-limit:]


def message_id(value: str | None) -> str | None:
    """The message's own id, normalised; an id too long to store becomes its hash."""
    if not value:
        return None
    text = repair(value)
    match = _MSG_ID.search(text)
    token = match.group(1) if match else text.strip().strip("<>")
    if not token or any(ch.isspace() or ch in "<>" for ch in token) or _CONTROL.search(token):
        return None
    normalized = f"<{token}>"
    if len(normalized) > MAX_MSG_ID:
        return hashed_id(normalized.encode("utf-8"), "sha256-id")
    return normalized


_MIME_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")


def content_type(part: Message) -> str:
    """The part's MIME type; its default (text/plain, or message/rfc822 in a digest) when
    the header is missing or unparseable."""
    try:
        found = part.get_content_type()
    except Exception:  # the modern header parser raises assorted errors on hostile input
        match = _MIME_TYPE.match((raw_header(part, "Content-Type") or "").strip().lower())
        found = match.group() if match else part.get_default_type()
    return found if _MIME_TYPE.fullmatch(found) else "application/octet-stream"


def payload(part: Message) -> Any:
    """`get_payload()`, or None where the stdlib trips over the part (compat32 decodes an
    8-bit body with the charset parameter, which may be an RFC 2231 tuple: TypeError)."""
    try:
        return part.get_payload()
    except Exception:
        return None


def param(part: Message, name: str, header: str = "content-type") -> str | None:
    """A Content-Type (or Content-Disposition) parameter, RFC 2231 and RFC 2047 decoded."""
    try:
        value = part.get_param(name, header=header)
        if isinstance(value, tuple):
            charset, _language, text = value
            value = decode_bytes(str(text).encode("latin-1", "replace"), charset)
    except Exception:  # see content_type
        value = None
    if value is None:
        return None
    return unfold(decode_words(repair(str(value)))) or None
