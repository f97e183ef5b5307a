"""Columns computed from a ticket's history by a hook (its SLA state), not ticket state:
writing them claims no seq and writes no event, since they only restate what the events
already say. Only these columns may be written here."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text, update
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
    """Many tickets' derived columns in one statement; each row names its ticket's `id`
    and the same columns (the caller holds their row locks)."""
    for row in rows:
        unknown = set(row) - DERIVED_FIELDS - {"id"}
        if unknown:
            raise ValueError(f"not derived columns: {sorted(unknown)}")
    if not rows:
        return
    if any(set(row) != set(rows[0]) for row in rows):
        raise ValueError("every row names the same columns")
    # One statement over a JSON document of the rows: an executemany (ORM or Core) costs
    # more per row in Python and round trips than the update does in PostgreSQL, and
    # recomputing every open ticket after a calendar change is made of these.
    columns = sorted(set(rows[0]) - {"id"})
    record = ", ".join(["id bigint", *(f"{c} {_RECORD_TYPES[c]}" for c in columns)])
    assignments = ", ".join(f"{c} = v.{c}" for c in columns)
    document = json.dumps([dict(row) for row in rows], default=_json_default)
    await session.execute(
        text(  # the names interpolated are DERIVED_FIELDS only, checked above
            f"UPDATE tickets AS t SET {assignments} "  # noqa: S608
            f"FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v({record}) WHERE t.id = v.id"
        ),
        {"rows": document},
    )


# How each derived column reads out of the JSON document (jsonb_to_recordset).
_RECORD_TYPES = {
    "sla": "jsonb",
    "sla_policy_id": "bigint",
    "sla_due_at": "timestamptz",
    "sla_next_event_at": "timestamptz",
    "sla_fired": "text[]",
}


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a derived column's value")
