"""The email channel: pure parsing (`parse`, `quoting`, `classify`, `addresses`) wrapped
by the transports (IMAP polling in, SMTP out)."""

from channels.email.classify import Bounce
from channels.email.parse import (
    EmailParseError,
    ParsedAttachment,
    ParsedEmail,
    parse_email,
    thread_hints,
)
from channels.email.quoting import split_quoted

__all__ = [
    "Bounce",
    "EmailParseError",
    "ParsedAttachment",
    "ParsedEmail",
    "parse_email",
    "split_quoted",
    "thread_hints",
]
