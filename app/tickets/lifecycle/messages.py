"""Appending messages and notes to a ticket, and recording what a channel did with a reply.

The automatic transitions live here, next to the append that causes them: a customer
writing again moves a pending or solved ticket (or a closed one the caller chose to reopen)
back to open, and the first public agent reply moves a new ticket to open and sets
`first_responded_at`. Each is its own `ticket.updated` event after the message's, claimed
in the same UPDATE, and audited when an agent caused it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.service import record
from app.messages.events import message_event
from app.messages.models import Attachment, Message
from app.outbox.service import MESSAGE_CREATED, MESSAGE_STATUS_CHANGED, TICKET_UPDATED
from app.tickets.events import EventActor
from app.tickets.hooks import MessageAppended, TicketChanged, run_message_hooks, run_ticket_hooks
from app.tickets.lifecycle.core import (
    Event,
    TicketEvents,
    changes_payload,
    claim_seqs,
    diff,
    ticket_summary,
    write_events,
    write_events_of,
)
from app.tickets.models import Ticket
from app.tickets.workflow import REOPENED_BY_CUSTOMER, status_values

DELIVERY_ORDER = {"queued": 0, "sent": 1, "delivered": 2, "read": 3}
# What a message was before it reached the other side (`delivered`) or was seen there
# (`read`): a customer's is `received` once stored, our reply `sent`.
SEEN_BEFORE = {
    ("inbound", "delivered"): ("received",),
    ("inbound", "read"): ("received", "delivered"),
    ("outbound", "delivered"): ("sent",),
    ("outbound", "read"): ("sent", "delivered"),
}


@dataclass(frozen=True)
class NewMessage:
    direction: str  # inbound or outbound
    author_type: str  # contact, agent or system
    body_text: str
    status: str  # received for inbound; queued or sent for outbound
    author_contact_id: int | None = None
    author_agent_id: int | None = None
    internal: bool = False
    subject: str | None = None
    body_html: str | None = None
    inbox_id: int | None = None
    external_id: str | None = None
    channel_data: dict[str, Any] = field(default_factory=dict)
    # Machine mail (auto-replies, alerts): stored, but it never reopens a ticket.
    automated: bool = False
    # When the message arrived, if not now (an email's import time).
    created_at: datetime | None = None
    # When the sender wrote it (email's Date): where it reads in the conversation.
    dated_at: datetime | None = None
    sent_at: datetime | None = None
    # The external ids it answers (email References), for threading the other way round.
    referenced_ids: tuple[str, ...] = ()


def message_appended(message: Message) -> Event:
    return Event(MESSAGE_CREATED, message_event(message))


def new_message_row(new: NewMessage, *, seq: int, created_at: datetime) -> Message:
    """The message row for `new` (its ticket_id is the caller's to set)."""
    return Message(
        seq=seq,
        direction=new.direction,
        author_type=new.author_type,
        author_contact_id=new.author_contact_id,
        author_agent_id=new.author_agent_id,
        internal=new.internal,
        subject=new.subject,
        body_text=new.body_text,
        body_html=new.body_html,
        inbox_id=new.inbox_id,
        external_id=new.external_id,
        status=new.status,
        channel_data={**new.channel_data, **({"automated": True} if new.automated else {})},
        created_at=new.created_at or created_at,
        dated_at=new.dated_at,
        sent_at=new.sent_at,
        referenced_ids=list(new.referenced_ids),
    )


async def insert_message(
    session: AsyncSession,
    ticket: Ticket,
    new: NewMessage,
    *,
    seq: int,
    attachments: Sequence[Attachment] = (),
    now: datetime | None = None,
) -> Message:
    message = new_message_row(new, seq=seq, created_at=now or ticket.updated_at)
    message.ticket_id = ticket.id
    session.add(message)
    await session.flush()
    for attachment in attachments:
        attachment.message_id = message.id
    return message


async def run_appended_hooks(
    session: AsyncSession,
    ticket: Ticket,
    message: Message,
    *,
    seq: int,
    actor: EventActor,
    now: datetime,
) -> None:
    await run_message_hooks(session, MessageAppended(ticket, message, seq, actor, now))


def automatic_values(ticket: Ticket, new: NewMessage, *, now: datetime) -> dict[str, Any]:
    """What appending `new` changes on the ticket by itself."""
    if new.direction == "inbound" and not new.automated:
        if ticket.status in REOPENED_BY_CUSTOMER or ticket.status == "closed":
            return status_values(ticket, "open", now=now)
        return {}
    if new.author_type == "agent" and not new.internal:
        values = status_values(ticket, "open", now=now) if ticket.status == "new" else {}
        if ticket.first_responded_at is None:
            values["first_responded_at"] = now
        return values
    return {}


async def append_message(
    session: AsyncSession,
    ticket: Ticket,
    new: NewMessage,
    *,
    attachments: Sequence[Attachment] = (),
    actor: EventActor,
    now: datetime,
) -> Message:
    """Store `new` on the ticket (the caller holds its row lock) with its events."""
    changes = diff(ticket, automatic_values(ticket, new, now=now))
    values = {f: v for f, (_, v) in changes.items()}
    first = await claim_seqs(session, ticket, 2 if changes else 1, values=values, now=now)
    message = await insert_message(
        session, ticket, new, seq=first, attachments=attachments, now=now
    )
    events = [message_appended(message)]
    if changes:
        data = {**ticket_summary(ticket, sorted(changes)), "changes": changes_payload(changes)}
        events.append(Event(TICKET_UPDATED, data))
    await write_events(session, ticket.id, first, events, actor=actor, now=now)
    if actor.agent_id is not None:
        record(
            session,
            actor_id=actor.agent_id,
            action="ticket.note" if new.internal else "ticket.reply",
            entity_type="ticket",
            entity_id=ticket.id,
            after={"message_id": message.id},
        )
        if "status" in changes:
            old, target = changes["status"]
            record(
                session,
                actor_id=actor.agent_id,
                action="ticket.update",
                entity_type="ticket",
                entity_id=ticket.id,
                before={"status": old},
                after={"status": target},
            )
    await session.flush()
    await run_appended_hooks(session, ticket, message, seq=first, actor=actor, now=now)
    if changes:
        change = TicketChanged(ticket, TICKET_UPDATED, first + 1, changes, actor, now)
        await run_ticket_hooks(session, change)
    return message


@dataclass(frozen=True)
class Delivery:
    """What a channel said about one outbound message (see `record_deliveries`)."""

    message_id: int
    status: str
    external_id: str | None = None
    failure_reason: str | None = None


async def record_delivery(
    session: AsyncSession,
    *,
    message_id: int,
    status: str,
    now: datetime,
    external_id: str | None = None,
    failure_reason: str | None = None,
) -> Message | None:
    """Record what the channel said about an outbound message (`record_deliveries` for
    one); None if it is no outbound message."""
    delivery = Delivery(message_id, status, external_id, failure_reason)
    return (await record_deliveries(session, [delivery], now=now)).get(message_id)


async def _lock_for_delivery(
    session: AsyncSession, message_ids: Sequence[int]
) -> tuple[dict[int, Ticket], dict[int, Message]]:
    """The messages and their tickets, locked tickets first (in id order), the order every
    other writer takes them in. A message merged onto another ticket meanwhile is followed
    there; one whose ticket is gone is left out."""
    tickets: dict[int, Ticket] = {}
    tried: set[int] = set()
    while True:
        ticket_ids = set(
            await session.scalars(select(Message.ticket_id).where(Message.id.in_(message_ids)))
        )
        missing = sorted(ticket_ids - tried)
        tried.update(missing)
        if missing:
            locked = await session.scalars(
                select(Ticket)
                .where(Ticket.id.in_(missing))
                .order_by(Ticket.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            tickets.update((t.id, t) for t in locked)
        messages = {
            m.id: m
            for m in await session.scalars(
                select(Message)
                .where(Message.id.in_(message_ids))
                .order_by(Message.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        }
        moved = {m.ticket_id for m in messages.values()} - tried
        if not moved:  # every message's ticket is locked, or gone
            break
    return tickets, {i: m for i, m in messages.items() if m.ticket_id in tickets}


async def record_deliveries(
    session: AsyncSession, deliveries: Sequence[Delivery], *, now: datetime
) -> dict[int, Message]:
    """Record what the channels said about many outbound messages in a few statements: the
    locks, one UPDATE of the tickets' seqs (executemany), the timeline rows in one, the
    messages and outbox rows at the flush. Returns the outbound messages by id.

    States only move forward (queued < sent < delivered < read), so a late "sent" callback
    cannot undo "read"; `failed` is accepted from any state but `read`. Deliveries of one
    message apply in the order given.
    """
    if not deliveries:
        return {}
    await session.flush()  # the caller's pending changes survive the locked re-read below
    tickets, messages = await _lock_for_delivery(
        session, sorted({d.message_id for d in deliveries})
    )
    messages = {i: m for i, m in messages.items() if m.direction == "outbound"}
    events: dict[int, list[Event]] = {}
    for delivery in deliveries:
        message = messages.get(delivery.message_id)
        if message is None or not _advances(message.status, delivery.status):
            continue
        status = delivery.status
        message.status = status
        message.failure_reason = delivery.failure_reason if status == "failed" else None
        if delivery.external_id:
            message.external_id = delivery.external_id
        if status == "sent":
            message.sent_at = now
        elif status == "delivered":
            message.delivered_at = now
        elif status == "read":
            message.read_at = now
        data = {**message_event(message), "failure_reason": message.failure_reason}
        events.setdefault(message.ticket_id, []).append(Event(MESSAGE_STATUS_CHANGED, data))
    if not events:
        await session.flush()
        return messages
    # The seqs: the tickets are locked and freshly read, so last_seq is the row's.
    claimed = {tid: tickets[tid].last_seq + 1 for tid in events}
    await session.execute(
        update(Ticket),
        [
            {"id": tid, "last_seq": tickets[tid].last_seq + len(evs), "updated_at": now}
            for tid, evs in events.items()
        ],
    )
    for tid, evs in events.items():
        set_committed_value(tickets[tid], "last_seq", tickets[tid].last_seq + len(evs))
        set_committed_value(tickets[tid], "updated_at", now)
    await write_events_of(
        session,
        [TicketEvents(tid, claimed[tid], evs, EventActor("system")) for tid, evs in events.items()],
        now=now,
    )
    await session.flush()
    return messages


def _advances(current: str, status: str) -> bool:
    if status == "failed":
        return current != "read"
    return DELIVERY_ORDER.get(status, -1) > DELIVERY_ORDER.get(current, -1)


async def requeue_message(
    session: AsyncSession, ticket: Ticket, message: Message, *, actor: EventActor, now: datetime
) -> None:
    """A failed reply goes back to `queued` for its channel (the caller checked it failed
    and holds the ticket's row lock)."""
    message.status = "queued"
    message.failure_reason = None
    seq = await claim_seqs(session, ticket, 1, now=now)
    data = {**message_event(message), "failure_reason": None}
    await write_events(
        session, ticket.id, seq, [Event(MESSAGE_STATUS_CHANGED, data)], actor=actor, now=now
    )
    await session.flush()


async def record_seen(
    session: AsyncSession,
    ticket: Ticket,
    *,
    up_to_seq: int,
    status: str,
    actor: EventActor,
    now: datetime,
    direction: str = "inbound",
) -> int:
    """The ticket's public messages of `direction` up to `up_to_seq` reached the other
    side (`delivered`: a customer's on an agent's console, our reply on the visitor's
    socket) or were seen there (`read`). States only move forward, and each message that
    changed gets its `message.status_changed` event (the chat widget shows them). Returns
    how many changed. The caller holds the ticket's row lock."""
    stamps: dict[str, Any] = {"delivered_at": func.coalesce(Message.delivered_at, now)}
    if direction == "outbound":
        stamps["sent_at"] = func.coalesce(Message.sent_at, now)
    if status == "read":
        stamps["read_at"] = now
    rows = (
        await session.execute(
            update(Message)
            .where(
                Message.ticket_id == ticket.id,
                Message.direction == direction,
                Message.internal.is_(False),
                Message.seq <= up_to_seq,
                Message.status.in_(SEEN_BEFORE[direction, status]),
            )
            .values(status=status, **stamps)
            .returning(Message.id, Message.seq, Message.author_type)
            .execution_options(synchronize_session=False)
        )
    ).all()
    if not rows:
        return 0
    changed = sorted(rows, key=lambda row: row.seq)
    first = await claim_seqs(session, ticket, len(changed), now=now)
    events = [
        Event(
            MESSAGE_STATUS_CHANGED,
            {
                "message_id": row.id,
                "ticket_id": ticket.id,
                "seq": row.seq,
                "direction": direction,
                "internal": False,
                "status": status,
                "author_type": row.author_type,
                "failure_reason": None,
            },
        )
        for row in changed
    ]
    await write_events(session, ticket.id, first, events, actor=actor, now=now)
    return len(changed)
