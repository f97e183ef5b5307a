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

from routing.core.eligibility import TierPlan, rejections, tier_plans
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
    team: tuple[Book, ...]  # primary members, or everyone for a queue without a team
    overflow: tuple[Book, ...]  # secondary members and overflow teams, not in `team`
    team_ids: frozenset[int]
    overflow_ids: frozenset[int]


def _pools(queue: Queue, books: Sequence[Book]) -> _Pools:
    if queue.team_id is None:
        return _Pools(tuple(books), (), frozenset(b.agent.id for b in books), frozenset())
    team = tuple(b for b in books if queue.team_id in b.agent.primary_teams)
    members = {b.agent.id for b in team}
    overflow_teams = set(queue.overflow_team_ids)
    overflow = tuple(
        b
        for b in books
        if b.agent.id not in members
        and (queue.team_id in b.agent.secondary_teams or b.agent.primary_teams & overflow_teams)
    )
    return _Pools(team, overflow, frozenset(members), frozenset(b.agent.id for b in overflow))


def route(state: RoutingState, now: datetime) -> tuple[Decision, ...]:
    """One decision per queued ticket, in the order they were decided."""
    rules = state.rules
    books = [Book.open(agent, rules) for agent in sorted(state.agents, key=lambda a: a.id)]
    by_id = {book.agent.id: book for book in books}
    queues = {queue.id: (position, queue) for position, queue in enumerate(state.queues)}
    pools = {queue.id: _pools(queue, books) for queue in state.queues}

    decisions = []
    unknown = [t for t in state.tickets if t.queue_id not in queues]
    known = sorted(
        (t for t in state.tickets if t.queue_id in queues),
        key=lambda t: (queues[t.queue_id][0], order_key(queues[t.queue_id][1], t, rules)),
    )
    for step, ticket in enumerate(known, start=1):
        queue = queues[ticket.queue_id][1]
        decisions.append(_decide(state, queue, pools[queue.id], by_id, ticket, now, step))
    for ticket in sorted(unknown, key=lambda t: t.id):
        explanation = Explanation(
            ticket.id, ticket.queue_id, now, "", (), None, f"queue {ticket.queue_id} is unknown"
        )
        decisions.append(Decision(ticket.id, ticket.queue_id, "wait", None, None, explanation))
    return tuple(decisions)


def _decide(
    state: RoutingState,
    queue: Queue,
    pools: _Pools,
    books: dict[int, Book],
    ticket: QueuedTicket,
    now: datetime,
    step: int,
) -> Decision:
    rules = state.rules
    plans = tier_plans(queue, ticket, now)
    tiers: list[Tier] = []
    winner: Book | None = None
    reason = ""

    sticky = books.get(ticket.last_agent_id) if queue.sticky and ticket.last_agent_id else None
    if sticky is not None and _in_reach(sticky, pools, plans):
        found = rejections(sticky, ticket, ticket.required_skills, queue.team_id, now, rules)
        tiers.append(
            Tier("sticky", _skills(ticket.required_skills), (Candidate(sticky.agent.id, found),))
        )
        if not found:
            winner, reason = sticky, f"agent {sticky.agent.id} had this ticket or contact last"

    for plan in plans if winner is None else ():
        pool = pools.overflow if plan.overflow_pool else pools.team
        candidates = []
        best: tuple[tuple[float, ...], Book] | None = None
        for book in pool:
            found = rejections(book, ticket, plan.needs, queue.team_id, now, rules)
            if found:
                candidates.append(Candidate(book.agent.id, found))
                continue
            points = score(queue.strategy, book, ticket, now)
            candidates.append(Candidate(book.agent.id, (), points))
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
    explanation = Explanation(
        ticket.id, queue.id, now, queue.strategy, tuple(tiers), winner.agent.id, reason
    )
    if queue.offer_timeout is None:
        return Decision(ticket.id, queue.id, "assign", winner.agent.id, None, explanation)
    expires = now + queue.offer_timeout
    return Decision(ticket.id, queue.id, "offer", winner.agent.id, expires, explanation)


def _in_reach(book: Book, pools: _Pools, plans: list[TierPlan]) -> bool:
    if book.agent.id in pools.team_ids:
        return True
    return any(plan.overflow_pool for plan in plans) and book.agent.id in pools.overflow_ids


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
        text += f", tied with {tied - 1} other(s) and idle longest"
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
