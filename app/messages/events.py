"""The outbox payload describing a message (kept free of imports of the ticket service)."""

from __future__ import annotations

from typing import Any

from app.messages.models import Message


def message_event(message: Message) -> dict[str, Any]:
    return {
        "message_id": message.id,
        "ticket_id": message.ticket_id,
        "seq": message.seq,
        "direction": message.direction,
        "internal": message.internal,
        "status": message.status,
        "author_type": message.author_type,
    }
