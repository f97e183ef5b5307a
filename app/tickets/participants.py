"""Who takes part in a ticket's conversation besides the requester (CC'd addresses)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdMixin


class TicketParticipant(IdMixin, Base):
    __tablename__ = "ticket_participants"
    __table_args__ = (UniqueConstraint("ticket_id", "address"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))  # lower-case email address
    role: Mapped[str] = mapped_column(String(20))  # requester or cc
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


async def add_participants(
    session: AsyncSession, ticket_id: int, people: Sequence[tuple[str, str]]
) -> None:
    """Add (address, role) pairs; an address already on the ticket keeps its first role."""
    roles: dict[str, str] = {}
    for address, role in people:
        if address:
            roles.setdefault(address.lower(), role)
    if roles:
        # Parameters as a list (executemany) keep the statement cacheable.
        await session.execute(
            insert(TicketParticipant).on_conflict_do_nothing(
                constraint="uq_ticket_participants_ticket_id_address"
            ),
            [{"ticket_id": ticket_id, "address": a, "role": r} for a, r in roles.items()],
        )


async def participant_addresses(session: AsyncSession, ticket_id: int) -> set[str]:
    stmt = select(TicketParticipant.address).where(TicketParticipant.ticket_id == ticket_id)
    return set((await session.scalars(stmt)).all())
