"""A new ticket with its first message in two round trips instead of six.

The first takes the ticket's id and number and the message's id from their sequences; the
second is one statement of fixed text whose data-modifying CTEs insert the ticket, the
message, their timeline rows, the audit row and the outbox rows (PostgreSQL checks the
message's foreign key at the end of the statement, when the ticket is there). The ORM
objects are then made persistent from exactly the values written, so no later flush writes
them again, and the outbox rows reach same-node delivery as if the ORM had flushed them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from app.audit.service import jsonable
from app.db.base import Base
from app.messages.models import Message
from app.outbox.service import WrittenEvent, note_written
from app.tickets.events import EventActor
from app.tickets.lifecycle.core import Event
from app.tickets.models import Ticket

NEXT_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('tickets', 'id')), nextval('ticket_number_seq'),"
    " nextval(pg_get_serial_sequence('messages', 'id'))"
)


# Built once, at import, from our own table and column names (no input reaches them).
def _insert_row(table: Table, param: str) -> str:
    """One row from a JSON object (`jsonb_populate_record` casts every column)."""
    names = ", ".join(column.name for column in table.columns)
    source = f"jsonb_populate_record(NULL::{table.name}, CAST(:{param} AS jsonb))"
    return f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {source}"  # noqa: S608


def _insert_rows(table: Table, columns: Sequence[str], param: str) -> str:
    """Rows from a JSON array; the columns not named take their defaults."""
    names = ", ".join(columns)
    source = f"jsonb_populate_recordset(NULL::{table.name}, CAST(:{param} AS jsonb))"
    return f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {source}"  # noqa: S608


_TICKETS: Table = Ticket.__table__  # type: ignore[assignment]
_MESSAGES: Table = Message.__table__  # type: ignore[assignment]
_TIMELINE: Table = Base.metadata.tables["ticket_events"]
_AUDIT: Table = Base.metadata.tables["audit_log"]
_OUTBOX: Table = Base.metadata.tables["outbox_events"]

WRITE_OPENING = text(
    f"""
WITH ticket AS ({_insert_row(_TICKETS, "ticket")}),
     message AS ({_insert_row(_MESSAGES, "message")}),
     timeline AS ({
        _insert_rows(
            _TIMELINE,
            ["ticket_id", "seq", "type", "at", "actor_type", "actor_id", "data"],
            "events",
        )
    }),
     audit AS ({
        _insert_rows(
            _AUDIT, ["actor_id", "action", "entity_type", "entity_id", "before", "after"], "audit"
        )
    })
{_insert_rows(_OUTBOX, ["uuid", "topic", "ticket_id", "seq", "payload"], "outbox")}
"""
)


def complete_row(obj: Any) -> dict[str, Any]:
    """Every column of a new ORM object, its Python-side defaults applied as a flush would;
    the object gets them too, so it can be made persistent without a load."""
    table: Table = type(obj).__table__
    values: dict[str, Any] = {}
    for column in table.columns:
        key = column.key
        if key in obj.__dict__:
            values[key] = obj.__dict__[key]
            continue
        default = column.default
        if default is not None and getattr(default, "is_scalar", False):
            value = default.arg  # type: ignore[attr-defined]
        elif default is not None and getattr(default, "is_callable", False):
            value = default.arg(None)  # type: ignore[attr-defined]
        elif column.server_default is None or column.nullable:
            value = None
        else:
            raise ValueError(f"{table.name}.{key} needs a value: its default is the server's")
        setattr(obj, key, value)
        values[key] = value
    return values


def _json(value: Any) -> str:
    return json.dumps(jsonable(value), separators=(",", ":"))


async def next_ids(session: AsyncSession) -> tuple[int, int, int]:
    """The new ticket's id and number, and its first message's id."""
    ticket_id, number, message_id = (await session.execute(NEXT_IDS)).one()
    return int(ticket_id), int(number), int(message_id)


async def write_opening(
    session: AsyncSession,
    ticket: Ticket,
    message: Message,
    events: Sequence[Event],
    *,
    audit: Mapping[str, Any] | None,
    actor: EventActor,
    now: datetime,
) -> None:
    """Insert `ticket` and `message` (ids set from `next_ids`), the ticket's `events` from
    seq 1 and `audit` (an audit_log row's values, or None) in one statement; both objects
    are persistent in `session` afterwards."""
    timeline = [
        {
            "ticket_id": ticket.id,
            "seq": seq,
            "type": event.type,
            "at": now,
            "actor_type": actor.type,
            "actor_id": actor.id,
            "data": event.data,
        }
        for seq, event in enumerate(events, start=1)
    ]
    outbox = [
        {
            "uuid": str(uuid4()),
            "topic": row["type"],
            "ticket_id": row["ticket_id"],
            "seq": row["seq"],
            "payload": row["data"],
        }
        for row in timeline
    ]
    await session.execute(
        WRITE_OPENING,
        {
            "ticket": _json(complete_row(ticket)),
            "message": _json(complete_row(message)),
            "events": _json(timeline),
            "audit": _json([audit] if audit else []),
            "outbox": _json(outbox),
        },
    )
    for obj in (ticket, message):
        make_transient_to_detached(obj)
        session.add(obj)
    note_written(
        session,
        [WrittenEvent(e.type, e.data, ticket.id, seq) for seq, e in enumerate(events, start=1)],
    )
