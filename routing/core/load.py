"""Load accounting: what an agent holds against their capacity and limits.

Which tickets count is a rule (by default `new` and `open`; `pending` and `on_hold` free
the place; idle chats count unless the rules say not). A manual assignment may push an
agent past capacity: routing then offers them nothing until the load falls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from routing.core.model import Agent, ChannelSlots, HeldTicket, QueuedTicket, RoutingRules


def counts(held: HeldTicket, rules: RoutingRules) -> bool:
    """Whether a held ticket uses capacity."""
    if held.offered:
        return True
    if held.status not in rules.counted_statuses:
        return False
    return not (held.idle and held.channel in rules.live_channels and not rules.count_idle_chats)


@dataclass(frozen=True, slots=True)
class Room:
    """Spare and total capacity of an agent for one channel, in tickets or units; `need`
    is what one more ticket of that channel uses. `spare` is negative when a manual
    assignment overfilled the agent."""

    spare: int
    total: int
    need: int
    unit: Literal["tickets", "units"]

    @property
    def fits(self) -> bool:
        return self.total > 0 and self.spare >= self.need

    @property
    def spare_ratio(self) -> float:
        return self.spare / self.total if self.total else 0.0


@dataclass(slots=True, eq=False)
class Book:
    """One agent's load during a round: built from what they hold, then kept current as
    the round assigns them tickets (the round's only mutable state)."""

    agent: Agent
    by_channel: dict[str, int] = field(default_factory=dict)
    units: int = 0
    by_team: dict[int, int] = field(default_factory=dict)
    by_inbox: dict[int, int] = field(default_factory=dict)
    last_assigned: dict[str, datetime] = field(default_factory=dict)
    # Assignments of one round share its instant; this orders them (later is larger).
    taken_at_step: int = 0

    @classmethod
    def open(cls, agent: Agent, rules: RoutingRules) -> Book:
        book = cls(agent, last_assigned=dict(agent.last_assigned_at))
        for held in agent.held:
            if counts(held, rules):
                book._add(held.channel, held.team_id, held.inbox_id)
        return book

    def _add(self, channel: str, team_id: int | None, inbox_id: int | None) -> None:
        self.by_channel[channel] = self.by_channel.get(channel, 0) + 1
        capacity = self.agent.capacity
        if not isinstance(capacity, ChannelSlots):
            self.units += capacity.weights.get(channel, 0)
        if team_id is not None:
            self.by_team[team_id] = self.by_team.get(team_id, 0) + 1
        if inbox_id is not None:
            self.by_inbox[inbox_id] = self.by_inbox.get(inbox_id, 0) + 1

    def take(self, ticket: QueuedTicket, team_id: int | None, now: datetime, step: int) -> None:
        self._add(ticket.channel, team_id, ticket.inbox_id)
        self.last_assigned[ticket.channel] = now
        self.taken_at_step = step

    def room(self, channel: str) -> Room:
        capacity = self.agent.capacity
        if isinstance(capacity, ChannelSlots):
            total = capacity.limits.get(channel, 0)
            return Room(total - self.by_channel.get(channel, 0), total, 1, "tickets")
        need = capacity.weights.get(channel, 0)
        total = capacity.total if need > 0 else 0
        return Room(capacity.total - self.units, total, need, "units")

    def last_assignment(self) -> datetime | None:
        return max(self.last_assigned.values(), default=None)
