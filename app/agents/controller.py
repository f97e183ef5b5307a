"""Admin API for agents, teams and skills. Every staff member may read; admins write."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, delete, get, patch, post
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.schemas import (
    AgentCreate,
    AgentOut,
    AgentUpdate,
    Role,
    SkillCreate,
    SkillOut,
    SkillUpdate,
    TeamCreate,
    TeamOut,
    TeamUpdate,
)
from app.agents.service import (
    agent_out,
    do_create_agent,
    do_create_skill,
    do_create_team,
    do_deactivate_agent,
    do_delete_skill,
    do_delete_team,
    do_update_agent,
    do_update_skill,
    do_update_team,
    get_agent,
    get_skill,
    get_team,
    list_agents,
    list_skills,
    list_teams,
    skill_out,
    team_view,
)
from app.auth.actor import Actor, require_admin
from app.auth.throttle import LoginThrottle
from app.http.openapi import problem_responses
from app.http.params import Cursor, PageSize
from app.pagination import DEFAULT_LIMIT
from app.schemas import Page


class AgentController(Controller):
    path = "/api/v1/agents"
    tags = ["agents"]

    @get("/", summary="List agents, newest first; filter by role, team or active state")
    async def index(
        self,
        actor: Actor,
        db_session: AsyncSession,
        role: Role | None = None,
        team_id: int | None = None,
        is_active: bool | None = None,
        limit: PageSize = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[AgentOut]:
        agents, next_cursor = await list_agents(
            db_session, role=role, team_id=team_id, is_active=is_active, limit=limit, cursor=cursor
        )
        return Page(items=[agent_out(a) for a in agents], next_cursor=next_cursor)

    @get("/{agent_id:int}", summary="One agent")
    async def show(self, agent_id: int, actor: Actor, db_session: AsyncSession) -> AgentOut:
        return agent_out(await get_agent(db_session, agent_id))

    @post("/", summary="Create an agent (admins)")
    async def create(self, data: AgentCreate, actor: Actor, db_session: AsyncSession) -> AgentOut:
        require_admin(actor)
        agent = await do_create_agent(
            db_session,
            email=data.email,
            name=data.name,
            role=data.role,
            password=data.password,
            team_ids=data.team_ids,
            skills=data.skills,
            capacity=data.capacity,
            actor_id=actor.agent_id,
        )
        return agent_out(await get_agent(db_session, agent.id))

    @patch(
        "/{agent_id:int}",
        summary="Update an agent (admins); agents may change their own name, avatar_url, "
        "presence and password (with current_password; signs out their other sessions and tokens)",
        responses=problem_responses(429),
    )
    async def update(
        self,
        agent_id: int,
        data: AgentUpdate,
        actor: Actor,
        db_session: AsyncSession,
        login_throttle: LoginThrottle,
        client_address: str,
        now: datetime,
    ) -> AgentOut:
        agent = await do_update_agent(
            db_session,
            actor,
            agent_id=agent_id,
            changes=data,
            throttle=login_throttle,
            address=client_address,
            now=now,
        )
        return agent_out(agent)

    @delete("/{agent_id:int}", summary="Deactivate an agent and revoke their tokens (admins)")
    async def deactivate(
        self, agent_id: int, actor: Actor, db_session: AsyncSession, now: datetime
    ) -> None:
        require_admin(actor)
        await do_deactivate_agent(db_session, actor, agent_id=agent_id, now=now)


class TeamController(Controller):
    path = "/api/v1/teams"
    tags = ["teams"]

    @get("/", summary="List teams with their member ids")
    async def index(
        self,
        actor: Actor,
        db_session: AsyncSession,
        limit: PageSize = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[TeamOut]:
        return await list_teams(db_session, limit=limit, cursor=cursor)

    @get("/{team_id:int}", summary="One team")
    async def show(self, team_id: int, actor: Actor, db_session: AsyncSession) -> TeamOut:
        return await team_view(db_session, await get_team(db_session, team_id))

    @post("/", summary="Create a team (admins)")
    async def create(self, data: TeamCreate, actor: Actor, db_session: AsyncSession) -> TeamOut:
        require_admin(actor)
        team = await do_create_team(
            db_session,
            actor_id=actor.agent_id,
            name=data.name,
            description=data.description,
            member_ids=data.member_ids,
        )
        return await team_view(db_session, team)

    @patch("/{team_id:int}", summary="Update a team; member_ids replaces the membership (admins)")
    async def update(
        self, team_id: int, data: TeamUpdate, actor: Actor, db_session: AsyncSession
    ) -> TeamOut:
        require_admin(actor)
        team = await do_update_team(
            db_session,
            actor_id=actor.agent_id,
            team_id=team_id,
            name=data.name,
            description=data.description,
            member_ids=data.member_ids,
        )
        return await team_view(db_session, team)

    @delete("/{team_id:int}", summary="Delete a team (admins)")
    async def remove(self, team_id: int, actor: Actor, db_session: AsyncSession) -> None:
        require_admin(actor)
        await do_delete_team(db_session, actor_id=actor.agent_id, team_id=team_id)


class SkillController(Controller):
    path = "/api/v1/skills"
    tags = ["skills"]

    @get("/", summary="List skills")
    async def index(
        self,
        actor: Actor,
        db_session: AsyncSession,
        limit: PageSize = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[SkillOut]:
        skills, next_cursor = await list_skills(db_session, limit=limit, cursor=cursor)
        return Page(items=[skill_out(s) for s in skills], next_cursor=next_cursor)

    @get("/{skill_id:int}", summary="One skill")
    async def show(self, skill_id: int, actor: Actor, db_session: AsyncSession) -> SkillOut:
        return skill_out(await get_skill(db_session, skill_id))

    @post("/", summary="Create a skill (admins)")
    async def create(self, data: SkillCreate, actor: Actor, db_session: AsyncSession) -> SkillOut:
        require_admin(actor)
        return skill_out(await do_create_skill(db_session, actor_id=actor.agent_id, name=data.name))

    @patch("/{skill_id:int}", summary="Rename a skill (admins)")
    async def update(
        self, skill_id: int, data: SkillUpdate, actor: Actor, db_session: AsyncSession
    ) -> SkillOut:
        require_admin(actor)
        skill = await do_update_skill(
            db_session, actor_id=actor.agent_id, skill_id=skill_id, name=data.name
        )
        return skill_out(skill)

    @delete("/{skill_id:int}", summary="Delete a skill; agents lose it (admins)")
    async def remove(self, skill_id: int, actor: Actor, db_session: AsyncSession) -> None:
        require_admin(actor)
        await do_delete_skill(db_session, actor_id=actor.agent_id, skill_id=skill_id)
