"""Routing's API: agents' skills and presence, and why a ticket went where it went."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, get, put
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.schemas import AgentOut
from app.agents.service import agent_out, do_set_own_presence, get_agent
from app.auth.actor import Actor
from app.routing.schemas import PresenceIn, PresenceOut, SkillList, TicketRoutingOut
from app.routing.service import do_set_agent_skills, presence_out, ticket_routing


class AgentSkillsController(Controller):
    path = "/api/v1/agents"
    tags = ["agents", "routing"]

    @put(
        "/{agent_id:int}/skills",
        summary="Replace an agent's skills: [{skill_id, level 1-5}] (admins)",
    )
    async def set_skills(
        self, agent_id: int, data: SkillList, actor: Actor, db_session: AsyncSession
    ) -> AgentOut:
        await do_set_agent_skills(db_session, actor, agent_id=agent_id, skills=data)
        db_session.expunge_all()  # reload the relations as stored
        return agent_out(await get_agent(db_session, agent_id))

    @put(
        "/me/presence",
        summary="Set your presence: it holds until you change it, the idle timeout passes "
        "with no activity, or your last socket has been closed longer than the grace period",
    )
    async def set_presence(
        self, data: PresenceIn, actor: Actor, db_session: AsyncSession, now: datetime
    ) -> PresenceOut:
        view = await do_set_own_presence(
            db_session, agent_id=actor.agent_id, status=data.status, now=now
        )
        return presence_out(view)


class TicketRoutingController(Controller):
    path = "/api/v1/tickets"
    tags = ["tickets", "routing"]

    @get(
        "/{ticket_id:int}/routing",
        summary="What routing decided about a ticket and why (every decision, oldest first)",
    )
    async def show(
        self, ticket_id: int, actor: Actor, db_session: AsyncSession
    ) -> TicketRoutingOut:
        return await ticket_routing(db_session, actor, ticket_id)
