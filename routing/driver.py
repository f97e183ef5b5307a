"""The routing driver: the only routing code that does I/O.

A round loads the routing model from PostgreSQL (`routing.state`), asks the pure core
(`routing.core.router.route`) for decisions and applies them in small transactions
(`routing.apply`: agents locked and their load recounted, tickets taken with
FOR UPDATE SKIP LOCKED, assignments through the lifecycle, every decision recorded).
Any number of drivers may run at once (one per worker); the locks keep them honest.

Two kinds of round:
- targeted (`route(ticket_ids=...)`: a new, reopened or requeued ticket) looks at every
  agent, so the recorded explanation names why each one was or was not chosen, and
  records a wait with its reason too;
- full (`route()`: capacity freed, an agent came online, the sweep) looks only at agents
  who could take something now, and feeds the core the waiting tickets most urgent first,
  a chunk at a time, until nobody has room: a helpdesk with 100,000 waiting tickets and
  no free agent costs one query, not 100,000 decisions.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import Clock
from app.db.engine import SessionMaker
from app.routing.models import RoutingDecision, RoutingOffer
from routing.apply import apply_decisions, record_decisions
from routing.core.load import Book
from routing.core.model import Agent, ChannelSlots, QueuedTicket, RoutingRules, RoutingState
from routing.core.ordering import order_key
from routing.core.presence import effective_presence
from routing.core.router import Decision, route
from routing.state import Queues, load_agents, load_queues, load_rules, load_waiting

log = logging.getLogger(__name__)

BATCH = 200  # decisions per transaction: short locks, few round trips
CHUNK = 2000  # waiting tickets handed to the core at once in a full round


@dataclass
class RoundResult:
    assigned: list[tuple[int, int]] = field(default_factory=list)
    offered: list[tuple[int, int]] = field(default_factory=list)
    waiting: int = 0
    lost: int = 0

    def add(self, other: RoundResult) -> None:
        self.assigned += other.assigned
        self.offered += other.offered
        self.waiting += other.waiting
        self.lost += other.lost


def channels_of(agent: Agent) -> list[str]:
    capacity = agent.capacity
    named = capacity.limits if isinstance(capacity, ChannelSlots) else capacity.weights
    return sorted(named)


def can_take_now(agent: Agent, rules: RoutingRules, now: datetime) -> set[str]:
    """The channels on which `agent` could be given a ticket right now."""
    if agent.routing_paused:
        return set()
    book = Book.open(agent, rules)
    return {
        channel
        for channel in channels_of(agent)
        if effective_presence(agent, channel, now, rules) == "online" and book.room(channel).fits
    }


def open_places(
    queues: Queues, agents: Sequence[Agent], rules: RoutingRules, now: datetime
) -> dict[int, dict[str, int]]:
    """Queue id -> channel -> how many more tickets the agents the queue could reach (its
    team's members, primary or secondary, and its overflow teams'; anyone for a queue
    without a team) could take now. An estimate from above (an agent in reach of two
    queues counts for both): it says where a chunk may stop, never who gets what."""
    free = []
    for agent in agents:
        book = Book.open(agent, rules)
        places = {}
        for channel in can_take_now(agent, rules, now):
            room = book.room(channel)
            places[channel] = max(1, room.spare // room.need) if room.need > 0 else 1
        free.append((agent, places))
    found: dict[int, dict[str, int]] = {}
    for queue in queues.queues:
        teams = {queue.team_id, *queue.overflow_team_ids}
        total: dict[str, int] = {}
        for agent, places in free:
            if (
                queue.team_id is None
                or queue.team_id in agent.secondary_teams
                or agent.primary_teams & teams
            ):
                for channel, n in places.items():
                    total[channel] = total.get(channel, 0) + n
        found[queue.id] = total
    return found


class RoutingDriver:
    def __init__(
        self, sessionmaker: SessionMaker, *, clock: Clock, batch: int = BATCH, chunk: int = CHUNK
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.batch = batch
        self.chunk = chunk

    async def route(self, *, ticket_ids: Collection[int] | None = None) -> RoundResult:
        now = self.clock()
        async with self.sessionmaker() as session:
            rules = await load_rules(session)
            queues = await load_queues(session)
            agents = await load_agents(session, rules)
            if ticket_ids is not None:
                tickets = await load_waiting(session, queues, ids=ticket_ids)
            else:
                agents = tuple(a for a in agents if can_take_now(a, rules, now))
                channels = {c for a in agents for c in can_take_now(a, rules, now)}
                tickets = await load_waiting(session, queues, channels=channels) if agents else ()
        if not tickets:
            return RoundResult()
        record_waits = ticket_ids is not None
        return await self._route(rules, queues, agents, tickets, now, record_waits=record_waits)

    async def next_offer_expiry(self) -> datetime | None:
        async with self.sessionmaker() as session:
            return await next_offer_expiry(session)

    async def _route(
        self,
        rules: RoutingRules,
        queues: Queues,
        agents: tuple[Agent, ...],
        tickets: Sequence[QueuedTicket],
        now: datetime,
        *,
        record_waits: bool,
    ) -> RoundResult:
        position = {q.id: i for i, q in enumerate(queues.queues)}
        ordered = sorted(
            tickets,
            key=lambda t: (position.get(t.queue_id, len(position)),
                           order_key(queues.get(t.queue_id) or queues.queues[-1], t, rules)),
        )  # fmt: skip
        result = RoundResult()
        # A full round decides only what someone could take now: a ticket whose queue has
        # nobody in reach with room on its channel waits undecided (its agents only fill up
        # as the round goes on), so a queue whose team is full costs a skip per ticket; and
        # a chunk ends where its queue's agents would be full, so few tickets are decided
        # only to wait.
        places = None if record_waits else open_places(queues, agents, rules, now)
        at = 0
        while at < len(ordered):
            if not agents and not record_waits:  # nobody can take anything: they all wait
                result.waiting += len(ordered) - at
                break
            if places is None:
                chunk = list(ordered[at : at + self.chunk])
                at += len(chunk)
            else:
                chunk = []
                budget = {q: dict(by_channel) for q, by_channel in places.items()}
                while at < len(ordered) and len(chunk) < self.chunk:
                    ticket = ordered[at]
                    left = budget.get(ticket.queue_id, {})
                    if not places.get(ticket.queue_id, {}).get(ticket.channel):
                        result.waiting += 1
                    elif left[ticket.channel] == 0:
                        break  # its queue's agents are full for now: decide these first
                    else:
                        left[ticket.channel] -= 1
                        chunk.append(ticket)
                    at += 1
                if not chunk:
                    break
            state = RoutingState(agents, queues.queues, tuple(chunk), rules)
            decisions = route(state, now)
            done = await self._apply(decisions, {t.id: t for t in chunk}, queues, rules, now)
            done.waiting = sum(1 for d in decisions if d.action == "wait")
            if record_waits:
                await self._record_waits([d for d in decisions if d.action == "wait"])
            result.add(done)
            touched = {a for _, a in done.assigned + done.offered}
            if touched and at < len(ordered):
                agents = await self._refresh(agents, touched, rules, now)
                if places is not None:  # the agents filled up drop out of the round
                    agents = tuple(a for a in agents if can_take_now(a, rules, now))
                    places = open_places(queues, agents, rules, now)
        return result

    async def _apply(
        self,
        decisions: Sequence[Decision],
        tickets: dict[int, QueuedTicket],
        queues: Queues,
        rules: RoutingRules,
        now: datetime,
    ) -> RoundResult:
        result = RoundResult()
        chosen = [d for d in decisions if d.action != "wait"]
        for start in range(0, len(chosen), self.batch):
            async with self.sessionmaker() as session, session.begin():
                applied = await apply_decisions(
                    session,
                    chosen[start : start + self.batch],
                    tickets,
                    queues=queues,
                    rules=rules,
                    now=now,
                )
            result.assigned += applied.assigned
            result.offered += applied.offered
            result.lost += applied.lost
        return result

    async def _refresh(
        self, agents: tuple[Agent, ...], touched: set[int], rules: RoutingRules, now: datetime
    ) -> tuple[Agent, ...]:
        """The agents of the round with the ones given work reloaded; the full drop out."""
        async with self.sessionmaker() as session:
            fresh = {a.id: a for a in await load_agents(session, rules, ids=touched)}
        kept = (fresh.get(a.id, a) if a.id in touched else a for a in agents)
        return tuple(a for a in kept if a.id in fresh or a.id not in touched)

    async def _record_waits(self, waits: Sequence[Decision]) -> None:
        """A wait is recorded when its reason is news for that ticket (a ticket that keeps
        waiting for the same reason does not grow its history at every round)."""
        if not waits:
            return
        async with self.sessionmaker() as session, session.begin():
            last = await _last_reasons(session, [d.ticket_id for d in waits])
            news = [d for d in waits if last.get(d.ticket_id) != ("wait", d.explanation.reason)]
            await record_decisions(session, news)


async def _last_reasons(session: AsyncSession, ticket_ids: list[int]) -> dict[int, tuple[str, str]]:
    newest = (
        select(func.max(RoutingDecision.id))
        .where(RoutingDecision.ticket_id.in_(ticket_ids))
        .group_by(RoutingDecision.ticket_id)
    )
    rows = await session.execute(
        select(RoutingDecision.ticket_id, RoutingDecision.action, RoutingDecision.reason).where(
            RoutingDecision.id.in_(newest)
        )
    )
    return {t: (a, r) for t, a, r in rows}


async def next_offer_expiry(session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(func.min(RoutingOffer.expires_at)).where(RoutingOffer.status == "pending")
    )
