"""A chat inbox's settings, checked once and read as `app.chat.port.ChatSettings`.

The inbox API calls `validate_chat_settings` (wired at the composition root), so a bad
value is a 422 naming every bad field (`settings.allowed_origins[1]`), never a widget that
breaks on a customer's site. `identity_secret` ends in `_secret`, so the inbox service
stores it encrypted with the other secrets and never returns it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.port import ChatSettings, PreChatField
from app.errors import FieldError, ValidationFailed
from app.inboxes.models import Inbox
from app.sla.models import SlaCalendar

# Keys whose values are lists or objects; the inbox service allows structure only here.
STRUCTURED_KEYS = frozenset({"allowed_origins", "pre_chat_fields", "attachment_types"})
KNOWN_KEYS = STRUCTURED_KEYS | {
    "accent_color", "accent_text_color", "greeting", "locale", "max_attachment_bytes",
    "offline_text", "rate_limit_per_minute", "identity_secret", "reply_email_inbox_id",
    "email_after_seconds", "calendar_id",
}  # fmt: skip
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MIME_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/([a-z0-9][a-z0-9!#$&^_.+-]*|\*)$")
FIELD_TYPES = ("text", "email", "tel", "textarea")
MAX_ORIGINS = 50
MAX_PRE_CHAT_FIELDS = 10
MAX_ATTACHMENT_TYPES = 50
MAX_ATTACHMENT_BYTES = 100 * 1024 * 1024
MIN_IDENTITY_SECRET = 16
DEFAULTS = ChatSettings(allowed_origins=())


def _origin(value: Any) -> str | None:
    """`https://shop.example` or `http://localhost:8080`: a scheme and host, no path."""
    if not isinstance(value, str):
        return None
    if value == "*":
        return value
    parts = urlsplit(value.strip().rstrip("/"))
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        return None
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


class _Reader:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.errors: list[FieldError] = []

    def fail(self, key: str, message: str) -> None:
        self.errors.append(FieldError(f"settings.{key}", message))

    def text(self, key: str, default: str, *, limit: int) -> str:
        value = self.values.get(key, default)
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            self.fail(key, f"must be a non-empty string of at most {limit} characters")
            return default
        return value.strip()

    def matching(self, key: str, default: str, pattern: re.Pattern[str], what: str) -> str:
        value = self.values.get(key, default)
        if not isinstance(value, str) or not pattern.match(value):
            self.fail(key, f"must be {what}")
            return default
        return value

    def number(self, key: str, default: int, *, low: int, high: int) -> int:
        value = self.values.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, f"must be a whole number from {low} to {high}")
            return default
        return value

    def reference(self, key: str) -> int | None:
        """The id of another row (an inbox, a calendar), or None when not set."""
        value = self.values.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
            self.fail(key, "must be the id of one (a whole number) or null")
            return None
        return value

    def items(self, key: str, *, limit: int, required: bool = False) -> list[Any]:
        value = self.values.get(key)
        if value is None:
            if required:
                self.fail(key, "is required: a list of the sites that may embed the widget")
            return []
        if not isinstance(value, list) or len(value) > limit:
            self.fail(key, f"must be a list of at most {limit} items")
            return []
        return value


def _pre_chat_field(r: _Reader, index: int, item: Any) -> PreChatField | None:
    key = f"pre_chat_fields[{index}]"
    if not isinstance(item, dict):
        r.fail(key, "must be an object with name, label, type and required")
        return None
    unknown = sorted(set(item) - {"name", "label", "type", "required"})
    if unknown:
        r.fail(key, f"unknown keys {unknown}")
    name, label = item.get("name"), item.get("label", item.get("name"))
    kind, required = item.get("type", "text"), item.get("required", False)
    ok = True
    if not isinstance(name, str) or not FIELD_NAME.match(name):
        r.fail(f"{key}.name", "must be 1-40 lower-case letters, digits or '_'")
        ok = False
    if not isinstance(label, str) or not label.strip() or len(label) > 200:
        r.fail(f"{key}.label", "must be a non-empty string of at most 200 characters")
        ok = False
    if kind not in FIELD_TYPES:
        r.fail(f"{key}.type", f"must be one of {', '.join(FIELD_TYPES)}")
        ok = False
    if not isinstance(required, bool):
        r.fail(f"{key}.required", "must be true or false")
        ok = False
    if not ok or unknown:
        return None
    return PreChatField(name=str(name), label=str(label).strip(), type=str(kind), required=required)


def read_chat_settings(values: dict[str, Any]) -> ChatSettings:
    """Parse plain settings and secrets merged into one dict; raises `ValidationFailed`
    listing every bad field at once."""
    r = _Reader(values)
    for key in sorted(set(values) - KNOWN_KEYS):
        r.fail(key, "is not a chat inbox setting")
    origins: list[str] = []
    for index, item in enumerate(r.items("allowed_origins", limit=MAX_ORIGINS, required=True)):
        origin = _origin(item)
        if origin is None:
            r.fail(
                f"allowed_origins[{index}]",
                "must be an origin such as https://shop.example (scheme and host, no path) or *",
            )
        else:
            origins.append(origin)
    if "allowed_origins" in values and not r.errors and not origins:
        r.fail("allowed_origins", "must name at least one site (or *)")
    fields = [
        f
        for i, item in enumerate(r.items("pre_chat_fields", limit=MAX_PRE_CHAT_FIELDS))
        if (f := _pre_chat_field(r, i, item)) is not None
    ]
    names = [f.name for f in fields]
    if len(set(names)) < len(names):
        r.fail("pre_chat_fields", "field names must be unique")
    types: list[str] = []
    for index, item in enumerate(r.items("attachment_types", limit=MAX_ATTACHMENT_TYPES)):
        if not isinstance(item, str) or not MIME_TYPE.match(item.lower()):
            r.fail(f"attachment_types[{index}]", "must be a MIME type such as image/png or image/*")
        else:
            types.append(item.lower())
    secret = values.get("identity_secret")
    if secret is not None and (not isinstance(secret, str) or len(secret) < MIN_IDENTITY_SECRET):
        r.fail("identity_secret", f"must be a string of at least {MIN_IDENTITY_SECRET} characters")
        secret = None
    settings = ChatSettings(
        allowed_origins=tuple(dict.fromkeys(origins)),
        accent_color=r.matching("accent_color", DEFAULTS.accent_color, COLOR, "a colour #rrggbb"),
        accent_text_color=r.matching(
            "accent_text_color", DEFAULTS.accent_text_color, COLOR, "a colour #rrggbb"
        ),
        greeting=r.text("greeting", DEFAULTS.greeting, limit=500),
        locale=r.matching("locale", DEFAULTS.locale, LOCALE, "a language tag such as en or pt-BR"),
        pre_chat_fields=tuple(fields),
        max_attachment_bytes=r.number(
            "max_attachment_bytes", DEFAULTS.max_attachment_bytes, low=1, high=MAX_ATTACHMENT_BYTES
        ),
        attachment_types=tuple(types)
        if "attachment_types" in values
        else DEFAULTS.attachment_types,
        offline_text=r.text("offline_text", DEFAULTS.offline_text, limit=1000),
        rate_limit_per_minute=r.number(
            "rate_limit_per_minute", DEFAULTS.rate_limit_per_minute, low=1, high=600
        ),
        identity_secret=secret,
        reply_email_inbox_id=r.reference("reply_email_inbox_id"),
        calendar_id=r.reference("calendar_id"),
        email_after_seconds=r.number(
            "email_after_seconds", DEFAULTS.email_after_seconds, low=10, high=7 * 24 * 3600
        ),
    )
    if r.errors:
        raise ValidationFailed(*r.errors)
    return settings


class ChatSettingsValidator:
    """The inbox API's check of a chat inbox; `structured_keys` may hold lists."""

    structured_keys = STRUCTURED_KEYS

    def __call__(self, values: dict[str, Any]) -> None:
        read_chat_settings(values)

    async def check_references(self, session: AsyncSession, values: dict[str, Any]) -> None:
        """The business calendar and the email inbox the settings name exist (their
        types were checked by `__call__`)."""
        errors: list[FieldError] = []
        calendar_id = values.get("calendar_id")
        if isinstance(calendar_id, int) and await session.get(SlaCalendar, calendar_id) is None:
            errors.append(
                FieldError("settings.calendar_id", f"no business calendar has id {calendar_id}")
            )
        mail_id = values.get("reply_email_inbox_id")
        if isinstance(mail_id, int):
            mail = await session.get(Inbox, mail_id)
            if mail is None or mail.channel != "email":
                errors.append(
                    FieldError("settings.reply_email_inbox_id", f"no email inbox has id {mail_id}")
                )
        if errors:
            raise ValidationFailed(*errors)


validate_chat_settings = ChatSettingsValidator()
