from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdMixin

INBOUND_STATUSES = ("pending", "imported", "duplicate", "ignored", "rate_limited", "failed")


class InboundItem(IdMixin, Base):
    """One delivery from a provider exactly as it came (a mail's bytes, a webhook's body),
    compressed, stored before anything is parsed or acknowledged. `status` says what
    processing made of it and `error` why; failures stay here for admins to download and
    retry.

    `delivery_key` is the provider's identity of the delivery (IMAP `UIDVALIDITY:UID`, a
    webhook's delivery id or the body's hash), unique per inbox, so a redelivery is stored
    once. `external_id` is the message's own id (email Message-ID) when one is known.
    """

    __tablename__ = "inbound_items"
    __table_args__ = (
        CheckConstraint(f"status IN {INBOUND_STATUSES}", name="status"),
        UniqueConstraint("inbox_id", "delivery_key"),
        Index("ix_inbound_items_inbox_id_external_id", "inbox_id", "external_id"),
        Index(
            "ix_inbound_items_unfinished",
            "inbox_id",
            "id",
            postgresql_where=text("status IN ('pending', 'failed', 'rate_limited')"),
        ),
        # Auto-replies kept aside for want of a ticket, found again when their original comes.
        Index(
            "ix_inbound_items_referenced_ids",
            "referenced_ids",
            postgresql_using="gin",
            postgresql_where=text("status = 'ignored'"),
        ),
    )

    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    delivery_key: Mapped[str] = mapped_column(String(300))
    external_id: Mapped[str | None] = mapped_column(String(998))
    content_type: Mapped[str] = mapped_column(String(100))
    raw_compressed: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int]
    # What the transport knew besides the body (email: uid, uidvalidity; webhook: headers).
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    # The ids an auto-reply kept aside (`ignored`) answers, while it waits for one.
    referenced_ids: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    processed_at: Mapped[datetime | None]
