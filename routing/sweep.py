"""The sweep: what falls due with time rather than with a change. Offers past their
expiry time out; agents whose last socket closed longer than the grace period ago go
offline; agents idle past the idle timeout turn away on the channels they were online
on; the live chats of agents offline on chat past the grace period go back to the queue
(email stays with them until a supervisor rebalances); then a full round routes whatever
can be routed."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.service import choose_presence, expire_disconnected, lock_agent
from app.routing.models import RoutingDecision
from app.tickets.lifecycle import change_ticket
from app.tickets.models import Ticket
from routing.answers import expire_offers
from routing.core.presence import Requeue, idle_presence_changes, tickets_to_requeue
from routing.driver import RoundResult, RoutingDriver, next_offer_expiry
from routing.hooks import ROUTING_ACTOR
from routing.state import load_agents, load_rules


@dataclass
class SweepOutcome:
    expired: int = 0
    turned_away: int = 0
    gone_offline: int = 0
    requeued: int = 0
    round: RoundResult = field(default_factory=RoundResult)
    next_due_at: datetime | None = None  # the soonest offer expiry or grace end


async def sweep(driver: RoutingDriver) -> SweepOutcome:
    outcome = SweepOutcome()
    now = driver.clock()
    async with driver.sessionmaker() as session, session.begin():
        outcome.expired = len(await expire_offers(session, now=now))
    async with driver.sessionmaker() as session, session.begin():
        rules = await load_rules(session)
        gone, grace_ends = await expire_disconnected(session, now=now, grace=rules.offline_grace)
        outcome.gone_offline = len(gone)
    async with driver.sessionmaker() as session, session.begin():
        agents = await load_agents(session, rules)
        # Away on the channels they were online on; the others keep their own choice.
        idle: dict[int, dict[str, str]] = defaultdict(dict)
        for change in idle_presence_changes(agents, now, rules):
            idle[change.agent_id][change.channel] = change.status
        for agent_id, channels in sorted(idle.items()):
            if await lock_agent(session, agent_id):
                await choose_presence(
                    session, agent_id=agent_id, channels=channels, now=now, by_agent=False
                )
        outcome.turned_away = len(idle)
        reassignment = tickets_to_requeue(agents, now, rules)
    for requeue in reassignment.requeue:
        async with driver.sessionmaker() as session, session.begin():
            outcome.requeued += await requeue_ticket(session, requeue, now=now)
    outcome.round = await driver.route()
    async with driver.sessionmaker() as session:
        expiry = await next_offer_expiry(session)
    due = [d for d in (expiry, reassignment.next_check_at, grace_ends) if d is not None]
    outcome.next_due_at = min(due, default=None)
    return outcome


async def requeue_ticket(session: AsyncSession, requeue: Requeue, *, now: datetime) -> int:
    """Back to the queue, if the agent still holds it and nobody else has it locked."""
    ticket = await session.scalar(
        select(Ticket)
        .where(Ticket.id == requeue.ticket_id, Ticket.assignee_id == requeue.agent_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if ticket is None:
        return 0
    # The lifecycle hook makes it eligible from now, remembers the agent and wakes routing.
    await change_ticket(
        session,
        ticket,
        {"assignee_id": None},
        actor=ROUTING_ACTOR,
        now=now,
        extra={"routing": {"by": "routing", "reason": requeue.reason}},
    )
    session.add(
        RoutingDecision(
            ticket_id=ticket.id,
            decided_at=now,
            action="requeue",
            agent_id=requeue.agent_id,
            reason=f"agent {requeue.agent_id} was offline past the grace period; "
            "the chat went back to the queue",
            explanation={"agent_id": requeue.agent_id, "channel": requeue.channel},
        )
    )
    return 1
