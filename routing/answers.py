"""Offers answered: accepted, declined with a reason, or left to time out.

A decline or a timeout is recorded on the ticket's routing state (`refused`), so the next
round skips that agent, and may set the agent's presence (`RoutingRules`:
`presence_after_decline`, `presence_after_timeout`, e.g. away) on the offer's channel;
the ticket is routed again at once. An acceptance assigns through the lifecycle. Each is
a recorded decision.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.service import choose_presence, lock_agent
from app.errors import Conflict, NotFound
from app.outbox.service import emit
from app.routing.events import ROUTING_OFFER_ENDED, Answer
from app.routing.models import RoutingDecision, RoutingOffer, TicketRouting
from app.tickets.models import Ticket
from routing.apply import assign
from routing.core.model import RoutingRules
from routing.core.offers import Offer, OfferOutcome, OfferReply, settle_offer
from routing.hooks import APPLYING, set_routing
from routing.state import WAITING_STATUSES, load_rules
from routing.wakeup import wake


def _offer(row: RoutingOffer) -> Offer:
    return Offer(row.ticket_id, row.agent_id, row.channel, row.offered_at, row.expires_at)


async def answer_offer(
    session: AsyncSession,
    *,
    agent_id: int,
    offer_id: int,
    accept: bool,
    reason: str | None = None,
    now: datetime,
) -> Answer:
    """The agent's answer to their offer; the caller commits. An answer after the expiry
    is too late: the offer has timed out, and says so."""
    row = await session.scalar(
        select(RoutingOffer)
        .where(RoutingOffer.id == offer_id, RoutingOffer.agent_id == agent_id)
        .with_for_update()
    )
    if row is None:
        raise NotFound(f"offer {offer_id} does not exist")
    if row.status != "pending":
        raise Conflict(f"offer {offer_id} is already {row.status}", code="offer_answered")
    rules = await load_rules(session)
    outcome = settle_offer(_offer(row), OfferReply(now, accept, reason), now, rules)
    return await _settle(session, row, outcome, rules, now=now)


async def expire_offers(session: AsyncSession, *, now: datetime, limit: int = 500) -> list[Answer]:
    """Time out the offers past their expiry that no other driver is settling."""
    rows = (
        await session.scalars(
            select(RoutingOffer)
            .where(RoutingOffer.status == "pending", RoutingOffer.expires_at <= now)
            .order_by(RoutingOffer.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    if not rows:
        return []
    rules = await load_rules(session)
    return [
        await _settle(session, row, settle_offer(_offer(row), None, now, rules), rules, now=now)
        for row in rows
    ]


async def _settle(
    session: AsyncSession,
    row: RoutingOffer,
    outcome: OfferOutcome,
    rules: RoutingRules,
    *,
    now: datetime,
) -> Answer:
    result: str = outcome.result
    reason = outcome.reason
    if result == "pending":
        return Answer(row.id, row.ticket_id, result, None)
    ticket = await session.scalar(
        select(Ticket).where(Ticket.id == row.ticket_id).with_for_update()
    )
    if result == "accepted":
        still_waits = (
            ticket is not None
            and ticket.assignee_id is None
            and ticket.status in WAITING_STATUSES
            and ticket.merged_into_id is None
        )
        if not still_waits:  # someone assigned or closed it meanwhile
            result, reason = "withdrawn", "the ticket no longer waits"
        else:
            assert ticket is not None
            session.info[APPLYING] = True
            try:
                await assign(session, ticket, row.agent_id, now=now, why=None)
            finally:
                session.info.pop(APPLYING, None)
    row.status, row.reason, row.answered_at = result, reason, now
    if outcome.requeue:
        await _refused(session, row, result, now=now)
        await wake(session, f"ticket:{row.ticket_id}")
    if outcome.presence is not None and await lock_agent(session, row.agent_id):
        await choose_presence(  # on the offer's channel only: email may stay online
            session,
            agent_id=row.agent_id,
            channels={row.channel: outcome.presence},
            now=now,
            by_agent=False,
        )
    words = {
        "accepted": f"agent {row.agent_id} accepted the offer",
        "declined": f"agent {row.agent_id} declined the offer: {reason or 'no reason given'}",
        "timed_out": f"agent {row.agent_id} did not answer the offer in time",
        "withdrawn": f"the offer to agent {row.agent_id} was withdrawn: {reason}",
    }[result]
    session.add(
        RoutingDecision(
            ticket_id=row.ticket_id,
            decided_at=now,
            action=result,
            agent_id=row.agent_id,
            reason=words,
            explanation=outcome.to_dict() | {"result": result},
        )
    )
    emit(
        session,
        topic=ROUTING_OFFER_ENDED,
        payload={"offer_id": row.id, "ticket_id": row.ticket_id, "agent_id": row.agent_id,
                 "result": result, "reason": reason},
    )  # fmt: skip
    await session.flush()
    return Answer(row.id, row.ticket_id, result, reason)


async def _refused(session: AsyncSession, row: RoutingOffer, result: str, *, now: datetime) -> None:
    current = await session.scalar(
        select(TicketRouting.refused).where(TicketRouting.ticket_id == row.ticket_id)
    )
    refused = {**(current or {}), str(row.agent_id): result}
    await set_routing(session, row.ticket_id, start=now, refused=refused)
