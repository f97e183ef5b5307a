from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


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
