from __future__ import annotations

from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdMixin, TimestampMixin
from app.sharing import VISIBILITIES


class CannedReply(IdMixin, TimestampMixin, Base):
    """A reply text with placeholders (app.replies.placeholders), personal or shared."""

    __tablename__ = "canned_replies"
    __table_args__ = (
        CheckConstraint(f"visibility IN {VISIBILITIES}", name="visibility"),
        CheckConstraint("(visibility = 'team') = (team_id IS NOT NULL)", name="team"),
    )

    name: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    visibility: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )


class Macro(IdMixin, TimestampMixin, Base):
    """Field changes and an optional reply applied to a ticket in one action. `actions`
    holds a `MacroActions` document."""

    __tablename__ = "macros"
    __table_args__ = (
        CheckConstraint(f"visibility IN {VISIBILITIES}", name="visibility"),
        CheckConstraint("(visibility = 'team') = (team_id IS NOT NULL)", name="team"),
    )

    name: Mapped[str] = mapped_column(String(100))
    actions: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    visibility: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )
