"""Routing's tables: queues, helpdesk-wide rules, skill rules, each ticket's routing state,
offers and the record of every decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdMixin

QUEUE_ORDERS = ("sla_first", "priority_first")
STRATEGIES = ("most_spare", "highest_spare_ratio", "round_robin", "best_skill_match")
OFFER_STATUSES = ("pending", "accepted", "declined", "timed_out", "withdrawn")
DECISION_ACTIONS = (
    "assign", "offer", "wait", "accepted", "declined", "timed_out", "withdrawn", "requeue",
)  # fmt: skip


class RoutingQueue(IdMixin, Base):
    """How one team's tickets, or one inbox's tickets of no team, are routed (with neither:
    the tickets of no team and no inbox queue). A team without a row routes with the
    defaults."""

    __tablename__ = "routing_queues"
    __table_args__ = (
        CheckConstraint(f"queue_order IN {QUEUE_ORDERS}", name="queue_order"),
        CheckConstraint(f"strategy IN {STRATEGIES}", name="strategy"),
        CheckConstraint("team_id IS NULL OR inbox_id IS NULL", name="team_or_inbox"),
    )

    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), unique=True
    )
    inbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("inboxes.id", ondelete="CASCADE"), unique=True
    )
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    queue_order: Mapped[str] = mapped_column(String(20), server_default="sla_first")
    strategy: Mapped[str] = mapped_column(String(30), server_default="most_spare")
    sticky: Mapped[bool] = mapped_column(server_default=text("true"))
    drop_optional_after_seconds: Mapped[int | None] = mapped_column(server_default="300")
    overflow_after_seconds: Mapped[int | None]
    overflow_team_ids: Mapped[list[int]] = mapped_column(
        ARRAY(BigInteger), default=list, server_default="{}"
    )
    offer_timeout_seconds: Mapped[int | None]  # null: assign directly


class RoutingSettings(Base):
    """Helpdesk-wide rules of load accounting and presence: one row."""

    __tablename__ = "routing_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, default=1)
    counted_statuses: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{new,open}")
    count_idle_chats: Mapped[bool] = mapped_column(server_default=text("true"))
    idle_timeout_seconds: Mapped[int | None] = mapped_column(server_default="600")
    offline_grace_seconds: Mapped[int] = mapped_column(server_default="120")
    presence_after_decline: Mapped[str | None] = mapped_column(String(20))
    presence_after_timeout: Mapped[str | None] = mapped_column(String(20), server_default="away")
    team_limits: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    inbox_limits: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")


class SkillRule(IdMixin, Base):
    """Skills a ticket needs when it matches (app.routing.rules); admins manage them."""

    __tablename__ = "routing_skill_rules"

    position: Mapped[int] = mapped_column(default=0, server_default="0")
    skills: Mapped[list[dict[str, int]]] = mapped_column(JSONB, default=list, server_default="[]")
    optional: Mapped[bool] = mapped_column(server_default=text("false"))
    conditions: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    keywords: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class TicketRouting(Base):
    """A ticket's routing state beside the ticket row: when it became eligible (reset on
    reopen and requeue), its last agent (sticky routing), who refused it, and the
    optional skills the rules gave it. A ticket without a row is eligible since created."""

    __tablename__ = "ticket_routing"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    eligible_since: Mapped[datetime]
    last_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    # agent id (as text) -> "declined" | "timed_out"
    refused: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    optional_skills: Mapped[list[dict[str, int]]] = mapped_column(
        JSONB, default=list, server_default="[]"
    )


class RoutingOffer(IdMixin, Base):
    __tablename__ = "routing_offers"
    __table_args__ = (
        CheckConstraint(f"status IN {OFFER_STATUSES}", name="status"),
        # One open offer per ticket: a second driver cannot offer it again meanwhile.
        Index(
            "uq_routing_offers_pending_ticket",
            "ticket_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_routing_offers_pending_expiry",
            "expires_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_routing_offers_agent_id", "agent_id"),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    offered_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), server_default="pending")
    reason: Mapped[str | None] = mapped_column(String(500))
    answered_at: Mapped[datetime | None]


class AgentChannelRouting(Base):
    """When an agent was last given a ticket on a channel (round robin, idle tie-breaks)."""

    __tablename__ = "routing_agent_channels"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_assigned_at: Mapped[datetime]


class RoutingDecision(IdMixin, Base):
    """Every routing decision about a ticket and why (GET /api/v1/tickets/{id}/routing)."""

    __tablename__ = "routing_decisions"
    __table_args__ = (
        CheckConstraint(f"action IN {DECISION_ACTIONS}", name="action"),
        Index("ix_routing_decisions_ticket_id_id", "ticket_id", "id"),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    decided_at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(20))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(Text)
    explanation: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
