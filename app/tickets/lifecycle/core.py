"""The one write path of ticket state: seq allocation, events, outbox rows, audit, hooks.

Every operation changes the ticket row and claims its next `seq` numbers in one UPDATE
(which also takes the row lock), then writes one `ticket_events` row and one outbox row per
event. The ORM object is brought up to date with `set_committed_value`, so nothing is left
dirty for a later flush to write behind the lifecycle's back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.service import jsonable
from app.outbox.service import emit
from app.tickets.events import EventActor
from app.tickets.models import Ticket

# The ticket fields an event's `changes` may name; a client applies them in seq order.
STATE_FIELDS = (
    "subject", "status", "priority", "channel", "inbox_id", "contact_id", "account_id",
    "assignee_id", "team_id", "required_skill_ids", "required_skills", "tags", "custom_fields",
    "first_responded_at", "solved_at", "closed_at", "merged_into_id", "linked_ticket_id",
)  # fmt: skip


def ticket_state(ticket: Ticket) -> dict[str, Any]:
    """The ticket as an event carries it (JSON-ready)."""
    state: dict[str, Any] = jsonable({f: getattr(ticket, f) for f in STATE_FIELDS})
    return {"ticket_id": ticket.id, "number": ticket.number, **state}


def ticket_summary(ticket: Ticket, changed: Sequence[str] = ()) -> dict[str, Any]:
    """What every ticket event says about the ticket, for subscribers that only route."""
    return {
        "ticket_id": ticket.id,
        "number": ticket.number,
        "status": ticket.status,
        "priority": ticket.priority,
        "assignee_id": ticket.assignee_id,
        "team_id": ticket.team_id,
        "changed": list(changed),
    }


def changes_payload(changes: Mapping[str, tuple[Any, Any]]) -> dict[str, dict[str, Any]]:
    return {f: {"from": jsonable(old), "to": jsonable(new)} for f, (old, new) in changes.items()}


def diff(ticket: Ticket, values: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields whose value would change: field -> (before, after)."""
    return {f: (getattr(ticket, f), v) for f, v in values.items() if getattr(ticket, f) != v}


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]


async def claim_seqs(
    session: AsyncSession,
    ticket: Ticket,
    count: int,
    *,
    values: Mapping[str, Any] | None = None,
    now: datetime,
) -> int:
    """Apply `values` to the ticket and claim `count` seq numbers in one UPDATE; returns the
    first. The UPDATE takes the row lock, so concurrent claims are serialised."""
    values = dict(values or {})
    last_seq = await session.scalar(
        update(Ticket)
        .where(Ticket.id == ticket.id)
        .values(**values, last_seq=Ticket.last_seq + count, updated_at=now)
        .returning(Ticket.last_seq)
        .execution_options(synchronize_session=False)
    )
    assert last_seq is not None
    for name, value in {**values, "last_seq": last_seq, "updated_at": now}.items():
        set_committed_value(ticket, name, value)
    return int(last_seq) - count + 1


# The events' timeline rows in one statement of fixed text, prepared once per connection
# (the ORM's unit of work spends a flush per table, and a multi-row VALUES is compiled
# afresh for each call).
WRITE_TIMELINE = text(
    """
INSERT INTO ticket_events (ticket_id, seq, type, at, actor_type, actor_id, data)
SELECT e.ticket_id, e.seq, e.type, CAST(:at AS timestamptz), e.actor_type, e.actor_id, e.data
FROM jsonb_to_recordset(CAST(:events AS jsonb))
     AS e(ticket_id bigint, seq bigint, type varchar, actor_type varchar, actor_id bigint,
          data jsonb)
"""
)


@dataclass(frozen=True)
class TicketEvents:
    """Events of one ticket, numbered from `first_seq`, caused by `actor`."""

    ticket_id: int
    first_seq: int
    events: Sequence[Event]
    actor: EventActor


async def write_events_of(
    session: AsyncSession, batches: Sequence[TicketEvents], *, now: datetime
) -> None:
    """The timeline rows of any number of tickets' events in one statement, and their
    outbox rows (the outbox payload is the event's data)."""
    timeline: list[dict[str, Any]] = [
        {
            "ticket_id": batch.ticket_id,
            "seq": batch.first_seq + i,
            "type": event.type,
            "actor_type": batch.actor.type,
            "actor_id": batch.actor.id,
            "data": event.data,
        }
        for batch in batches
        for i, event in enumerate(batch.events)
    ]
    if not timeline:
        return
    events = json.dumps(timeline, separators=(",", ":"))
    await session.execute(WRITE_TIMELINE, {"events": events, "at": now})
    # The outbox rows through the ORM: same-node realtime delivery (app.realtime.local)
    # takes them from the session when it commits, and not if their savepoint rolls back;
    # the next flush writes them in one multi-row statement.
    for row in timeline:
        emit(
            session, topic=row["type"], ticket_id=row["ticket_id"], seq=row["seq"],
            payload=row["data"],
        )  # fmt: skip


async def write_events(
    session: AsyncSession,
    ticket_id: int,
    first_seq: int,
    events: Sequence[Event],
    *,
    actor: EventActor,
    now: datetime,
) -> None:
    """`write_events_of` for one ticket."""
    await write_events_of(session, [TicketEvents(ticket_id, first_seq, events, actor)], now=now)
