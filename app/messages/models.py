from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, IdMixin

DIRECTIONS = ("inbound", "outbound")
AUTHOR_TYPES = ("contact", "agent", "system")
# `received` is an inbound message; the rest are an outbound message's delivery states.
MESSAGE_STATUSES = ("received", "queued", "sent", "delivered", "read", "failed")


class Message(IdMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint(f"direction IN {DIRECTIONS}", name="direction"),
        CheckConstraint(f"author_type IN {AUTHOR_TYPES}", name="author_type"),
        CheckConstraint(f"status IN {MESSAGE_STATUSES}", name="status"),
        # The idempotency key of every channel: a redelivery is a no-op.
        UniqueConstraint("inbox_id", "external_id"),
        UniqueConstraint("ticket_id", "seq"),
        Index("ix_messages_ticket_id_id", "ticket_id", "id"),
        # Loop protection counts a sender's recent messages.
        Index("ix_messages_author_contact_id_created_at", "author_contact_id", "created_at"),
        # Threading backwards: which stored messages reference a newly arrived one.
        Index("ix_messages_referenced_ids", "referenced_ids", postgresql_using="gin"),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    seq: Mapped[int]
    direction: Mapped[str] = mapped_column(String(10))
    author_type: Mapped[str] = mapped_column(String(10))
    author_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    author_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    internal: Mapped[bool] = mapped_column(default=False)
    subject: Mapped[str | None] = mapped_column(String(998))
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inboxes.id", ondelete="SET NULL"))
    external_id: Mapped[str | None] = mapped_column(String(998))
    status: Mapped[str] = mapped_column(String(20))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    # Channel details that are not part of the domain (headers, provider payload bits).
    channel_data: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    # External ids this inbound message replies to (email In-Reply-To and References), so a
    # message arriving after its replies finds their ticket.
    referenced_ids: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default="{}"
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # When the sender wrote it by its own account (email: Date, never later than arrival);
    # null for our own messages. A ticket's messages are listed by this, else created_at.
    dated_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]

    attachments: Mapped[list[Attachment]] = relationship(lazy="raise", order_by="Attachment.id")


class Attachment(IdMixin, Base):
    """A file kept under the data dir by content hash; rows without a message are uploads."""

    __tablename__ = "attachments"

    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content_id: Mapped[str | None] = mapped_column(String(998))  # for inline `cid:` references
    inline: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
