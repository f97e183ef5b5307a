"""Agent replies and internal notes, their attachments, and outbound delivery states."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.auth.actor import Actor
from app.errors import Conflict, NotFound, ValidationFailed
from app.inboxes.channels import channel
from app.messages.models import Attachment, Message
from app.messages.sanitize import sanitize_html, text_from_html
from app.messages.schemas import AttachmentOut, DeliveryAttemptOut, MessageOut
from app.tickets.events import SYSTEM, EventActor
from app.tickets.lifecycle import (
    NewMessage,
    append_message,
    record_deliveries,
    record_delivery,
    requeue_message,
)
from app.tickets.models import Ticket
from app.tickets.service import access_ticket, check_unchanged_since


def attachment_out(attachment: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=attachment.id,
        filename=attachment.filename,
        content_type=attachment.content_type,
        size=attachment.size,
        inline=attachment.inline,
        content_id=attachment.content_id,
        url=f"/api/v1/attachments/{attachment.id}",
    )


def delivery_attempts(channel_data: dict[str, Any]) -> list[DeliveryAttemptOut]:
    """The send attempts app.messages.jobs records in `channel_data`, oldest first."""
    current = channel_data.get("attempt")
    recorded = [*(channel_data.get("attempts") or []), *([current] if current else [])]
    return [
        DeliveryAttemptOut(
            n=int(a.get("n") or n),  # attempts recorded before numbering: their position
            external_id=a.get("external_id"),
            started_at=datetime.fromisoformat(a["started_at"]),
            outcome=a.get("outcome"),
            reason=a.get("reason"),
            resend=bool(a.get("resend")),
        )
        for n, a in enumerate(recorded, start=1)
    ]


def message_out(message: Message) -> MessageOut:
    """Serialize a message loaded with its attachments."""
    return MessageOut(
        id=message.id,
        ticket_id=message.ticket_id,
        seq=message.seq,
        direction=message.direction,
        author_type=message.author_type,
        author_contact_id=message.author_contact_id,
        author_agent_id=message.author_agent_id,
        internal=message.internal,
        subject=message.subject,
        body_text=message.body_text,
        body_html=message.body_html,
        quoted_text=message.channel_data.get("quoted_text") or None,
        status=message.status,
        failure_reason=message.failure_reason,
        created_at=message.created_at,
        dated_at=message.dated_at or message.created_at,
        sent_at=message.sent_at,
        delivered_at=message.delivered_at,
        attachments=[attachment_out(a) for a in message.attachments],
        delivery_attempts=delivery_attempts(message.channel_data),
    )


async def messages_of(session: AsyncSession, ticket_id: int) -> list[Message]:
    """In conversation order: by when each was written (`dated_at`, else `created_at`),
    then by seq. Mail that arrived late (after its replies) reads where it belongs, while
    its seq, the realtime event order, is the newest."""
    stmt = (
        select(Message)
        .where(Message.ticket_id == ticket_id)
        .options(selectinload(Message.attachments))
        .order_by(func.coalesce(Message.dated_at, Message.created_at), Message.seq)
    )
    return list((await session.scalars(stmt)).all())


async def claim_uploads(
    session: AsyncSession, actor: Actor, attachment_ids: Sequence[int]
) -> list[Attachment]:
    """Uploads the actor made and has not yet attached anywhere."""
    if not attachment_ids:
        return []
    found = (
        await session.scalars(
            select(Attachment).where(
                Attachment.id.in_(attachment_ids),
                Attachment.uploaded_by_id == actor.agent_id,
                Attachment.message_id.is_(None),
            )
        )
    ).all()
    missing = sorted(set(attachment_ids) - {a.id for a in found})
    if missing:
        raise ValidationFailed.field(
            "attachment_ids", f"no unattached upload of yours with id {missing}"
        )
    return list(found)


async def do_add_message(
    session: AsyncSession,
    actor: Actor,
    ticket_id: int,
    *,
    body: str,
    internal: bool,
    html: str | None = None,
    attachment_ids: Sequence[int] = (),
    expected_seq: int | None = None,
    now: datetime,
) -> Message:
    """An agent's public reply (queued for its channel) or internal note."""
    ticket = await access_ticket(session, actor, ticket_id, for_update=True)
    await check_unchanged_since(session, actor, ticket, expected_seq)
    if ticket.merged_into_id is not None:
        raise ValidationFailed.field("ticket", f"ticket was merged into {ticket.merged_into_id}")
    if ticket.status == "closed" and not internal:
        raise ValidationFailed.field("ticket", "ticket is closed; only internal notes can be added")
    uploads = await claim_uploads(session, actor, attachment_ids)
    delivered_by_adapter = bool(
        not internal and channel(ticket.channel).outbound and ticket.inbox_id
    )
    message = await append_message(
        session,
        ticket,
        NewMessage(
            direction="outbound",
            author_type="agent",
            author_agent_id=actor.agent_id,
            internal=internal,
            body_text=body if not html or body.strip() else text_from_html(html),
            body_html=sanitize_html(html) if html else None,
            inbox_id=ticket.inbox_id,
            status="queued" if delivered_by_adapter else "sent",
            sent_at=None if delivered_by_adapter else now,
        ),
        attachments=uploads,
        actor=EventActor.agent(actor.agent_id),
        now=now,
    )
    await session.refresh(message, ["attachments"])
    return message


# Channels and jobs record what happened to a reply; the lifecycle writes it.
do_record_delivery = record_delivery
do_record_deliveries = record_deliveries


async def do_retry_message(
    session: AsyncSession, actor: Actor, ticket_id: int, message_id: int, *, now: datetime
) -> Message:
    """Queue a failed reply for its channel again.

    The job sends it with the external id of its earlier attempts (email: the same
    Message-ID), so a copy that did arrive after an unknown outcome is recognised as the
    same message by the receiving side.
    """
    ticket = await access_ticket(session, actor, ticket_id, for_update=True)
    message = await session.scalar(
        select(Message)
        .where(Message.id == message_id, Message.ticket_id == ticket.id)
        .options(selectinload(Message.attachments))
        .with_for_update()
    )
    if message is None:
        raise NotFound(f"message {message_id} does not exist on ticket {ticket_id}")
    if message.direction != "outbound" or message.internal or message.status != "failed":
        raise Conflict(
            f"only a failed reply can be sent again; message {message_id} is "
            f"{'an internal note' if message.internal else message.status}",
            code="message_not_failed",
        )
    attempt = message.channel_data.get("attempt")
    if attempt and attempt.get("outcome") is None:
        # Closed here, so the job starts counting attempts without outcome afresh.
        message.channel_data = {
            **message.channel_data,
            "attempt": {**attempt, "outcome": "unknown"},
        }
    # app.outbox.jobs enqueues send_outbound for a reply that became `queued`.
    await requeue_message(session, ticket, message, actor=EventActor.agent(actor.agent_id), now=now)
    return message


async def do_add_system_reply(
    session: AsyncSession, ticket: Ticket, *, body: str, now: datetime
) -> Message:
    """An automatic message to the customer (e.g. the acknowledgement of a new ticket).

    It is sent marked as automatic (email: Auto-Submitted), so well-behaved auto-responders
    do not answer it, and it does not count as the team's first response.
    """
    return await append_message(
        session,
        ticket,
        NewMessage(
            direction="outbound",
            author_type="system",
            body_text=body,
            inbox_id=ticket.inbox_id,
            status="queued",
        ),
        actor=SYSTEM,
        now=now,
    )
