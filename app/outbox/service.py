"""Write domain events into the outbox, inside the caller's transaction.

Nothing here touches Redis: the relay (app.outbox.relay) publishes after commit, so an
event exists exactly when the change it describes was committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.outbox.models import OutboxEvent

TICKET_CREATED = "ticket.created"
TICKET_UPDATED = "ticket.updated"
TICKET_MERGED = "ticket.merged"
MESSAGE_CREATED = "message.created"
MESSAGE_STATUS_CHANGED = "message.status_changed"
CONTACT_MERGED = "contact.merged"


def emit(
    session: AsyncSession,
    *,
    topic: str,
    payload: dict[str, Any],
    ticket_id: int | None = None,
    seq: int | None = None,
) -> OutboxEvent:
    event = OutboxEvent(topic=topic, ticket_id=ticket_id, seq=seq, payload=payload)
    session.add(event)
    return event


# Outbox rows a caller wrote in SQL rather than through `emit` (one statement for several
# tables), kept on the session with the transaction they were written in, so that
# same-node delivery (app.realtime.local) hands them over at commit like flushed ones.
WRITTEN_IN_SQL = "outbox_written_in_sql"


@dataclass(frozen=True)
class WrittenEvent:
    topic: str
    payload: dict[str, Any]
    ticket_id: int | None
    seq: int | None


def note_written(session: AsyncSession, events: Sequence[WrittenEvent]) -> None:
    sync = session.sync_session
    written_in = sync.get_nested_transaction() or sync.get_transaction()
    sync.info.setdefault(WRITTEN_IN_SQL, []).extend((written_in, e) for e in events)
