"""Calendars, policies and the recorded target events (the facts reports are made of).

A ticket's current SLA state lives on the ticket row (`tickets.sla`, `sla_due_at`,
`sla_next_event_at`, app.tickets.models), recomputed by the lifecycle hook; the rows here
say what the promises are and what happened to each target.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdMixin, TimestampMixin

TARGET_EVENT_KINDS = ("warning", "breached", "met")


class SlaCalendar(IdMixin, TimestampMixin, Base):
    """Weekly hours in a time zone, closed days and exceptions, as the API takes them:
    `hours` {"mon": [["09:00", "17:00"]], ...}, `holidays` [{"date", "name"}],
    `exceptions` [{"date", "hours": [["10:00", "14:00"]]}]."""

    __tablename__ = "sla_calendars"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    holidays: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    exceptions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)


class SlaPolicy(IdMixin, TimestampMixin, Base):
    """Tried in `position` order; the first whose conditions all match applies.
    `targets` [{"metric", "priority", "minutes", "business_hours"}]; `pauses`
    {metric: [status, ...]} overrides which statuses stop a clock; `actions`
    {"warning"|"breached"|"met": [{"type", ...}]}. With `team_id` it is a group policy:
    that team's internal target (`group_ownership`) while it owns a ticket, chosen among
    the team's group policies the same way and kept beside the customer's policy."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        CheckConstraint("warning_fraction > 0 AND warning_fraction < 1", name="warning_fraction"),
    )

    name: Mapped[str] = mapped_column(String(200), unique=True)
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_calendars.id", ondelete="RESTRICT")
    )
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    targets: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    pauses: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    warning_fraction: Mapped[float] = mapped_column(default=0.8, server_default="0.8")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))

    @property
    def kind(self) -> str:
        return "customer" if self.team_id is None else "group"


class SlaTargetEvent(IdMixin, Base):
    """One moment of one target cycle of a ticket: its warning, its breach, its meeting.
    Unique per (ticket, metric, cycle, kind): that is what makes each fire once, whichever
    scheduler gets there first. Team, agent and channel are the ticket's at that moment, so
    reports group by who owned it then; a group target's team is the team whose clock it
    was, and its policy the group policy."""

    __tablename__ = "sla_target_events"
    __table_args__ = (
        UniqueConstraint("ticket_id", "metric", "cycle", "kind"),
        CheckConstraint(f"kind IN {TARGET_EVENT_KINDS}", name="kind"),
        Index("ix_sla_target_events_kind_at", "kind", "at"),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(30))
    cycle: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10))
    policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    priority: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    # When it happened by the clock of the SLA (the warning or due time, the meeting).
    at: Mapped[datetime]
    # When it was recorded: for a warning or breach, `recorded_at - at` is its lateness.
    recorded_at: Mapped[datetime] = mapped_column(server_default=func.now())
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(20))
