"""Routing's admin services: agents' skills, and what routing decided about a ticket."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.agents.schemas import SkillAssignment
from app.agents.service import PresenceView, check_skills, get_agent
from app.agents.service.common import audit
from app.auth.actor import Actor, require_admin
from app.routing.models import RoutingDecision, TicketRouting
from app.routing.schemas import ChannelPresenceOut, DecisionOut, PresenceOut, TicketRoutingOut
from app.tickets.service import access_ticket

DECISIONS_SHOWN = 200


async def do_set_agent_skills(
    session: AsyncSession, actor: Actor, *, agent_id: int, skills: Sequence[SkillAssignment]
) -> Agent:
    """Replace the agent's skills and levels (admins)."""
    require_admin(actor)
    agent = await get_agent(session, agent_id)
    before = {str(s.skill_id): s.level for s in agent.skills}
    current = {s.skill_id: s for s in agent.skills}
    wanted = await check_skills(session, skills)
    for skill in wanted:  # an existing row keeps its identity: a level change is an UPDATE
        if skill.skill_id in current:
            current[skill.skill_id].level = skill.level
    agent.skills = [current.get(s.skill_id, s) for s in wanted]
    await session.flush()
    after = {str(s.skill_id): s.level for s in agent.skills}
    audit(session, actor.agent_id, "agent.update", agent.id, before={"skills": before},
          after={"skills": after})  # fmt: skip
    return agent


async def ticket_routing(session: AsyncSession, actor: Actor, ticket_id: int) -> TicketRoutingOut:
    """Who may see the ticket may see why it went where it went."""
    ticket = await access_ticket(session, actor, ticket_id)
    state = await session.get(TicketRouting, ticket.id)
    rows = (
        await session.scalars(
            select(RoutingDecision)
            .where(RoutingDecision.ticket_id == ticket.id)
            .order_by(RoutingDecision.id.desc())
            .limit(DECISIONS_SHOWN)
        )
    ).all()
    return TicketRoutingOut(
        ticket_id=ticket.id,
        eligible_since=state.eligible_since if state else ticket.created_at,
        last_agent_id=state.last_agent_id if state else None,
        refused={k: str(v) for k, v in (state.refused if state else {}).items()},
        decisions=[
            DecisionOut(
                id=d.id,
                decided_at=d.decided_at,
                action=d.action,
                agent_id=d.agent_id,
                reason=d.reason,
                explanation=d.explanation,
            )
            for d in reversed(rows)
        ],
    )


def presence_out(view: PresenceView) -> PresenceOut:
    return PresenceOut(
        agent_id=view.agent_id,
        status=view.status,
        chosen=view.chosen,
        since=view.since,
        disconnected_at=view.disconnected_at,
        channels={
            c: ChannelPresenceOut(status=state.status, since=state.since)
            for c, state in view.channels.items()
        },
    )
