"""The chat channel's port: what the domain needs from the adapter in `channels/chat/`.

The domain owns these types; the adapter builds them. `create_app(chat=...)` receives the
adapter, so nothing in `app/` imports a channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class PreChatField:
    name: str  # `name` and `email` fill the contact; others are kept on the conversation
    label: str
    type: str  # text, email, tel, textarea
    required: bool = False


@dataclass(frozen=True)
class ChatSettings:
    """A chat inbox's settings, read once and checked (the adapter names each bad field)."""

    allowed_origins: tuple[str, ...]  # "https://shop.example"; "*" allows any origin
    accent_color: str = "#1d4ed8"
    accent_text_color: str = "#ffffff"
    greeting: str = "Hi! How can we help?"
    locale: str = "en"
    pre_chat_fields: tuple[PreChatField, ...] = ()
    max_attachment_bytes: int = 10 * 1024 * 1024
    attachment_types: tuple[str, ...] = (
        "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain",
    )  # fmt: skip
    offline_text: str = "We are away right now. Leave a message and we will reply by email."
    # Messages a visitor may send per minute over the socket.
    rate_limit_per_minute: int = 30
    # An agent's reply that no visitor socket received within `email_after_seconds` is
    # emailed to the visitor's address (pre-chat form or verified identity) through this
    # email inbox's SMTP account; without one, replies are never emailed.
    reply_email_inbox_id: int | None = None
    # Business hours (an SLA calendar): outside them the widget is offline ("we reply by
    # email") whether or not an agent is online.
    calendar_id: int | None = None
    email_after_seconds: int = 120
    identity_secret: str | None = field(default=None, repr=False)

    def allows_origin(self, origin: str | None) -> bool:
        """Browsers always send Origin; a client that sends none is not a browser page and
        gains nothing from the check (it could send any value)."""
        if origin is None:
            return True
        return "*" in self.allowed_origins or origin.rstrip("/").lower() in self.allowed_origins

    def allows_type(self, content_type: str) -> bool:
        major = content_type.split("/", 1)[0]
        return content_type in self.attachment_types or f"{major}/*" in self.attachment_types


@dataclass(frozen=True)
class VerifiedIdentity:
    """A signed-in user of the site, vouched for by its backend's HMAC."""

    user_id: str
    email: str | None = None
    name: str | None = None


class ChatChannel(Protocol):
    def read_settings(self, values: dict[str, Any]) -> ChatSettings:
        """Plain settings and secrets merged; raises `ValidationFailed` naming each bad
        field as `settings.<key>`."""
        ...

    def verify_identity(
        self, settings: ChatSettings, claims: dict[str, Any]
    ) -> VerifiedIdentity | None:
        """The identity if its `hmac` is right for `user_id`; None otherwise (ignored)."""
        ...
