"""Presence per channel and what follows from it: idle agents turn away, and an agent who
stays offline past the grace period gives their live chats back to the queue (email and
other asynchronous tickets stay with them until a supervisor rebalances)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from routing.core.load import counts
from routing.core.model import Agent, PresenceStatus, RoutingRules


def effective_presence(
    agent: Agent, channel: str, now: datetime, rules: RoutingRules
) -> PresenceStatus:
    presence = agent.presence.get(channel)
    if presence is None:
        return "offline"
    if (
        presence.status == "online"
        and rules.idle_timeout is not None
        and presence.last_activity_at is not None
        and now - presence.last_activity_at >= rules.idle_timeout
    ):
        return "away"
    return presence.status


@dataclass(frozen=True, slots=True)
class PresenceChange:
    agent_id: int
    channel: str
    status: PresenceStatus
    reason: str


def idle_presence_changes(
    agents: Iterable[Agent], now: datetime, rules: RoutingRules
) -> list[PresenceChange]:
    """Online agents whose idle timeout has passed: the driver stores them as away."""
    return [
        PresenceChange(agent.id, channel, "away", "idle timeout")
        for agent in agents
        for channel, presence in sorted(agent.presence.items())
        if presence.status == "online" and effective_presence(agent, channel, now, rules) == "away"
    ]


@dataclass(frozen=True, slots=True)
class Requeue:
    ticket_id: int
    agent_id: int
    channel: str
    reason: str


@dataclass(frozen=True, slots=True)
class Reassignment:
    requeue: tuple[Requeue, ...]
    next_check_at: datetime | None  # the soonest grace period still running


def tickets_to_requeue(agents: Iterable[Agent], now: datetime, rules: RoutingRules) -> Reassignment:
    """Live chats of agents offline on that channel for at least the grace period."""
    requeue = []
    pending: list[datetime] = []
    for agent in agents:
        for held in agent.held:
            if held.channel not in rules.live_channels or not counts(held, rules):
                continue
            presence = agent.presence.get(held.channel)
            if presence is not None and presence.status != "offline":
                continue
            ends = None if presence is None else presence.since + rules.offline_grace
            if ends is None or ends <= now:
                requeue.append(
                    Requeue(held.ticket_id, agent.id, held.channel, "agent offline past grace")
                )
            else:
                pending.append(ends)
    return Reassignment(tuple(requeue), min(pending, default=None))
