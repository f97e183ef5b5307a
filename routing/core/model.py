"""The routing model: agents, queued tickets, queues and the rules of a helpdesk.

Plain frozen data; the driver builds it from the database for each routing round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

PresenceStatus = Literal["online", "away", "offline"]
QueueOrder = Literal["sla_first", "priority_first"]
Strategy = Literal["most_spare", "highest_spare_ratio", "round_robin", "best_skill_match"]
STRATEGIES: tuple[Strategy, ...] = (
    "most_spare",
    "highest_spare_ratio",
    "round_robin",
    "best_skill_match",
)
SKILL_LEVELS = range(1, 6)


class ModelError(ValueError):
    """Routing data that cannot be right; the message names the field."""


@dataclass(frozen=True, slots=True)
class ChannelPresence:
    status: PresenceStatus
    since: datetime  # when this status was set: an offline agent's grace runs from here
    last_activity_at: datetime | None = None  # an online agent idle too long counts as away


@dataclass(frozen=True, slots=True)
class HeldTicket:
    """A ticket an agent holds (assigned, or offered and not yet answered)."""

    ticket_id: int
    channel: str
    status: str
    inbox_id: int | None = None
    team_id: int | None = None
    idle: bool = False  # a chat where nobody has written for a while
    offered: bool = False  # an open offer holds its place until answered or expired


@dataclass(frozen=True, slots=True)
class ChannelSlots:
    """So many tickets at once per channel, e.g. {"chat": 3, "email": 10}. A channel not
    named takes nothing."""

    limits: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class WeightedUnits:
    """One budget shared by the channels: a ticket of a channel uses `weights[channel]`
    units of `total` (e.g. a chat 3 and an email 1 of 10). A channel not named takes
    nothing."""

    total: int
    weights: Mapping[str, int]


Capacity = ChannelSlots | WeightedUnits


@dataclass(frozen=True)
class Agent:
    id: int
    capacity: Capacity
    skills: Mapping[int, int] = field(default_factory=dict)  # skill id -> level 1-5
    primary_teams: frozenset[int] = frozenset()
    secondary_teams: frozenset[int] = frozenset()
    presence: Mapping[str, ChannelPresence] = field(default_factory=dict)  # none: offline
    routing_paused: bool = False
    held: tuple[HeldTicket, ...] = ()
    last_assigned_at: Mapping[str, datetime] = field(default_factory=dict)  # per channel

    def __post_init__(self) -> None:
        for skill, level in self.skills.items():
            if level not in SKILL_LEVELS:
                raise ModelError(f"skills.level: {level} for skill {skill} is not 1-5")


@dataclass(frozen=True, slots=True)
class SkillNeed:
    skill_id: int
    min_level: int = 1

    def __post_init__(self) -> None:
        if self.min_level not in SKILL_LEVELS:
            raise ModelError(f"required_skills.min_level: {self.min_level} is not 1-5")


@dataclass(frozen=True)
class QueuedTicket:
    id: int
    queue_id: int
    channel: str
    priority: str
    eligible_since: datetime  # entered the queue; reset on reopen or requeue
    inbox_id: int | None = None
    required_skills: tuple[SkillNeed, ...] = ()
    optional_skills: tuple[SkillNeed, ...] = ()  # preferred; dropped after a queue's wait
    next_due_at: datetime | None = None  # the soonest SLA due time (compute_sla)
    last_agent_id: int | None = None  # reopened ticket or returning contact: sticky
    # Agents who declined or let an offer of this ticket time out, with which it was.
    refused_by: Mapping[int, Literal["declined", "timed_out"]] = field(default_factory=dict)


@dataclass(frozen=True)
class Queue:
    """Where tickets wait for one team (or everyone, with no team), and how it routes."""

    id: int
    team_id: int | None = None
    order: QueueOrder = "sla_first"
    strategy: Strategy = "most_spare"
    sticky: bool = True
    drop_optional_after: timedelta | None = timedelta(minutes=5)
    # After this wait the team's secondary members and the overflow teams may take it.
    overflow_after: timedelta | None = None
    overflow_team_ids: tuple[int, ...] = ()
    offer_timeout: timedelta | None = None  # None: assign directly; else offer for this long

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ModelError(f"strategy: unknown strategy {self.strategy!r}")
        if self.order not in ("sla_first", "priority_first"):
            raise ModelError(f"order: unknown queue order {self.order!r}")


@dataclass(frozen=True)
class RoutingRules:
    """Helpdesk-wide rules of load accounting and presence."""

    counted_statuses: frozenset[str] = frozenset({"new", "open"})
    count_idle_chats: bool = True
    live_channels: frozenset[str] = frozenset({"chat"})  # conversations that need a person now
    idle_timeout: timedelta | None = timedelta(minutes=10)
    offline_grace: timedelta = timedelta(minutes=2)  # then an offline agent's chats requeue
    team_limits: Mapping[int, int] = field(default_factory=dict)  # team -> tickets per agent
    inbox_limits: Mapping[int, int] = field(default_factory=dict)  # inbox -> tickets per agent
    priorities: tuple[str, ...] = ("urgent", "high", "normal", "low")  # most urgent first
    presence_after_decline: PresenceStatus | None = None
    presence_after_timeout: PresenceStatus | None = "away"


@dataclass(frozen=True)
class RoutingState:
    """Everything one routing round looks at. Queues are listed by precedence: a queue's
    tickets are routed before the next queue's."""

    agents: tuple[Agent, ...]
    queues: tuple[Queue, ...]
    tickets: tuple[QueuedTicket, ...]
    rules: RoutingRules = field(default_factory=RoutingRules)
