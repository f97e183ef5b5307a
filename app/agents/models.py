from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, IdMixin, TimestampMixin

ROLES = ("admin", "supervisor", "agent")
PRESENCES = ("online", "away", "offline")

team_members = Table(
    "team_members",
    Base.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("agent_id", ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Agent(IdMixin, TimestampMixin, Base):
    """A user of the console. `role` decides what they may see and do (app.auth.permissions)."""

    __tablename__ = "agents"
    __table_args__ = (
        CheckConstraint(f"role IN {ROLES}", name="role"),
        CheckConstraint(f"presence IN {PRESENCES}", name="presence"),
        CheckConstraint(f"presence_choice IN {PRESENCES}", name="presence_choice"),
    )

    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-case
    name: Mapped[str] = mapped_column(String(200))
    # Shown beside the agent's chat replies (the widget draws initials without one).
    avatar_url: Mapped[str | None] = mapped_column(String(500))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    presence: Mapped[str] = mapped_column(String(20), default="offline", server_default="offline")
    # Concurrent conversations per channel, e.g. {"email": 10, "chat": 3}.
    capacity: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    last_seen_at: Mapped[datetime | None]
    # Routing: a supervisor's pause, when the presence last changed (an offline agent's
    # grace runs from it), and the last activity the idle timeout counts from.
    routing_paused: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    presence_since: Mapped[datetime | None]
    last_activity_at: Mapped[datetime | None]
    # What the agent chose (PUT /agents/me/presence, the socket's presence.set, or away
    # set for them by the idle timeout or an unanswered offer): it holds until they change
    # it. Null: online while a socket is open. `disconnected_at`: their last socket closed;
    # they turn offline once the grace period has passed (app.agents.service.presence).
    presence_choice: Mapped[str | None] = mapped_column(String(20))
    disconnected_at: Mapped[datetime | None]
    # Per channel, where it differs from the overall choice: {"chat": {"status": "away",
    # "since": "<ISO time>"}}, set and held the same way (app.agents.service.presence).
    channel_presence: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")

    teams: Mapped[list[Team]] = relationship(secondary=team_members, lazy="raise")
    skills: Mapped[list[AgentSkill]] = relationship(lazy="raise", cascade="all, delete-orphan")


class Team(IdMixin, TimestampMixin, Base):
    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(String(1000))


class Skill(IdMixin, Base):
    __tablename__ = "skills"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class AgentSkill(Base):
    __tablename__ = "agent_skills"
    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 5", name="level"),)

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    level: Mapped[int]

    skill: Mapped[Skill] = relationship(lazy="raise")
