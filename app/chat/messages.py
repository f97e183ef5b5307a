"""A visitor's message: through ingest (contact, threading onto their open conversation,
the lifecycle's ticket and message with their events), idempotent by the client id."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.storage import AttachmentStore
from app.chat.models import ChatVisitor
from app.chat.service import visitor_identities
from app.chat.uploads import claim_uploads
from app.ingest.service import IngestResult, ingest
from app.ingest.types import InboundAttachment, InboundMessage, SenderIdentity, ThreadHints
from app.messages.models import Message
from app.messages.service import do_record_delivery

LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def external_id(visitor: ChatVisitor, client_id: str) -> str:
    """The message's identity in the inbox: resending a client id finds it stored."""
    return f"widget:{visitor.key}:{client_id}"


async def do_visitor_message(
    session: AsyncSession,
    visitor: ChatVisitor,
    *,
    client_id: str,
    body: str,
    upload_ids: Sequence[int] = (),
    store: AttachmentStore,
    now: datetime,
) -> IngestResult:
    """Store the message on the visitor's open conversation (a new ticket if none); a
    client id sent before answers the stored message (`duplicate`) and stores nothing."""
    attachments: list[InboundAttachment] = []
    if upload_ids and not await _stored(session, visitor, client_id):
        attachments = await claim_uploads(session, visitor, upload_ids, store=store, now=now)
    inbound = InboundMessage(
        channel="chat",
        inbox_id=visitor.inbox_id,
        sender=tuple(SenderIdentity(i.kind, i.value) for i in visitor_identities(visitor)),
        external_id=external_id(visitor, client_id),
        text=body,
        sender_name=visitor.name,
        thread=ThreadHints(continue_open_conversation=True),
        attachments=tuple(attachments),
        received_at=now,
        channel_data={
            "client_id": client_id,
            **({"pre_chat": visitor.pre_chat} if visitor.pre_chat else {}),
        },
    )
    result = await ingest(session, inbound, store=store, now=now)
    if visitor.contact_id != result.contact.id:
        visitor.contact_id = result.contact.id
    if now - visitor.last_seen_at > LAST_SEEN_RESOLUTION:
        visitor.last_seen_at = now  # not a write per message
    return result


async def _stored(session: AsyncSession, visitor: ChatVisitor, client_id: str) -> bool:
    found = await session.scalar(
        select(Message.id).where(
            Message.inbox_id == visitor.inbox_id,
            Message.external_id == external_id(visitor, client_id),
        )
    )
    return found is not None


async def do_visitor_read(
    session: AsyncSession, visitor: ChatVisitor, *, ticket_id: int, seq: int, now: datetime
) -> int:
    """The visitor has seen their conversation up to `seq`: our replies up to there are
    `read` (each a `message.status_changed` event). Returns how many changed."""
    unread = (
        await session.scalars(
            select(Message.id)
            .where(
                Message.ticket_id == ticket_id,
                Message.direction == "outbound",
                Message.internal.is_(False),
                Message.status.in_(("sent", "delivered")),
                Message.seq <= seq,
            )
            .order_by(Message.seq)
        )
    ).all()
    for message_id in unread:
        await do_record_delivery(session, message_id=message_id, status="read", now=now)
    return len(unread)
