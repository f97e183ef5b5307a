"""Opening tickets, changing their fields, merging them and moving them between contacts.

Callers check permissions and validate input (app.tickets.service, app.ingest); these
functions only write, and the caller holds the row lock of every ticket it passes in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.service import record
from app.messages.models import Attachment, Message
from app.outbox.service import TICKET_CREATED, TICKET_MERGED, TICKET_UPDATED
from app.tickets.events import EventActor
from app.tickets.hooks import TicketChanged, run_ticket_hooks
from app.tickets.lifecycle.core import (
    Event,
    TicketEvents,
    changes_payload,
    claim_seqs,
    diff,
    ticket_state,
    ticket_summary,
    write_events,
    write_events_of,
)
from app.tickets.lifecycle.messages import (
    NewMessage,
    message_appended,
    new_message_row,
    run_appended_hooks,
)
from app.tickets.lifecycle.opening import next_ids, write_opening
from app.tickets.models import Ticket
from app.tickets.workflow import status_values

MESSAGE_MOVED = "message.moved"
# Fields an agent action on them is audited for (the before and after of each change).
AUDITED_FIELDS = (
    "status", "priority", "subject", "assignee_id", "team_id", "tags", "required_skill_ids",
    "required_skills", "custom_fields",
)  # fmt: skip


@dataclass(frozen=True)
class NewTicket:
    subject: str
    channel: str
    contact_id: int
    account_id: int | None = None
    inbox_id: int | None = None
    priority: str = "normal"
    assignee_id: int | None = None
    team_id: int | None = None
    tags: Sequence[str] = ()
    custom_fields: Mapping[str, Any] = field(default_factory=dict)
    required_skill_ids: Sequence[int] = ()
    required_skills: Sequence[Mapping[str, int]] = ()  # [{"skill_id", "min_level"}]
    linked_ticket_id: int | None = None


def audit_change(
    session: AsyncSession,
    actor: EventActor,
    action: str,
    ticket_id: int,
    changes: Mapping[str, tuple[Any, Any]] | None = None,
) -> None:
    if actor.agent_id is None:
        return
    audited = {f: c for f, c in (changes or {}).items() if f in AUDITED_FIELDS}
    if changes is not None and not audited:
        return
    record(
        session,
        actor_id=actor.agent_id,
        action=action,
        entity_type="ticket",
        entity_id=ticket_id,
        before={f: old for f, (old, _) in audited.items()},
        after={f: new for f, (_, new) in audited.items()},
    )


async def open_ticket(
    session: AsyncSession,
    new: NewTicket,
    *,
    first_message: NewMessage,
    attachments: Sequence[Attachment] = (),
    actor: EventActor,
    now: datetime,
) -> tuple[Ticket, Message]:
    """A new ticket with its first message: seq 1 is `ticket.created`, seq 2 the message."""
    # Skills named by id only are needed at level 1.
    skills = dict.fromkeys(new.required_skill_ids, 1)
    skills.update({s["skill_id"]: s["min_level"] for s in new.required_skills})
    ticket = Ticket(
        subject=new.subject,
        status="new",
        priority=new.priority,
        channel=new.channel,
        inbox_id=new.inbox_id,
        contact_id=new.contact_id,
        account_id=new.account_id,
        assignee_id=new.assignee_id,
        team_id=new.team_id,
        tags=list(new.tags),
        custom_fields=dict(new.custom_fields),
        required_skill_ids=sorted(skills),
        required_skills=[{"skill_id": s, "min_level": m} for s, m in sorted(skills.items())],
        linked_ticket_id=new.linked_ticket_id,
        created_at=now,
        updated_at=now,
        last_seq=2,
    )
    ticket.id, ticket.number, message_id = await next_ids(session)
    message = new_message_row(first_message, seq=2, created_at=now)
    message.id, message.ticket_id = message_id, ticket.id
    created = Event(TICKET_CREATED, {**ticket_summary(ticket), "ticket": ticket_state(ticket)})
    audit = (
        None
        if actor.agent_id is None
        else {"actor_id": actor.agent_id, "action": "ticket.create", "entity_type": "ticket",
              "entity_id": ticket.id, "before": {}, "after": {}}
    )  # fmt: skip
    await write_opening(
        session, ticket, message, [created, message_appended(message)],
        audit=audit, actor=actor, now=now,
    )  # fmt: skip
    for attachment in attachments:
        attachment.message_id = message.id
    await session.flush()
    changes = {f: (None, v) for f, v in ticket_state(ticket).items() if f in AUDITED_FIELDS}
    await run_ticket_hooks(
        session, TicketChanged(ticket, TICKET_CREATED, 1, changes, actor=actor, now=now)
    )
    await run_appended_hooks(session, ticket, message, seq=2, actor=actor, now=now)
    return ticket, message


async def change_ticket(
    session: AsyncSession,
    ticket: Ticket,
    values: Mapping[str, Any],
    *,
    actor: EventActor,
    now: datetime,
    event_type: str = TICKET_UPDATED,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, tuple[Any, Any]]:
    """Write the fields of `values` that differ (a `status` brings its timestamps); nothing
    differs, nothing is written. Returns field -> (before, after)."""
    values = dict(values)
    if "status" in values:
        values.update(status_values(ticket, values.pop("status"), now=now))
    changes = diff(ticket, values)
    if not changes:
        return {}
    seq = await claim_seqs(
        session, ticket, 1, values={f: v for f, (_, v) in changes.items()}, now=now
    )
    data = {
        **ticket_summary(ticket, sorted(changes)),
        "changes": changes_payload(changes),
        **(extra or {}),
    }
    await write_events(session, ticket.id, seq, [Event(event_type, data)], actor=actor, now=now)
    audit_change(session, actor, "ticket.update", ticket.id, changes)
    await session.flush()
    await run_ticket_hooks(session, TicketChanged(ticket, event_type, seq, changes, actor, now))
    return changes


async def note_event(
    session: AsyncSession,
    ticket: Ticket,
    event_type: str,
    data: Mapping[str, Any],
    *,
    actor: EventActor,
    now: datetime,
) -> int:
    """An event about the ticket that changes none of its fields (an SLA warning or breach,
    a due-time override): its seq, timeline row and outbox row, and no hooks, since no field
    changed. Returns the seq; the caller holds the row lock."""
    seq = await claim_seqs(session, ticket, 1, now=now)
    event = Event(event_type, {**ticket_summary(ticket), **data})
    await write_events(session, ticket.id, seq, [event], actor=actor, now=now)
    await session.flush()
    return seq


# Many tickets' seq numbers in one statement of fixed text (prepared once per connection).
CLAIM_SEQS_MANY = text(
    """
UPDATE tickets AS t SET last_seq = t.last_seq + v.n, updated_at = CAST(:now AS timestamptz)
FROM unnest(CAST(:ids AS bigint[]), CAST(:counts AS int[])) AS v(id, n)
WHERE t.id = v.id
RETURNING t.id, t.last_seq
"""
)


async def note_events(
    session: AsyncSession,
    notes: Sequence[tuple[Ticket, Sequence[tuple[str, Mapping[str, Any]]]]],
    *,
    actor: EventActor,
    now: datetime,
) -> dict[int, int]:
    """`note_event` for many tickets at once, each with its events in order (a scheduler's
    batch of SLA warnings and breaches): one UPDATE claims every ticket's seq numbers, one
    INSERT writes the timeline rows and one the outbox rows, whatever the number of
    tickets. Returns each ticket's first seq; the caller holds every row lock."""
    notes = [(ticket, events) for ticket, events in notes if events]
    if not notes:
        return {}
    if len({ticket.id for ticket, _ in notes}) != len(notes):
        raise ValueError("each ticket once, with all of its events")
    ids, counts = [ticket.id for ticket, _ in notes], [len(events) for _, events in notes]
    claimed: dict[int, int] = dict(
        (await session.execute(CLAIM_SEQS_MANY, {"ids": ids, "counts": counts, "now": now})).all()
    )
    first: dict[int, int] = {}
    batches: list[TicketEvents] = []
    for ticket, events in notes:
        last_seq = int(claimed[ticket.id])
        set_committed_value(ticket, "last_seq", last_seq)
        set_committed_value(ticket, "updated_at", now)
        first[ticket.id] = last_seq - len(events) + 1
        summary = ticket_summary(ticket)
        batches.append(
            TicketEvents(
                ticket.id,
                first[ticket.id],
                [Event(kind, {**summary, **data}) for kind, data in events],
                actor,
            )
        )
    await write_events_of(session, batches, now=now)
    await session.flush()  # the outbox rows, multi-row (and collected for same-node delivery)
    return first


async def merge_tickets(
    session: AsyncSession, source: Ticket, target: Ticket, *, actor: EventActor, now: datetime
) -> int:
    """Move every message of `source` onto `target` after its last event (each one a
    `message.moved` event there) and close `source` pointing at `target`; returns how many
    messages moved. Both tickets are locked by the caller."""
    moved = int(
        await session.scalar(select(func.count()).where(Message.ticket_id == source.id)) or 0
    )
    target_changes = diff(target, {"tags": list(dict.fromkeys([*target.tags, *source.tags]))})
    # The moved messages, then the merge itself.
    first = await claim_seqs(
        session, target, moved + 1, values={f: v for f, (_, v) in target_changes.items()}, now=now
    )
    renumbered = (
        select(Message.id, (func.row_number().over(order_by=Message.seq)).label("n"))
        .where(Message.ticket_id == source.id)
        .subquery()
    )
    await session.execute(
        update(Message)
        .where(Message.id == renumbered.c.id)
        .values(ticket_id=target.id, seq=first - 1 + renumbered.c.n)
        .execution_options(synchronize_session=False)
    )
    moved_messages = (
        await session.scalars(
            select(Message)
            .where(Message.ticket_id == target.id, Message.seq >= first)
            .order_by(Message.seq)
            .execution_options(populate_existing=True)
        )
    ).all()
    events = [
        Event(MESSAGE_MOVED, {**message_appended(m).data, "moved_from": source.id})
        for m in moved_messages
    ]
    merge_data = {"source_id": source.id, "into_id": target.id, "moved": moved}
    target_data = {**merge_data, "changes": changes_payload(target_changes)}
    events.append(
        Event(TICKET_MERGED, {**ticket_summary(target, sorted(target_changes)), **target_data})
    )
    await write_events(session, target.id, first, events, actor=actor, now=now)

    closing = {**status_values(source, "closed", now=now), "merged_into_id": target.id}
    source_changes = diff(source, closing)
    seq = await claim_seqs(session, source, 1, values=closing, now=now)
    data = {
        **ticket_summary(source, sorted(source_changes)),
        **merge_data,
        "changes": changes_payload(source_changes),
    }
    await write_events(session, source.id, seq, [Event(TICKET_MERGED, data)], actor=actor, now=now)
    if actor.agent_id is not None:
        record(
            session,
            actor_id=actor.agent_id,
            action="ticket.merge",
            entity_type="ticket",
            entity_id=source.id,
            before={"merged_into_id": None},
            after={"merged_into_id": target.id, "moved_messages": moved},
        )
    await session.flush()
    merged_seq = first + moved
    for ticket, changes, at_seq in (
        (target, target_changes, merged_seq),
        (source, source_changes, seq),
    ):
        await run_ticket_hooks(
            session, TicketChanged(ticket, TICKET_MERGED, at_seq, changes, actor, now)
        )
    return moved


async def move_contact_tickets(
    session: AsyncSession,
    *,
    source_contact_id: int,
    target_contact_id: int,
    target_account_id: int | None,
    actor: EventActor,
    now: datetime,
) -> list[int]:
    """Contact merge: the source's tickets become the target's, taking its account where
    they had none, each with its own `ticket.updated` event; returns their ids. Messages the
    source wrote are re-attributed by the contacts service (message rows, not ticket state).
    One UPDATE per ticket: a merge is rare, and each ticket needs its own seq and hooks."""
    tickets = (
        await session.scalars(
            select(Ticket)
            .where(Ticket.contact_id == source_contact_id)
            .order_by(Ticket.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).all()
    merged = {"contact_merged": {"source_id": source_contact_id, "target_id": target_contact_id}}
    for ticket in tickets:
        values = {
            "contact_id": target_contact_id,
            "account_id": ticket.account_id if ticket.account_id is not None else target_account_id,
        }
        await change_ticket(session, ticket, values, actor=actor, now=now, extra=merged)
    return [t.id for t in tickets]
