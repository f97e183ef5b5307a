"""The port a webhook channel implements (WhatsApp, Messenger, Instagram, Telegram, ...).

`app.webhooks` routes `/webhooks/{channel}/{inbox public key}` to the channel's adapter:
the adapter answers the provider's subscription handshake, verifies the signature, and
only then is the body stored raw (app.inbound) and acknowledged; a `process_inbound` job
later asks the adapter to parse the stored body into messages. Adapters see plain data
here, never a web framework's request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from app.ingest.receive import ReceivePolicy, Skip
from app.ingest.types import InboundMessage


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    # Header names lower-cased; a header sent twice keeps its last value.
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class WebhookReply:
    """What the provider is answered (a handshake's challenge, or an empty 200)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


class WebhookRejected(Exception):
    """The request is not from the provider (a bad or missing signature, a wrong verify
    token): answered 401 (or 403 for a handshake), and nothing is stored."""


@dataclass(frozen=True)
class InboxContext:
    """The inbox a webhook is for: its id, plain settings and decrypted secrets."""

    inbox_id: int
    settings: Mapping[str, Any]
    secrets: Mapping[str, Any]


class WebhookAdapter(Protocol):
    # What the stored body is (application/json for every provider so far).
    content_type: str

    def handshake(self, request: WebhookRequest, inbox: InboxContext) -> WebhookReply:
        """Answer a GET: the provider checking the subscription (Meta's hub.challenge).
        Raises WebhookRejected for a wrong verify token."""
        ...

    def verify(self, request: WebhookRequest, inbox: InboxContext) -> None:
        """Check a POST's signature before anything reads the body; raises WebhookRejected."""
        ...

    def delivery_key(self, request: WebhookRequest) -> str | None:
        """The provider's id of this delivery (Telegram's update_id), so a redelivery is
        stored once; None: the body's hash is used."""
        ...

    def parse(
        self, body: bytes, meta: Mapping[str, Any], inbox: InboxContext
    ) -> Sequence[InboundMessage] | Skip:
        """The messages a stored body carries (statuses and read receipts are not
        messages: return Skip("ignored", why) for a body with none)."""
        ...

    def policy(self, inbox: InboxContext) -> ReceivePolicy:
        """The inbox's rate limit and acknowledgement."""
        ...


WebhookAdapters = Mapping[str, WebhookAdapter]
