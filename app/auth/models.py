from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    func,
    text,
)
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


class TwoFactor(Base):
    """An agent's TOTP second factor. Enrolment stores the secret unconfirmed; the first
    right code confirms it, and only then does signing in ask for a code. The secret is
    encrypted (app.security.crypto), recovery codes are kept as SHA-256 and used once."""

    __tablename__ = "agent_two_factor"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    confirmed_at: Mapped[datetime | None]
    # The last TOTP time step accepted: a code is good once (no replay within its window).
    last_step: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    recovery_code_hashes: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default="{}"
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SecurityPolicy(Base):
    """The workspace's sign-in rules, one row (id 1), changed by admins."""

    __tablename__ = "security_policy"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=1)
    # Admins and supervisors must enrol a second factor before they can work.
    require_two_factor_for_staff: Mapped[bool] = mapped_column(
        default=False, server_default=text("false")
    )
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
