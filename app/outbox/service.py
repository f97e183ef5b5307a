"""Write domain events into the outbox, inside the caller's transaction.

Nothing here touches Redis: the relay (app.outbox.relay) publishes after commit, so an
event exists exactly when the change it describes was committed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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


# The INSERT of several events given as one JSON array in `:events`, each
# `{"topic", "ticket_id", "seq", "payload"}`, in seq order. One statement of fixed text, so
# it is prepared once per connection; a caller may put CTEs of its own before it.
EMIT_MANY_SQL = """
INSERT INTO outbox_events (uuid, topic, ticket_id, seq, payload, attempts)
SELECT gen_random_uuid(), e.topic, e.ticket_id, e.seq, e.payload, 0
FROM jsonb_to_recordset(CAST(:events AS jsonb))
     AS e(topic varchar, ticket_id bigint, seq bigint, payload jsonb)
ORDER BY e.seq
"""


def events_param(events: Sequence[Mapping[str, Any]]) -> str:
    """`:events` for EMIT_MANY_SQL."""
    return json.dumps(list(events), separators=(",", ":"))
