"""Write domain events into the outbox, inside the caller's transaction.

Nothing here touches Redis: the relay (app.outbox.relay) publishes after commit, so an
event exists exactly when the change it describes was committed.
"""

from __future__ import annotations

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
