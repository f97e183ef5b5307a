from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdMixin, TimestampMixin
from app.inboxes.channels import INBOX_CHANNELS


class Inbox(IdMixin, TimestampMixin, Base):
    """A configured channel endpoint. Secret settings are kept only in `secrets_encrypted`."""

    __tablename__ = "inboxes"
    __table_args__ = (CheckConstraint(f"channel IN {INBOX_CHANNELS}", name="channel"),)

    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    secrets_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Tickets opened here belong to this team unless routing says otherwise.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
