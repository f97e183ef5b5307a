"""Agents and tickets for the driver's tests, written the way the app writes them."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent, AgentSkill
from app.routing.models import RoutingDecision
from app.tickets.events import SYSTEM
from app.tickets.lifecycle import NewMessage, NewTicket, open_ticket
from app.tickets.models import Ticket
from tests.factories.agents import make_agent
from tests.factories.contacts import make_contact

_counter = itertools.count(1)


async def staff(
    session: AsyncSession,
    *,
    now: datetime,
    capacity: Mapping[str, int] | None = None,
    skills: Mapping[int, int] | None = None,
    team_ids: list[int] | None = None,
    presence: str = "online",
    role: str = "agent",
) -> Agent:
    """An active agent, online since `now`, with capacity and skills."""
    agent = await make_agent(session, role=role, team_ids=team_ids, password=None)
    agent.capacity = dict(capacity or {"email": 10, "chat": 3})
    agent.presence = presence
    agent.presence_since = now
    agent.last_activity_at = now
    for skill_id, level in (skills or {}).items():
        session.add(AgentSkill(agent_id=agent.id, skill_id=skill_id, level=level))
    await session.flush()
    return agent


async def waiting_ticket(
    session: AsyncSession,
    *,
    now: datetime,
    channel: str = "email",
    priority: str = "normal",
    team_id: int | None = None,
    required: Sequence[tuple[int, int]] = (),
    subject: str | None = None,
    body: str = "Help, please",
    contact_id: int | None = None,
    account_id: int | None = None,
) -> Ticket:
    if contact_id is None:
        contact_id = (await make_contact(session)).id
    ticket, _ = await open_ticket(
        session,
        NewTicket(
            subject=subject or f"Request {next(_counter)}",
            channel=channel,
            contact_id=contact_id,
            account_id=account_id,
            priority=priority,
            team_id=team_id,
            required_skills=[{"skill_id": s, "min_level": m} for s, m in required],
        ),
        first_message=NewMessage(
            direction="inbound",
            author_type="contact",
            author_contact_id=contact_id,
            body_text=body,
            status="received",
        ),
        actor=SYSTEM,
        now=now,
    )
    return ticket


async def assignees(session: AsyncSession, ticket_ids: Sequence[int]) -> dict[int, int | None]:
    rows = await session.execute(
        select(Ticket.id, Ticket.assignee_id).where(Ticket.id.in_(ticket_ids))
    )
    return {row[0]: row[1] for row in rows}


async def decisions_of(session: AsyncSession, ticket_id: int) -> list[RoutingDecision]:
    return list(
        (
            await session.scalars(
                select(RoutingDecision)
                .where(RoutingDecision.ticket_id == ticket_id)
                .order_by(RoutingDecision.id)
            )
        ).all()
    )
