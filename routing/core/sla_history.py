"""A ticket's history as the SLA clocks see it: what happened, when, in time order.

The driver builds it from the ticket's events; `sla_timeline.compute_sla` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from routing.core.sla_policy import Metric


@dataclass(frozen=True, slots=True)
class StatusChanged:
    at: datetime
    status: str


@dataclass(frozen=True, slots=True)
class PriorityChanged:
    at: datetime
    priority: str


@dataclass(frozen=True, slots=True)
class CustomerMessage:
    at: datetime


@dataclass(frozen=True, slots=True)
class AgentReply:
    """A public reply to the customer (internal notes answer nobody)."""

    at: datetime


@dataclass(frozen=True, slots=True)
class TeamChanged:
    """The ticket moved to another team (None: to no team)."""

    at: datetime
    team_id: int | None


@dataclass(frozen=True, slots=True)
class DueOverride:
    """A supervisor set this metric's due time by hand (None lifts the override): the
    running cycle's due time is frozen there, whatever pauses follow."""

    at: datetime
    metric: Metric
    due_at: datetime | None


HistoryEvent = (
    StatusChanged | PriorityChanged | CustomerMessage | AgentReply | TeamChanged | DueOverride
)


@dataclass(frozen=True)
class TicketHistory:
    created_at: datetime
    status: str  # at creation
    priority: str  # at creation
    events: tuple[HistoryEvent, ...] = ()  # in time order, none before created_at
    team_id: int | None = None  # at creation
