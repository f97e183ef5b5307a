from __future__ import annotations

from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdMixin, TimestampMixin


class Account(IdMixin, TimestampMixin, Base):
    """A customer company. Contacts whose email domain is in `domains` join it on ingest."""

    __tablename__ = "accounts"
    __table_args__ = (
        Index("ix_accounts_domains", "domains", postgresql_using="gin"),
        Index(
            "ix_accounts_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
    )

    name: Mapped[str] = mapped_column(String(200))
    domains: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    tier: Mapped[str | None] = mapped_column(String(50))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
