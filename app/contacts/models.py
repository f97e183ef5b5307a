from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, IdMixin, TimestampMixin


class Contact(IdMixin, TimestampMixin, Base):
    """A person. Their addresses on each channel live in `ContactIdentity` rows."""

    __tablename__ = "contacts"
    __table_args__ = (
        Index(
            "ix_contacts_name_trgm",
            "name",
            postgresql_using="gin",
            postgresql_ops={"name": "gin_trgm_ops"},
        ),
    )

    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))  # the primary address, for display
    phone: Mapped[str | None] = mapped_column(String(40))
    locale: Mapped[str | None] = mapped_column(String(20))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    # Set when this contact was merged into another; it then owns nothing.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))

    identities: Mapped[list[ContactIdentity]] = relationship(
        back_populates="contact", lazy="raise", order_by="ContactIdentity.id"
    )


class ContactIdentity(IdMixin, Base):
    """One address of a contact on one channel; unique per channel, so a sender is one person."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    contact: Mapped[Contact] = relationship(back_populates="identities", lazy="raise")
