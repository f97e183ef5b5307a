from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdMixin

TOKEN_KINDS = ("login", "personal", "cookie")
SCOPES = ("read", "write")


class ApiToken(IdMixin, Base):
    """A bearer credential. Only the SHA-256 of the token is stored; the token is shown once."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint(f"kind IN {TOKEN_KINDS}", name="kind"),)

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]  # every token expires (personal: RELAYDESK_TOKEN_MAX_DAYS)
    revoked_at: Mapped[datetime | None]
