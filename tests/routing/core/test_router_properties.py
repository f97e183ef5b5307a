"""The router's promises over random helpdesks, checked against an independent oracle:
nobody is filled past capacity, nobody unqualified gets a ticket, a more urgent ticket is
never passed over for a less urgent one the same agent could take, and the same state
always gives the same decisions."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from hypothesis import event, given, settings
from hypothesis import strategies as st

from routing.core.model import (
    STRATEGIES,
    Agent,
    ChannelPresence,
    ChannelSlots,
    HeldTicket,
    Queue,
    QueuedTicket,
    RoutingRules,
    RoutingState,
    SkillNeed,
    WeightedUnits,
)
from routing.core.router import Decision, route
from tests.routing.core.builders import NOW

CHANNELS = ("chat", "email")
SKILLS = (1, 2, 3)
PRIORITIES = ("urgent", "high", "normal", "low")
moments = st.integers(0, 120).map(lambda m: NOW - timedelta(minutes=m))
recently = st.integers(0, 12).map(lambda m: NOW - timedelta(minutes=m))  # idle after 10


@st.composite
def agents(draw: st.DrawFn, agent_id: int) -> Agent:
    if draw(st.booleans()):
        capacity: ChannelSlots | WeightedUnits = ChannelSlots(
            {c: draw(st.sampled_from([0, 1, 2, 3, 3])) for c in CHANNELS}
        )
    else:
        weights = {c: draw(st.integers(1, 4)) for c in CHANNELS}
        capacity = WeightedUnits(draw(st.integers(0, 10)), weights)
    presence = {
        c: ChannelPresence(draw(st.sampled_from(["online"] * 4 + ["away", "offline"])),
                           draw(moments), last_activity_at=draw(recently))
        for c in CHANNELS
    }  # fmt: skip
    held = tuple(
        HeldTicket(
            1000 * agent_id + n, draw(st.sampled_from(CHANNELS)),
            draw(st.sampled_from(["new", "open", "pending", "on_hold", "solved"])),
            inbox_id=draw(st.sampled_from([None, 1, 2])),
            team_id=draw(st.sampled_from([None, 1, 2])),
            idle=draw(st.booleans()), offered=draw(st.integers(0, 3)) == 0,
        )
        for n in range(draw(st.integers(0, 3)))
    )  # fmt: skip
    return Agent(
        agent_id,
        capacity,
        skills=draw(st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5))),
        primary_teams=frozenset(draw(st.sets(st.sampled_from([1, 2])))),
        secondary_teams=frozenset(draw(st.sets(st.sampled_from([1, 2, 3])))),
        presence=presence,
        routing_paused=draw(st.integers(0, 5)) == 0,
        held=held,
        last_assigned_at=draw(st.dictionaries(st.sampled_from(CHANNELS), moments)),
    )


def needs(most: int) -> st.SearchStrategy[tuple[SkillNeed, ...]]:
    need = st.builds(SkillNeed, st.sampled_from(SKILLS), st.integers(1, 3))
    return st.lists(need, max_size=most, unique_by=lambda n: n.skill_id).map(tuple)


refusals = st.sampled_from(["declined", "timed_out"])
waits = st.one_of(st.none(), st.integers(0, 90).map(lambda m: timedelta(minutes=m)))


@st.composite
def states(draw: st.DrawFn) -> RoutingState:
    agent_ids = draw(st.lists(st.integers(1, 40), min_size=1, max_size=8, unique=True))
    queues = tuple(
        Queue(
            queue_id, team_id=draw(st.sampled_from([None, 1, 2])),
            order=draw(st.sampled_from(["sla_first", "priority_first"])),
            strategy=draw(st.sampled_from(STRATEGIES)), sticky=draw(st.booleans()),
            drop_optional_after=draw(waits), overflow_after=draw(waits),
            overflow_team_ids=tuple(draw(st.sets(st.sampled_from([1, 2, 3])))),
            offer_timeout=draw(st.sampled_from([None, timedelta(seconds=30)])),
        )
        for queue_id in draw(st.permutations([1, 2]))[: draw(st.integers(1, 2))]
    )  # fmt: skip
    tickets = tuple(
        QueuedTicket(
            ticket_id, draw(st.sampled_from([q.id for q in queues])),
            draw(st.sampled_from(CHANNELS)), draw(st.sampled_from(PRIORITIES)), draw(moments),
            inbox_id=draw(st.sampled_from([None, 1, 2])),
            required_skills=draw(needs(1)), optional_skills=draw(needs(2)),
            next_due_at=draw(st.one_of(st.none(), moments.map(lambda m: m + timedelta(hours=1)))),
            last_agent_id=draw(st.one_of(st.none(), st.sampled_from(agent_ids))),
            refused_by=draw(st.dictionaries(st.sampled_from(agent_ids), refusals, max_size=2)),
        )
        for ticket_id in range(1, draw(st.integers(0, 14)) + 1)
    )  # fmt: skip
    rules = RoutingRules(
        count_idle_chats=draw(st.booleans()),
        team_limits=draw(st.dictionaries(st.sampled_from([1, 2]), st.integers(0, 3))),
        inbox_limits=draw(st.dictionaries(st.sampled_from([1, 2]), st.integers(0, 3))),
    )
    return RoutingState(tuple(draw(agents(i)) for i in agent_ids), queues, tickets, rules)


# --- the oracle: the rules restated plainly, sharing no code with the router ---------


@dataclass
class Usage:
    channels: dict[str, int] = field(default_factory=dict)
    units: int = 0
    teams: dict[int, int] = field(default_factory=dict)
    inboxes: dict[int, int] = field(default_factory=dict)

    def add(self, agent: Agent, channel: str, team: int | None, inbox: int | None) -> None:
        self.channels[channel] = self.channels.get(channel, 0) + 1
        if isinstance(agent.capacity, WeightedUnits):
            self.units += agent.capacity.weights.get(channel, 0)
        if team is not None:
            self.teams[team] = self.teams.get(team, 0) + 1
        if inbox is not None:
            self.inboxes[inbox] = self.inboxes.get(inbox, 0) + 1


def starting_usage(agent: Agent, rules: RoutingRules) -> Usage:
    usage = Usage()
    for h in agent.held:
        idle_chat_free = h.idle and h.channel in rules.live_channels and not rules.count_idle_chats
        if h.offered or (h.status in rules.counted_statuses and not idle_chat_free):
            usage.add(agent, h.channel, h.team_id, h.inbox_id)
    return usage


def has_room(agent: Agent, channel: str, usage: Usage) -> bool:
    if isinstance(agent.capacity, ChannelSlots):
        return usage.channels.get(channel, 0) < agent.capacity.limits.get(channel, 0)
    weight = agent.capacity.weights.get(channel, 0)
    return weight > 0 and usage.units + weight <= agent.capacity.total


def qualifies(
    agent: Agent, ticket: QueuedTicket, queue: Queue, usage: Usage, rules: RoutingRules
) -> bool:
    presence = agent.presence.get(ticket.channel)
    idle = (
        presence is not None
        and presence.last_activity_at is not None
        and (
            NOW - presence.last_activity_at >= rules.idle_timeout  # type: ignore[operator]
        )
    )
    team_full = (
        queue.team_id in rules.team_limits
        and usage.teams.get(queue.team_id, 0) >= rules.team_limits[queue.team_id]
    )  # type: ignore[index]
    inbox_full = (
        ticket.inbox_id in rules.inbox_limits
        and usage.inboxes.get(ticket.inbox_id, 0) >= rules.inbox_limits[ticket.inbox_id]
    )  # type: ignore[index]
    if (
        agent.routing_paused or presence is None or presence.status != "online" or idle
        or agent.id in ticket.refused_by or not has_room(agent, ticket.channel, usage)
        or team_full or inbox_full
    ):  # fmt: skip
        return False

    def skilled(wanted: Sequence[SkillNeed]) -> bool:
        return all(agent.skills.get(n.skill_id, 0) >= n.min_level for n in wanted)

    in_team = queue.team_id is None or queue.team_id in agent.primary_teams
    in_overflow = not in_team and (
        queue.team_id in agent.secondary_teams
        or bool(agent.primary_teams & set(queue.overflow_team_ids))
    )
    waited = NOW - ticket.eligible_since
    overflowing = queue.overflow_after is not None and waited >= queue.overflow_after
    dropped = queue.drop_optional_after is not None and waited >= queue.drop_optional_after
    required, optional = ticket.required_skills, ticket.optional_skills
    sticky = queue.sticky and ticket.last_agent_id == agent.id
    return (
        (in_team and skilled(required + optional))
        or (in_team and dropped and skilled(required))
        or (in_overflow and overflowing and skilled(required))
        or (sticky and (in_team or (in_overflow and overflowing)) and skilled(required))
    )


def urgency(state: RoutingState, ticket: QueuedTicket) -> tuple[object, ...]:
    position, queue = next((i, q) for i, q in enumerate(state.queues) if q.id == ticket.queue_id)
    due = (0, ticket.next_due_at) if ticket.next_due_at else (1, NOW)
    rank = PRIORITIES.index(ticket.priority)
    if queue.order == "sla_first":
        return (position, *due, rank, ticket.eligible_since, ticket.id)
    return (position, rank, *due, ticket.eligible_since, ticket.id)


def replay(state: RoutingState, decisions: Sequence[Decision]) -> list[dict[int, Usage]]:
    """The agents' usage before each decision."""
    usage = {a.id: starting_usage(a, state.rules) for a in state.agents}
    agents = {a.id: a for a in state.agents}
    queues = {q.id: q for q in state.queues}
    tickets = {t.id: t for t in state.tickets}
    before = []
    for decision in decisions:
        before.append({k: replace(v, channels=dict(v.channels), teams=dict(v.teams),
                                  inboxes=dict(v.inboxes)) for k, v in usage.items()})  # fmt: skip
        if decision.agent_id is not None:
            t = tickets[decision.ticket_id]
            usage[decision.agent_id].add(
                agents[decision.agent_id], t.channel, queues[t.queue_id].team_id, t.inbox_id
            )
    return before


PROPERTY = settings(max_examples=150, deadline=None)


def assert_never_passed_over(state: RoutingState, decisions: Sequence[Decision]) -> None:
    """A waiting ticket is never more urgent than one given to an agent who could have
    taken it at that moment."""
    tickets = {t.id: t for t in state.tickets}
    queues = {q.id: q for q in state.queues}
    agents = {a.id: a for a in state.agents}
    keys = [urgency(state, tickets[d.ticket_id]) for d in decisions]
    assert keys == sorted(keys)  # decided most urgent first
    before = replay(state, decisions)
    for later, decision in enumerate(decisions):
        if decision.agent_id is None:
            continue
        agent = agents[decision.agent_id]
        for earlier in decisions[:later]:
            if earlier.agent_id is not None:
                continue
            waiting = tickets[earlier.ticket_id]
            usage = before[later][agent.id]
            assert not qualifies(agent, waiting, queues[waiting.queue_id], usage, state.rules), (
                f"ticket {waiting.id} waits while agent {agent.id} took {decision.ticket_id}"
            )


@PROPERTY
@given(states())
def test_routing_keeps_capacity_qualification_and_urgency(state: RoutingState) -> None:
    """Nobody unqualified gets a ticket, nobody is filled past capacity by routing, and a
    more urgent ticket is never passed over for a less urgent one."""
    decisions = route(state, NOW)
    for action in sorted({d.action for d in decisions}):
        event(f"some ticket: {action}")  # --hypothesis-show-statistics: the states are mixed
    assert sorted(d.ticket_id for d in decisions) == sorted(t.id for t in state.tickets)
    agents = {a.id: a for a in state.agents}
    queues = {q.id: q for q in state.queues}
    tickets = {t.id: t for t in state.tickets}
    before = replay(state, decisions)
    for decision, usage in zip(decisions, before, strict=True):
        if decision.agent_id is None:
            continue
        ticket, agent = tickets[decision.ticket_id], agents[decision.agent_id]
        assert qualifies(agent, ticket, queues[ticket.queue_id], usage[agent.id], state.rules), (
            decision.explanation
        )
    final = replay(state, [*decisions, decisions[-1]])[-1] if decisions else {}
    for agent_id, usage in final.items():
        agent = agents[agent_id]
        start = starting_usage(agent, state.rules)
        if isinstance(agent.capacity, WeightedUnits):
            assert usage.units == start.units or usage.units <= agent.capacity.total
        else:
            for channel, count in usage.channels.items():
                if count > start.channels.get(channel, 0):
                    assert count <= agent.capacity.limits.get(channel, 0)
    assert_never_passed_over(state, decisions)


@settings(max_examples=50, deadline=None)
@given(states(), st.randoms(use_true_random=False))
def test_the_same_state_gives_the_same_decisions_in_any_input_order(
    state: RoutingState, rng: random.Random
) -> None:
    shuffled = RoutingState(
        tuple(rng.sample(state.agents, len(state.agents))),
        state.queues,
        tuple(rng.sample(state.tickets, len(state.tickets))),
        state.rules,
    )
    assert route(shuffled, NOW) == route(state, NOW)
