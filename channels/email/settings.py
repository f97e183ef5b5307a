"""An email inbox's settings, validated once and read as a typed object.

Stored in `Inbox.settings` (plain) and `Inbox.secrets_encrypted` (passwords); the inbox API
calls `validate_email_settings` so a bad value is a 422 naming the field, never a poller
crash at 3 a.m.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, cast

from app.errors import FieldError, ValidationFailed

Security = Literal["ssl", "starttls", "none"]
SECURITIES = ("ssl", "starttls", "none")
AFTER_IMPORT = ("mark_seen", "move", "delete")
CLOSED_REPLY = ("new_ticket", "reopen")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEFAULT_PORTS = {
    "imap": {"ssl": 993, "starttls": 143, "none": 143},
    "smtp": {"ssl": 465, "starttls": 587, "none": 25},
}


@dataclass(frozen=True)
class EmailInboxSettings:
    address: str
    imap_host: str
    imap_port: int
    imap_security: Security
    imap_username: str
    imap_password: str
    imap_folder: str
    smtp_host: str
    smtp_port: int
    smtp_security: Security
    smtp_username: str | None
    smtp_password: str | None
    after_import: str
    move_to_folder: str | None
    closed_ticket_reply: str
    same_domain_participants: bool
    auto_acknowledge: bool
    auto_acknowledge_text: str
    rate_limit_messages: int
    rate_limit_minutes: int
    poll_interval_seconds: int

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1]


class _Reader:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.errors: list[FieldError] = []

    def _fail(self, key: str, message: str) -> None:
        self.errors.append(FieldError(f"settings.{key}", message))

    def text(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.values.get(key, default)
        if value is None or value == "":
            if required:
                self._fail(key, "is required")
            return default
        if not isinstance(value, str) or len(value) > 1000:
            self._fail(key, "must be a string of at most 1000 characters")
            return default
        return value.strip()

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.values.get(key, default)
        if value not in choices:
            self._fail(key, f"must be one of {', '.join(choices)}")
            return default
        return cast(str, value)

    def number(self, key: str, default: int, *, low: int, high: int) -> int:
        value = self.values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self._fail(key, f"must be a whole number from {low} to {high}")
            return default
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.values.get(key, default)
        if not isinstance(value, bool):
            self._fail(key, "must be true or false")
            return default
        return value


def read_email_settings(values: dict[str, Any]) -> EmailInboxSettings:
    """Parse plain settings and secrets merged into one dict; raises `ValidationFailed`
    listing every bad field at once."""
    r = _Reader(values)
    address = (r.text("address", required=True) or "").lower()
    if address and not EMAIL.match(address):
        r._fail("address", "must be an email address")
    imap_security = cast(Security, r.choice("imap_security", SECURITIES, "ssl"))
    smtp_security = cast(Security, r.choice("smtp_security", SECURITIES, "starttls"))
    after_import = r.choice("after_import", AFTER_IMPORT, "mark_seen")
    move_to = r.text("move_to_folder")
    if after_import == "move" and not move_to:
        r._fail("move_to_folder", "is required when after_import is move")
    settings = EmailInboxSettings(
        address=address,
        imap_host=r.text("imap_host", required=True) or "",
        imap_port=r.number("imap_port", DEFAULT_PORTS["imap"][imap_security], low=1, high=65535),
        imap_security=imap_security,
        imap_username=r.text("imap_username") or address,
        imap_password=r.text("imap_password", required=True) or "",
        imap_folder=r.text("imap_folder") or "INBOX",
        smtp_host=r.text("smtp_host", required=True) or "",
        smtp_port=r.number("smtp_port", DEFAULT_PORTS["smtp"][smtp_security], low=1, high=65535),
        smtp_security=smtp_security,
        smtp_username=r.text("smtp_username"),
        smtp_password=r.text("smtp_password"),
        after_import=after_import,
        move_to_folder=move_to,
        closed_ticket_reply=r.choice("closed_ticket_reply", CLOSED_REPLY, "new_ticket"),
        same_domain_participants=r.flag("same_domain_participants", False),
        auto_acknowledge=r.flag("auto_acknowledge", False),
        auto_acknowledge_text=r.text("auto_acknowledge_text")
        or "We have received your message and will get back to you soon.",
        rate_limit_messages=r.number("rate_limit_messages", 20, low=1, high=10_000),
        rate_limit_minutes=r.number("rate_limit_minutes", 10, low=1, high=1440),
        poll_interval_seconds=r.number("poll_interval_seconds", 60, low=5, high=3600),
    )
    if r.errors:
        raise ValidationFailed(*r.errors)
    return settings


def validate_email_settings(values: dict[str, Any]) -> None:
    read_email_settings(values)
