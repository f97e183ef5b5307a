"""SLA policies: which promise applies to a ticket, and its targets per priority."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

Metric = Literal[
    "first_response",  # created -> first public agent reply
    "next_response",  # each customer message after that -> the next public agent reply
    "periodic_update",  # each public agent reply -> the next one
    "resolution",  # created -> solved (reopening resumes it)
    "requester_wait",  # like resolution, but the customer also waits while we are on hold
    "agent_work",  # like resolution, counting only the time agents have the ball
    "group_ownership",  # a team's own target while it owns the ticket (a group SLA)
]
METRICS: tuple[Metric, ...] = (
    "first_response",
    "next_response",
    "periodic_update",
    "resolution",
    "requester_wait",
    "agent_work",
    "group_ownership",
)
# Solved and closed tickets run no clock; reopening one resumes its resolution clocks.
STOPPED_STATUSES = frozenset({"solved", "closed"})
# Which statuses stop which clock unless a policy says otherwise: waiting on the customer
# (pending) or on a third party (on_hold) is not the team's time.
DEFAULT_PAUSES: Mapping[Metric, frozenset[str]] = {
    "first_response": frozenset({"pending", "on_hold"}),
    "next_response": frozenset({"pending", "on_hold"}),
    "periodic_update": frozenset({"pending", "on_hold"}),
    "resolution": frozenset({"pending", "on_hold"}),
    "requester_wait": frozenset({"pending"}),
    "agent_work": frozenset({"pending", "on_hold"}),
    "group_ownership": frozenset({"pending", "on_hold"}),
}
CONDITION_FIELDS = frozenset({"priority", "channel", "inbox", "account_tier", "tags"})


class PolicyError(ValueError):
    """A policy that cannot be built; the message names the field."""


@dataclass(frozen=True, slots=True)
class SlaTarget:
    metric: Metric
    priority: str
    goal: timedelta
    business_hours: bool = True  # False: calendar time, whatever the policy's calendar

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise PolicyError(f"targets.metric: unknown metric {self.metric!r}")
        if self.goal <= timedelta(0):
            raise PolicyError("targets.minutes: a target needs a positive time")


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What policy conditions look at."""

    priority: str
    channel: str
    inbox: int | None = None
    account_tier: str | None = None
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SlaPolicy:
    """Targets per (metric, priority). `conditions` maps a field of TicketFacts to the
    values that match; a policy matches when every condition does (tags: any overlap).
    With `team_id` it is that team's group policy: its own promise while the team owns
    the ticket (the `group_ownership` metric), kept beside the customer's policy."""

    id: int
    targets: tuple[SlaTarget, ...]
    conditions: Mapping[str, frozenset[str]] = field(default_factory=dict)
    pauses: Mapping[Metric, frozenset[str]] = field(default_factory=lambda: DEFAULT_PAUSES)
    warning_fraction: float = 0.8  # a warning fires when this much of a target is used
    position: int = 0
    team_id: int | None = None  # a group policy's team; None: the customer's promise
    _by_key: dict[tuple[str, str], SlaTarget] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = set(self.conditions) - CONDITION_FIELDS
        if unknown:
            raise PolicyError(f"conditions.{sorted(unknown)[0]}: unknown condition")
        if not 0 < self.warning_fraction < 1:
            raise PolicyError("warning_fraction: must be between 0 and 1")
        by_key: dict[tuple[str, str], SlaTarget] = {}
        for target in self.targets:
            key = (target.metric, target.priority)
            if key in by_key:
                raise PolicyError(f"targets: {target.metric} for {target.priority} twice")
            by_key[key] = target
        object.__setattr__(self, "_by_key", by_key)

    def target(self, metric: Metric, priority: str) -> SlaTarget | None:
        return self._by_key.get((metric, priority))

    def pauses_for(self, metric: Metric) -> frozenset[str]:
        return self.pauses.get(metric, DEFAULT_PAUSES[metric])

    def matches(self, facts: TicketFacts) -> bool:
        for name, allowed in self.conditions.items():
            if name == "tags":
                if not facts.tags & allowed:
                    return False
                continue
            value = getattr(facts, name)
            if value is None or str(value) not in allowed:
                return False
        return True


def select_policy(
    policies: Iterable[SlaPolicy], facts: TicketFacts, *, team_id: int | None = None
) -> SlaPolicy | None:
    """The first policy in `position` order (then id) whose conditions all match: among
    the customer policies, or with `team_id` among that team's group policies."""
    for policy in sorted(policies, key=lambda p: (p.position, p.id)):
        if policy.team_id == team_id and policy.matches(facts):
            return policy
    return None
