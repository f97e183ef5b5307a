from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdMixin

# The channel a trigger NOTIFYs when events are committed (migration 0014); the relay
# listens on it.
OUTBOX_CHANNEL = "relaydesk_outbox"
# Failed attempts after which an event is dead-lettered instead of tried again.
MAX_ATTEMPTS = 8


class OutboxEvent(IdMixin, Base):
    """A domain event written in the same transaction as the change it describes.

    The relay (app.outbox.relay) publishes it to Redis and enqueues its jobs after commit.
    An event that fails waits until `retry_at`; one that failed `MAX_ATTEMPTS` times is
    dead-lettered (`dead_at`) until an admin retries it.
    """

    __tablename__ = "outbox_events"
    __table_args__ = (
        Index(
            "ix_outbox_events_pending",
            "id",
            postgresql_where=text("published_at IS NULL AND dead_at IS NULL"),
        ),
        Index("ix_outbox_events_dead", "id", postgresql_where=text("dead_at IS NOT NULL")),
    )

    # Names the event's arq jobs: ids repeat when a database is recreated or restored
    # behind its sequence, while Redis still remembers the jobs of the old one.
    uuid: Mapped[UUID] = mapped_column(default=uuid4, server_default=func.gen_random_uuid())

    topic: Mapped[str] = mapped_column(String(100))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    seq: Mapped[int | None]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    published_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    retry_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]
