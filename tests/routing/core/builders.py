"""Small builders for routing states, so each test names only what it is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from routing.core.model import (
    Agent,
    ChannelPresence,
    ChannelSlots,
    Queue,
    QueuedTicket,
    RoutingRules,
    RoutingState,
)
from routing.core.router import Decision, route

NOW = datetime(2026, 3, 9, 10, tzinfo=UTC)
TEAM = 1


def online(
    *channels: str, since: datetime = NOW - timedelta(hours=1)
) -> dict[str, ChannelPresence]:
    return {c: ChannelPresence("online", since, last_activity_at=NOW) for c in channels}


def agent(id: int, **kwargs: Any) -> Agent:
    kwargs.setdefault("capacity", ChannelSlots({"chat": 3, "email": 10}))
    kwargs.setdefault("primary_teams", frozenset({TEAM}))
    kwargs.setdefault("presence", online("chat", "email"))
    return Agent(id, **kwargs)


def ticket(id: int, **kwargs: Any) -> QueuedTicket:
    kwargs.setdefault("queue_id", TEAM)
    kwargs.setdefault("channel", "chat")
    kwargs.setdefault("priority", "normal")
    kwargs.setdefault("eligible_since", NOW - timedelta(minutes=1))
    return QueuedTicket(id, **kwargs)


def queue(**kwargs: Any) -> Queue:
    kwargs.setdefault("id", TEAM)
    kwargs.setdefault("team_id", TEAM)
    return Queue(**kwargs)


def run(
    agents: list[Agent],
    tickets: list[QueuedTicket],
    queues: list[Queue] | None = None,
    rules: RoutingRules | None = None,
    now: datetime = NOW,
) -> dict[int, Decision]:
    state = RoutingState(tuple(agents), tuple(queues or [queue()]), tuple(tickets),
                         rules or RoutingRules())  # fmt: skip
    return {d.ticket_id: d for d in route(state, now)}


def winners(decisions: dict[int, Decision]) -> dict[int, int | None]:
    return {ticket_id: d.agent_id for ticket_id, d in decisions.items()}
