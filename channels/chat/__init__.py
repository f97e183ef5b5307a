"""The chat channel: the chat inbox's settings and the site's identity claims.

`ChatAdapter` implements the domain's port (`app.chat.port.ChatChannel`); the composition
root hands it to the app. Visitor sessions and messages live in the domain (`app/chat/`,
`app/realtime/`): the widget speaks our own protocol, so there is no provider to adapt.
"""

from __future__ import annotations

from typing import Any

from app.chat.port import ChatSettings, VerifiedIdentity
from channels.chat.identity import identity_hmac, verify_identity
from channels.chat.settings import read_chat_settings, validate_chat_settings

__all__ = ["ChatAdapter", "identity_hmac", "read_chat_settings", "validate_chat_settings"]


class ChatAdapter:
    def read_settings(self, values: dict[str, Any]) -> ChatSettings:
        return read_chat_settings(values)

    def verify_identity(
        self, settings: ChatSettings, claims: dict[str, Any]
    ) -> VerifiedIdentity | None:
        return verify_identity(settings, claims)
