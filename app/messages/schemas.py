from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from app.schemas import Id, Input, Output

Body = Annotated[str, msgspec.Meta(min_length=1, max_length=200_000)]


class AttachmentOut(Output):
    id: int
    filename: str
    content_type: str
    size: int
    inline: bool
    content_id: str | None
    url: str


class DeliveryAttemptOut(Output):
    """One try of the worker to hand a reply to its channel, oldest first."""

    n: int
    # The id the provider knows the message by (email: the Message-ID); the same on every
    # attempt, so a receiving system recognises a resend.
    external_id: str | None
    started_at: datetime
    # sent, failed, temporary_failure, unknown (the worker stopped mid-send), or null while
    # the attempt runs
    outcome: str | None
    reason: str | None
    # Sent again because the previous attempt's outcome is unknown.
    resend: bool


class MessageOut(Output):
    id: int
    ticket_id: int
    seq: int
    direction: str
    author_type: str
    author_contact_id: int | None
    author_agent_id: int | None
    internal: bool
    subject: str | None
    body_text: str
    body_html: str | None
    # What a reply quoted of earlier mail, split off `body_text` (email); null if nothing.
    quoted_text: str | None
    status: str
    failure_reason: str | None
    created_at: datetime
    # When it was written by its sender's account (email: Date, never after it arrived);
    # a ticket's messages are listed in this order. `created_at` for our own messages.
    dated_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    attachments: list[AttachmentOut]
    delivery_attempts: list[DeliveryAttemptOut]


class MessageCreate(Input):
    body: Body
    internal: bool = False
    html: Annotated[str, msgspec.Meta(max_length=1_000_000)] | None = None
    attachment_ids: Annotated[list[Id], msgspec.Meta(max_length=20)] = []
    # The ticket's last seq the sender has seen: a ticket someone else changed since (their
    # delivery updates aside) is a 409, code `ticket_changed`, and nothing is sent. Left
    # out, the reply is sent regardless.
    expected_seq: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] | None = None
