from __future__ import annotations

from datetime import datetime
from typing import Literal

from app.schemas import Output

InboundStatus = Literal["pending", "imported", "duplicate", "ignored", "rate_limited", "failed"]


class InboundItemOut(Output):
    id: int
    inbox_id: int
    channel: str
    # The provider's identity of the delivery (email: "UIDVALIDITY:UID").
    delivery_key: str
    # The message's own id when known (email: the Message-ID).
    external_id: str | None
    content_type: str
    size: int
    status: str
    # Why it was not imported (or what went wrong), for an admin to read.
    reason: str | None
    attempts: int
    message_id: int | None
    received_at: datetime
    processed_at: datetime | None
    raw_url: str


class InboundEmailOut(Output):
    """The shape of the email-only endpoints (`/emails`), kept for existing integrations."""

    id: int
    inbox_id: int
    uid: int
    uidvalidity: int
    message_id_header: str | None
    size: int
    status: str
    error: str | None
    attempts: int
    message_id: int | None
    received_at: datetime
    processed_at: datetime | None
    raw_url: str
