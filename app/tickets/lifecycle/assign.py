"""Many tickets assigned in one go: the routing driver's batch.

The same writes as `change_ticket(session, ticket, {"assignee_id": agent_id}, ...)` for
each ticket (its seq, its `ticket.updated` event and outbox row, the audit row when an
agent acted, the hooks), in a handful of statements per batch instead of several round
trips per ticket: one UPDATE of every ticket (claiming one seq each), one statement for
the timeline rows, one multi-row INSERT each for the outbox and audit rows, and the hooks
called once with every change (their batch forms, `run_ticket_hooks_many`).

The caller holds the row lock of every ticket it passes, and passes each ticket once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.outbox.service import TICKET_UPDATED
from app.tickets.events import EventActor
from app.tickets.hooks import TicketChanged, run_ticket_hooks_many
from app.tickets.lifecycle.core import (
    Event,
    TicketEvents,
    changes_payload,
    diff,
    ticket_summary,
    write_events_of,
)
from app.tickets.lifecycle.tickets import audit_change
from app.tickets.models import Ticket


@dataclass(frozen=True)
class Assignment:
    ticket: Ticket
    agent_id: int | None
    extra: Mapping[str, Any] = field(default_factory=dict)  # merged into the event's data


# One statement of fixed text (prepared once per connection) for any number of tickets:
# each gets its assignee and its next seq, as `claim_seqs` gives one ticket.
ASSIGN_MANY = text(
    """
UPDATE tickets AS t
SET assignee_id = v.assignee_id, last_seq = t.last_seq + 1, updated_at = CAST(:now AS timestamptz)
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(id bigint, assignee_id bigint)
WHERE t.id = v.id
RETURNING t.id, t.last_seq
"""
)


async def assign_tickets(
    session: AsyncSession,
    assignments: Sequence[Assignment],
    *,
    actor: EventActor,
    now: datetime,
) -> dict[int, dict[str, tuple[Any, Any]]]:
    """Assign each ticket to its agent; a ticket already theirs is left alone, as
    `change_ticket` leaves it. Returns ticket id -> field -> (before, after)."""
    if len({a.ticket.id for a in assignments}) != len(assignments):
        raise ValueError("each ticket is assigned once per batch")
    changing = [
        (a, changes)
        for a in assignments
        if (changes := diff(a.ticket, {"assignee_id": a.agent_id}))
    ]
    if not changing:
        return {}
    rows = [{"id": a.ticket.id, "assignee_id": a.agent_id} for a, _ in changing]
    result = await session.execute(
        ASSIGN_MANY, {"rows": json.dumps(rows, separators=(",", ":")), "now": now}
    )
    seqs = {int(ticket_id): int(last_seq) for ticket_id, last_seq in result}
    written: list[TicketEvents] = []
    happened: list[TicketChanged] = []
    for a, changes in changing:
        ticket = a.ticket
        for name, value in (
            ("assignee_id", a.agent_id), ("last_seq", seqs[ticket.id]), ("updated_at", now),
        ):  # fmt: skip
            set_committed_value(ticket, name, value)
        data = {
            **ticket_summary(ticket, sorted(changes)),
            "changes": changes_payload(changes),
            **a.extra,
        }
        seq = seqs[ticket.id]
        written.append(TicketEvents(ticket.id, seq, [Event(TICKET_UPDATED, data)], actor))
        audit_change(session, actor, "ticket.update", ticket.id, changes)
        happened.append(TicketChanged(ticket, TICKET_UPDATED, seq, changes, actor, now))
    await write_events_of(session, written, now=now)
    await session.flush()  # the outbox and audit rows, multi-row
    await run_ticket_hooks_many(session, happened)
    return {change.ticket.id: change.changes for change in happened}
