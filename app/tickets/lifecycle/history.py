"""Importing tickets that already have a history (demo data; later, other helpdesks).

The rows are written in bulk with their own timestamps. Each ticket gets the timeline a
live one would have: `ticket.created` at seq 1 carrying the ticket as imported, then one
`message.created` per message in order. History is not news: no outbox rows, no hooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import jsonable
from app.messages.models import Message
from app.outbox.service import MESSAGE_CREATED, TICKET_CREATED
from app.tickets.events import TicketEvent
from app.tickets.lifecycle.core import STATE_FIELDS
from app.tickets.models import Ticket

CHUNK = 500


async def import_history(
    session: AsyncSession,
    tickets: Sequence[dict[str, Any]],
    threads: Sequence[Sequence[dict[str, Any]]],
) -> list[int]:
    """Insert `tickets` (column values, no `last_seq`) and each one's thread of message
    rows (no `ticket_id` or `seq`, oldest first); returns the new ticket ids."""
    rows = [{**t, "last_seq": 1 + len(thread)} for t, thread in zip(tickets, threads, strict=True)]
    returning = insert(Ticket).returning(Ticket.id, Ticket.number, sort_by_parameter_order=True)
    ids: list[tuple[int, int]] = []
    for start in range(0, len(rows), CHUNK):
        ids += [(r[0], r[1]) for r in await session.execute(returning, rows[start : start + CHUNK])]
    messages: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for (ticket_id, number), ticket, thread in zip(ids, rows, threads, strict=True):
        state = jsonable({f: ticket.get(f) for f in STATE_FIELDS})
        events.append(
            _event(ticket_id, 1, TICKET_CREATED, ticket["created_at"], actor=None)
            | {
                "data": {
                    "ticket_id": ticket_id,
                    "number": number,
                    "ticket": state,
                    "imported": True,
                }
            }
        )
        for seq, message in enumerate(thread, start=2):
            messages.append({**message, "ticket_id": ticket_id, "seq": seq})
    message_ids: list[int] = []
    returning_messages = insert(Message).returning(Message.id, sort_by_parameter_order=True)
    for start in range(0, len(messages), CHUNK * 2):
        chunk = messages[start : start + CHUNK * 2]
        message_ids += list((await session.scalars(returning_messages, chunk)).all())
    for message_id, message in zip(message_ids, messages, strict=True):
        author = message.get("author_agent_id") or message.get("author_contact_id")
        actor = "agent" if message.get("author_agent_id") else "contact"
        data = {
            "message_id": message_id,
            "ticket_id": message["ticket_id"],
            "seq": message["seq"],
            "direction": message["direction"],
            "internal": message.get("internal", False),
            "status": message["status"],
            "author_type": message["author_type"],
        }
        events.append(
            _event(
                message["ticket_id"],
                message["seq"],
                MESSAGE_CREATED,
                message["created_at"],
                actor=(actor, author) if message["author_type"] != "system" else None,
            )
            | {"data": data}
        )
    for start in range(0, len(events), CHUNK * 2):
        await session.execute(insert(TicketEvent), events[start : start + CHUNK * 2])
    return [ticket_id for ticket_id, _ in ids]


def _event(
    ticket_id: int, seq: int, type_: str, at: Any, *, actor: tuple[str, Any] | None
) -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "seq": seq,
        "type": type_,
        "at": at,
        "actor_type": actor[0] if actor else "system",
        "actor_id": actor[1] if actor else None,
    }
