"""Columns computed from a ticket's history by a hook (its SLA state), not ticket state:
writing them claims no seq and writes no event, since they only restate what the events
already say. Only these columns may be written here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.tickets.models import Ticket

DERIVED_FIELDS = frozenset({"sla", "sla_policy_id", "sla_due_at", "sla_next_event_at", "sla_fired"})


async def write_derived(session: AsyncSession, ticket: Ticket, values: Mapping[str, Any]) -> None:
    """The caller holds the row lock; `updated_at` stays (nobody changed the ticket)."""
    unknown = set(values) - DERIVED_FIELDS
    if unknown:
        raise ValueError(f"not derived columns: {sorted(unknown)}")
    await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    for name, value in values.items():
        set_committed_value(ticket, name, value)


async def write_derived_many(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Many tickets' derived columns in one executemany; each row names its ticket's `id`
    (the caller holds their row locks)."""
    for row in rows:
        unknown = set(row) - DERIVED_FIELDS - {"id"}
        if unknown:
            raise ValueError(f"not derived columns: {sorted(unknown)}")
    if rows:
        await session.execute(update(Ticket), [dict(row) for row in rows])
