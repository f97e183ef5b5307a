from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdMixin, TimestampMixin
from app.sharing import VISIBILITIES


class SavedView(IdMixin, TimestampMixin, Base):
    """A list of tickets an agent keeps in the console's sidebar: filters with a name,
    personal or shared (app.sharing). `filters` holds a `ViewFilters` document."""

    __tablename__ = "saved_views"
    __table_args__ = (
        CheckConstraint(f"visibility IN {VISIBILITIES}", name="visibility"),
        CheckConstraint("(visibility = 'team') = (team_id IS NOT NULL)", name="team"),
    )

    name: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    visibility: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
