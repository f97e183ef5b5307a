"""Routing's API: agents' skills and presence, and why a ticket went where it went."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.di import Provide
from msgspec import UNSET
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.schemas import AgentOut
from app.agents.service import (
    agent_out,
    check_presence_choice,
    do_set_own_presence,
    get_agent,
)
from app.auth.actor import Actor, require_supervisor
from app.routing import admin
from app.routing.admin import queue_out, rule_out, settings_out
from app.routing.events import QueueSnapshot
from app.routing.schemas import (
    PresenceIn,
    PresenceOut,
    QueueCreate,
    QueueOut,
    QueueUpdate,
    RoutingQueueOut,
    RoutingSettingsOut,
    RoutingSettingsUpdate,
    SkillList,
    SkillRuleCreate,
    SkillRuleOut,
    SkillRuleUpdate,
    TicketRoutingOut,
)
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
        summary="Set your presence, for every channel (status) or per channel (channels): it "
        "holds until you change it, the idle timeout passes with no activity, or your last "
        "socket has been closed longer than the grace period",
    )
    async def set_presence(
        self, data: PresenceIn, actor: Actor, db_session: AsyncSession, now: datetime
    ) -> PresenceOut:
        status, channels = check_presence_choice(
            None if data.status is UNSET else data.status,
            None if data.channels is UNSET else data.channels,
        )
        view = await do_set_own_presence(
            db_session, agent_id=actor.agent_id, status=status, channels=channels, now=now
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


def provide_queue_snapshot(state: State) -> QueueSnapshot:
    snapshot: QueueSnapshot = state.routing_queue
    return snapshot


class RoutingAdminController(Controller):
    """Queues, settings and skill rules (admins change them, supervisors read them), and the
    live queue the supervisor board shows."""

    path = "/api/v1/routing"
    tags = ["routing"]
    dependencies = {"queue_snapshot": Provide(provide_queue_snapshot, sync_to_thread=False)}

    @get("/queue", summary="Depth and oldest waiting per queue and skill, each waiting "
         "ticket's position and why it waits, agents' presence and load (supervisors)")  # fmt: skip
    async def queue(
        self, actor: Actor, db_session: AsyncSession, queue_snapshot: QueueSnapshot, now: datetime
    ) -> RoutingQueueOut:
        require_supervisor(actor)
        return await queue_snapshot(db_session, now=now)

    @get("/queues", summary="Configured queues, by position (supervisors)")
    async def list_queues(self, actor: Actor, db_session: AsyncSession) -> list[QueueOut]:
        return [queue_out(q) for q in await admin.list_queues(db_session, actor)]

    @post("/queues", summary="Configure a team's or an inbox's queue (admins)")
    async def create_queue(
        self, data: QueueCreate, actor: Actor, db_session: AsyncSession
    ) -> QueueOut:
        return queue_out(await admin.do_create_queue(db_session, actor, data))

    @patch("/queues/{queue_id:int}", summary="Change a queue (admins)")
    async def update_queue(
        self, queue_id: int, data: QueueUpdate, actor: Actor, db_session: AsyncSession
    ) -> QueueOut:
        return queue_out(await admin.do_update_queue(db_session, actor, queue_id, data))

    @delete("/queues/{queue_id:int}", summary="Remove a queue: its tickets route with the "
            "defaults (admins)")  # fmt: skip
    async def delete_queue(self, queue_id: int, actor: Actor, db_session: AsyncSession) -> None:
        await admin.do_delete_queue(db_session, actor, queue_id)

    @get("/settings", summary="Load accounting and presence rules (supervisors)")
    async def settings(self, actor: Actor, db_session: AsyncSession) -> RoutingSettingsOut:
        return settings_out(await admin.routing_settings(db_session, actor))

    @patch("/settings", summary="Change load accounting and presence rules (admins)")
    async def update_settings(
        self, data: RoutingSettingsUpdate, actor: Actor, db_session: AsyncSession
    ) -> RoutingSettingsOut:
        return settings_out(await admin.do_update_settings(db_session, actor, data))

    @get("/rules", summary="Skill rules, by position (supervisors)")
    async def list_rules(self, actor: Actor, db_session: AsyncSession) -> list[SkillRuleOut]:
        return [rule_out(r) for r in await admin.list_rules(db_session, actor)]

    @post("/rules", summary="A rule setting the skills tickets need by inbox, channel, "
          "language, account tier or keywords (admins)")  # fmt: skip
    async def create_rule(
        self, data: SkillRuleCreate, actor: Actor, db_session: AsyncSession
    ) -> SkillRuleOut:
        return rule_out(await admin.do_create_rule(db_session, actor, data))

    @patch("/rules/{rule_id:int}", summary="Change a skill rule (admins)")
    async def update_rule(
        self, rule_id: int, data: SkillRuleUpdate, actor: Actor, db_session: AsyncSession
    ) -> SkillRuleOut:
        return rule_out(await admin.do_update_rule(db_session, actor, rule_id, data))

    @delete("/rules/{rule_id:int}", summary="Remove a skill rule (admins)")
    async def delete_rule(self, rule_id: int, actor: Actor, db_session: AsyncSession) -> None:
        await admin.do_delete_rule(db_session, actor, rule_id)
