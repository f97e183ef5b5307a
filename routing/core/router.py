"""A routing round: every queued ticket, most urgent first, to the best agent with room.

The round is greedy in urgency order, which is what makes its promises hold: queues in
precedence order and each queue's tickets in its own order (`ordering.order_key`); each
ticket takes the best eligible agent at that moment, and the agent's load is updated
before the next ticket. So nobody is filled past capacity by routing, and a less urgent
ticket can only take an agent that could not have taken every more urgent one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from routing.core.eligibility import Screen, TierPlan, tier_plans
from routing.core.explain import Candidate, Explanation, Rejection, Tier
from routing.core.load import Book
from routing.core.model import Queue, QueuedTicket, RoutingState, SkillNeed
from routing.core.ordering import order_key
from routing.core.strategies import score, tie_break


@dataclass(frozen=True, slots=True)
class Decision:
    ticket_id: int
    queue_id: int
    action: Literal["assign", "offer", "wait"]
    agent_id: int | None
    offer_expires_at: datetime | None
    explanation: Explanation


@dataclass(frozen=True, slots=True)
class _Pools:
    team: tuple[int, ...]  # primary members, or everyone for a queue without a team
    overflow: tuple[int, ...]  # secondary members and overflow teams, not in `team`
    team_ids: frozenset[int]
    overflow_ids: frozenset[int]


class _Round:
    """The state of one round: agents' books and queues' pools, each made when first
    needed, so deciding one new ticket costs its pools, not the whole helpdesk."""

    def __init__(self, state: RoutingState, now: datetime) -> None:
        self.rules = state.rules
        self.now = now
        self.agents = {agent.id: agent for agent in state.agents}
        self.ordered_ids = sorted(self.agents)
        self.screen = Screen(state.rules, now)
        self._books: dict[int, Book] = {}
        self._pools: dict[int, _Pools] = {}

    def book(self, agent_id: int) -> Book:
        book = self._books.get(agent_id)
        if book is None:
            book = self._books[agent_id] = Book.open(self.agents[agent_id], self.rules)
        return book

    def pools(self, queue: Queue) -> _Pools:
        pools = self._pools.get(queue.id)
        if pools is None:
            pools = self._pools[queue.id] = self._make_pools(queue)
        return pools

    def _make_pools(self, queue: Queue) -> _Pools:
        ids = self.ordered_ids
        if queue.team_id is None:
            return _Pools(tuple(ids), (), frozenset(ids), frozenset())
        team = tuple(i for i in ids if queue.team_id in self.agents[i].primary_teams)
        members = frozenset(team)
        spill = set(queue.overflow_team_ids)
        overflow = tuple(
            i
            for i in ids
            if i not in members
            and (
                queue.team_id in self.agents[i].secondary_teams
                or self.agents[i].primary_teams & spill
            )
        )
        return _Pools(team, overflow, members, frozenset(overflow))


def route(state: RoutingState, now: datetime) -> tuple[Decision, ...]:
    """One decision per queued ticket, in the order they were decided."""
    rules = state.rules
    queues = {queue.id: (position, queue) for position, queue in enumerate(state.queues)}
    here = _Round(state, now)
    decisions = []
    unknown = [t for t in state.tickets if t.queue_id not in queues]
    known = sorted(
        (t for t in state.tickets if t.queue_id in queues),
        key=lambda t: (queues[t.queue_id][0], order_key(queues[t.queue_id][1], t, rules)),
    )
    for step, ticket in enumerate(known, start=1):
        decisions.append(_decide(here, queues[ticket.queue_id][1], ticket, step))
    for ticket in sorted(unknown, key=lambda t: t.id):
        explanation = Explanation(
            ticket.id, ticket.queue_id, now, "", (), None, f"queue {ticket.queue_id} is unknown"
        )
        decisions.append(Decision(ticket.id, ticket.queue_id, "wait", None, None, explanation))
    return tuple(decisions)


def _decide(here: _Round, queue: Queue, ticket: QueuedTicket, step: int) -> Decision:
    now, screen, pools = here.now, here.screen, here.pools(queue)
    plans = tier_plans(queue, ticket, now)
    tiers: list[Tier] = []
    winner: Book | None = None
    reason = ""

    last = ticket.last_agent_id
    if queue.sticky and last is not None and last in here.agents and _in_reach(last, pools, plans):
        sticky = here.book(last)
        found = screen.rejections(sticky, ticket, ticket.required_skills, queue.team_id)
        tiers.append(Tier("sticky", _skills(ticket.required_skills), (Candidate(last, found),)))
        if not found:
            winner, reason = sticky, f"agent {last} had this ticket or contact last"

    for plan in plans if winner is None else ():
        candidates = []
        best: tuple[tuple[float, ...], Book] | None = None
        for agent_id in pools.overflow if plan.overflow_pool else pools.team:
            book = here.book(agent_id)
            found = screen.rejections(book, ticket, plan.needs, queue.team_id)
            if found:
                candidates.append(Candidate(agent_id, found))
                continue
            points = score(queue.strategy, book, ticket, now)
            candidates.append(Candidate(agent_id, (), points))
            key = points + tie_break(book, now)
            if best is None or key > best[0]:
                best = (key, book)
        tiers.append(Tier(plan.name, _skills(plan.needs), tuple(candidates)))
        if best is not None:
            winner = best[1]
            reason = _why_won(queue, winner, tiers[-1], plan)
            break

    if winner is None:
        explanation = Explanation(
            ticket.id, queue.id, now, queue.strategy, tuple(tiers), None, _why_waits(tiers)
        )
        return Decision(ticket.id, queue.id, "wait", None, None, explanation)

    winner.take(ticket, queue.team_id, now, step)
    screen.taken(winner)
    explanation = Explanation(
        ticket.id, queue.id, now, queue.strategy, tuple(tiers), winner.agent.id, reason
    )
    if queue.offer_timeout is None:
        return Decision(ticket.id, queue.id, "assign", winner.agent.id, None, explanation)
    expires = now + queue.offer_timeout
    return Decision(ticket.id, queue.id, "offer", winner.agent.id, expires, explanation)


def _in_reach(agent_id: int, pools: _Pools, plans: list[TierPlan]) -> bool:
    if agent_id in pools.team_ids:
        return True
    return any(plan.overflow_pool for plan in plans) and agent_id in pools.overflow_ids


def _skills(needs: Sequence[SkillNeed]) -> tuple[tuple[int, int], ...]:
    return tuple((n.skill_id, n.min_level) for n in needs)


def _why_won(queue: Queue, winner: Book, tier: Tier, plan: TierPlan) -> str:
    eligible = [c for c in tier.candidates if c.eligible]
    top = max(c.score or () for c in eligible)
    tied = sum(1 for c in eligible if c.score == top)
    where = {
        "preferred": "",
        "optional_dropped": " once the optional skills were dropped",
        "overflow": " from the overflow pool",
        "sticky": "",
    }[plan.name]
    what = {
        "most_spare": "the most spare capacity",
        "highest_spare_ratio": "the highest share of spare capacity",
        "round_robin": "the longest time since an assignment on this channel",
        "best_skill_match": "the best skill match",
    }[queue.strategy]
    text = f"agent {winner.agent.id} of {len(eligible)} eligible{where} had {what}"
    if tied > 1:
        text += (
            f", tied with {tied - 1} other(s) and won the tie-break (idle longest, then lowest id)"
        )
    return text


def _why_waits(tiers: list[Tier]) -> str:
    """The first reason each agent considered was turned down, counted."""
    first: dict[int, Rejection] = {}
    for tier in tiers:
        for candidate in tier.candidates:
            first.setdefault(candidate.agent_id, candidate.rejections[0])
    if not first:
        return "waits: no agent in the queue's team"
    counted = Counter(r.code for r in first.values())
    parts = ", ".join(f"{n} {code.replace('_', ' ')}" for code, n in sorted(counted.items()))
    return f"waits: none of {len(first)} agents can take it ({parts})"
