from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdMixin, TimestampMixin
from app.inboxes.channels import INBOX_CHANNELS


def new_public_key() -> str:
    return secrets.token_urlsafe(18)


# A trigger NOTIFYs this channel with the inbox's id whenever an inbox is created, changed
# or deleted (migration 0014); the mail supervisor listens.
INBOXES_CHANNEL = "relaydesk_inboxes"


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
    # The inbox's public name on the internet: webhook URLs (/webhooks/{channel}/{key}) and
    # the chat widget's script tag carry it. Random, so inbox ids stay private.
    public_key: Mapped[str] = mapped_column(String(40), unique=True, default=new_public_key)
