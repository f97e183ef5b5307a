"""A ticket's history: every event, numbered by the ticket's `seq`, kept for its whole life.

`ticket_events` is the ticket's timeline for the console and the resume path for realtime
clients (`GET /api/v1/tickets/{id}/events?since=<seq>`). The outbox carries the same events
to Redis once and may be pruned; these rows live as long as the ticket.

Only the lifecycle (app.tickets.lifecycle) writes them, in the transaction of the change
they describe. An event that changes ticket fields carries them as
`data["changes"] = {field: {"from": old, "to": new}}`, so a client that holds the ticket at
seq N reaches seq M by applying the changes of the events in between, in seq order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

ACTOR_TYPES = ("agent", "contact", "system")


class TicketEvent(Base):
    __tablename__ = "ticket_events"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime]
    actor_type: Mapped[str | None] = mapped_column(String(10))
    actor_id: Mapped[int | None]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


@dataclass(frozen=True)
class EventActor:
    """Who caused an event: an agent, a contact (a customer writing in) or the system."""

    type: str
    id: int | None = None

    @classmethod
    def agent(cls, agent_id: int) -> EventActor:
        return cls("agent", agent_id)

    @classmethod
    def contact(cls, contact_id: int) -> EventActor:
        return cls("contact", contact_id)

    @property
    def agent_id(self) -> int | None:
        return self.id if self.type == "agent" else None


SYSTEM = EventActor("system")


async def events_since(
    session: AsyncSession, ticket_id: int, *, since: int, limit: int
) -> list[TicketEvent]:
    """Events after `since`, oldest first (the primary key serves the range)."""
    stmt = (
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.seq > since)
        .order_by(TicketEvent.seq)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())
