from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
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

RAW_STATUSES = ("pending", "imported", "duplicate", "ignored", "rate_limited", "failed")


class InboundEmail(IdMixin, Base):
    """A message exactly as the mail server gave it, compressed, stored before the mailbox is
    touched. `status` says what import made of it; failures stay here for admins to retry."""

    __tablename__ = "inbound_emails"
    __table_args__ = (
        CheckConstraint(f"status IN {RAW_STATUSES}", name="status"),
        UniqueConstraint("inbox_id", "uidvalidity", "uid"),
        Index("ix_inbound_emails_inbox_id_message_id_header", "inbox_id", "message_id_header"),
        Index(
            "ix_inbound_emails_unfinished",
            "inbox_id",
            "id",
            postgresql_where=text("status IN ('pending', 'failed', 'rate_limited')"),
        ),
        # Auto-replies kept aside for want of a ticket, found again when their original comes.
        Index(
            "ix_inbound_emails_referenced_ids",
            "referenced_ids",
            postgresql_using="gin",
            postgresql_where=text("status = 'ignored'"),
        ),
    )

    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id_header: Mapped[str | None] = mapped_column(String(998))
    raw_compressed: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    # The Message-IDs an auto-reply kept aside (`ignored`) answers, while it waits for one.
    referenced_ids: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    processed_at: Mapped[datetime | None]


class MailboxState(Base):
    """Where import stands in one inbox's folder: a restart resumes after `last_uid`.

    `settled_uid` trails it: every UID up to it has had the after-import action (mark seen,
    move, delete). A crash between import and that action leaves the gap, which the next
    sync closes, so no imported message stays behind unseen or unmoved.
    """

    __tablename__ = "mailbox_states"

    inbox_id: Mapped[int] = mapped_column(
        ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    folder: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    settled_uid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_polled_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
