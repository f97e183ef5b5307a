"""Applying the core's decisions: the one place routing writes tickets.

Each batch is one transaction. It locks the agents it hands work to (FOR NO KEY UPDATE,
in id order, so two drivers queue up behind each other rather than deadlock; it does not
block inserts that reference the agent) and recounts their load from what is committed,
so two drivers working from the same snapshot cannot fill an agent past capacity. Then it
locks the tickets with FOR UPDATE SKIP LOCKED, rechecking that each still waits: a ticket
another driver (or a person) holds or has already assigned is skipped, never assigned
twice. The batch's assignments go through the lifecycle together (`assign_tickets`: each
ticket's event, outbox row and hooks, in a few statements for the batch); every decision
is recorded with its explanation, in one INSERT.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent as AgentRow
from app.outbox.service import emit
from app.routing.events import ROUTING_OFFER
from app.routing.models import AgentChannelRouting, RoutingDecision, RoutingOffer, TicketRouting
from app.tickets.lifecycle import Assignment, assign_tickets
from app.tickets.models import Ticket
from routing.core.eligibility import Screen
from routing.core.load import Book
from routing.core.model import QueuedTicket, RoutingRules
from routing.core.router import Decision
from routing.hooks import APPLYING, ROUTING_ACTOR
from routing.state import Queues, load_agents, waiting_tickets


@dataclass
class Applied:
    assigned: list[tuple[int, int]] = field(default_factory=list)  # (ticket, agent)
    offered: list[tuple[int, int]] = field(default_factory=list)
    lost: int = 0  # decisions a recheck refused: taken meanwhile, or the agent filled up


def decision_values(decision: Decision, action: str | None = None) -> dict[str, Any]:
    """The `routing_decisions` row of a decision."""
    explanation = decision.explanation
    return {
        "ticket_id": decision.ticket_id,
        "decided_at": explanation.decided_at,
        "action": action or decision.action,
        "agent_id": decision.agent_id,
        "reason": explanation.reason,
        "explanation": explanation.to_dict(),
    }


def decision_row(decision: Decision, action: str | None = None) -> RoutingDecision:
    return RoutingDecision(**decision_values(decision, action))


async def lock_agents(session: AsyncSession, agent_ids: Sequence[int]) -> None:
    await session.execute(
        select(AgentRow.id)
        .where(AgentRow.id.in_(sorted(agent_ids)))
        .order_by(AgentRow.id)
        .with_for_update(key_share=True)
    )


async def lock_waiting(session: AsyncSession, ticket_ids: Sequence[int]) -> dict[int, Ticket]:
    """The tickets of `ticket_ids` that still wait and nobody else holds, locked."""
    ids = select(waiting_tickets().where(Ticket.id.in_(ticket_ids)).subquery().c.id)
    rows = await session.scalars(
        select(Ticket)
        .where(Ticket.id.in_(ids))
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return {t.id: t for t in rows}


async def apply_decisions(
    session: AsyncSession,
    decisions: Sequence[Decision],
    tickets: dict[int, QueuedTicket],
    *,
    queues: Queues,
    rules: RoutingRules,
    now: datetime,
) -> Applied:
    """Apply the `assign` and `offer` decisions of one batch; the caller commits."""
    applied = Applied()
    chosen = [d for d in decisions if d.agent_id is not None and d.action in ("assign", "offer")]
    if not chosen:
        return applied
    agent_ids = sorted({d.agent_id for d in chosen if d.agent_id is not None})
    await lock_agents(session, agent_ids)
    books = {a.id: Book.open(a, rules) for a in await load_agents(session, rules, ids=agent_ids)}
    screen = Screen(rules, now)
    locked = await lock_waiting(session, [d.ticket_id for d in chosen])
    session.info[APPLYING] = True
    assignments: list[Assignment] = []
    recorded: list[Decision] = []
    last_assigned: dict[tuple[int, str], datetime] = {}
    try:
        for step, decision in enumerate(chosen, start=1):
            assert decision.agent_id is not None
            ticket, book = locked.get(decision.ticket_id), books.get(decision.agent_id)
            queued = tickets[decision.ticket_id]
            queue = queues.get(decision.queue_id)
            team_id = queue.team_id if queue is not None else None
            if (
                ticket is None
                or book is None
                or screen.rejections(book, queued, queued.required_skills, team_id)
            ):
                applied.lost += 1
                continue
            book.take(queued, team_id, now, step)
            screen.taken(book)
            if decision.action == "assign":
                assignments.append(assignment(ticket, decision.agent_id, why=decision))
                applied.assigned.append((ticket.id, decision.agent_id))
                last_assigned[(decision.agent_id, ticket.channel)] = now
            else:
                await offer(session, ticket, decision, now=now)
                applied.offered.append((ticket.id, decision.agent_id))
            recorded.append(decision)
        await assign_many(session, assignments, now=now)
        await touch_agents(session, last_assigned)
        await record_decisions(session, recorded)
    finally:
        session.info.pop(APPLYING, None)
    return applied


def assignment(ticket: Ticket, agent_id: int, *, why: Decision | None) -> Assignment:
    routing: dict[str, Any] = {"by": "routing"}
    if why is not None:
        routing["reason"] = why.explanation.reason
    return Assignment(ticket, agent_id, {"routing": routing})


async def assign_many(
    session: AsyncSession, assignments: Sequence[Assignment], *, now: datetime
) -> None:
    """Assign through the lifecycle, in one batch; the caller holds the tickets' row locks.
    Each ticket's routing state remembers its agent (sticky routing)."""
    if not assignments:
        return
    await assign_tickets(session, assignments, actor=ROUTING_ACTOR, now=now)
    rows = [
        {"ticket_id": a.ticket.id, "eligible_since": now, "last_agent_id": a.agent_id}
        for a in assignments
    ]
    stmt = insert(TicketRouting)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["ticket_id"], set_={"last_agent_id": stmt.excluded.last_agent_id}
        ),
        rows,
    )


# The decisions of a batch in one statement of fixed text over one JSON document (prepared
# once per connection; an explanation names every candidate, so the rows are large and one
# `json.dumps` of them all costs less than one per row).
RECORD_DECISIONS = text(
    """
INSERT INTO routing_decisions (ticket_id, decided_at, action, agent_id, reason, explanation)
SELECT d.ticket_id, d.decided_at, d.action, d.agent_id, d.reason, d.explanation
FROM jsonb_to_recordset(CAST(:rows AS jsonb))
     AS d(ticket_id bigint, decided_at timestamptz, action varchar, agent_id bigint,
          reason text, explanation jsonb)
"""
)


async def record_decisions(session: AsyncSession, decisions: Sequence[Decision]) -> None:
    """Every decision with its explanation, in one multi-row INSERT."""
    if not decisions:
        return
    rows = [
        {**decision_values(d), "decided_at": d.explanation.decided_at.isoformat()}
        for d in decisions
    ]
    await session.execute(RECORD_DECISIONS, {"rows": json.dumps(rows, separators=(",", ":"))})


async def assign(
    session: AsyncSession, ticket: Ticket, agent_id: int, *, now: datetime, why: Decision | None
) -> None:
    """Assign one ticket through the lifecycle; the caller holds the ticket's row lock."""
    await assign_many(session, [assignment(ticket, agent_id, why=why)], now=now)


async def touch_agents(session: AsyncSession, last: dict[tuple[int, str], datetime]) -> None:
    if not last:
        return
    rows = [{"agent_id": a, "channel": c, "last_assigned_at": at} for (a, c), at in last.items()]
    stmt = insert(AgentChannelRouting)
    # Executed with the rows as parameters: one statement compiled once, sent multi-row.
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["agent_id", "channel"],
            set_={"last_assigned_at": stmt.excluded.last_assigned_at},
        ),
        rows,
    )


async def offer(
    session: AsyncSession, ticket: Ticket, decision: Decision, *, now: datetime
) -> None:
    """An offer over the agent's socket; the ticket waits for the answer (or the expiry)."""
    assert decision.agent_id is not None
    assert decision.offer_expires_at is not None
    row = RoutingOffer(
        ticket_id=ticket.id,
        agent_id=decision.agent_id,
        channel=ticket.channel,
        offered_at=now,
        expires_at=decision.offer_expires_at,
        status="pending",
    )
    session.add(row)
    await session.flush()
    emit(
        session,
        topic=ROUTING_OFFER,
        payload={
            "offer_id": row.id,
            "ticket_id": ticket.id,
            "agent_id": decision.agent_id,
            "subject": ticket.subject,
            "channel": ticket.channel,
            "priority": ticket.priority,
            "expires_at": row.expires_at.isoformat(),
            "reason": decision.explanation.reason,
        },
    )
