"""Agents: the people who work tickets, their roles, presence, capacity, teams and skills.

An agent is never deleted, only deactivated; the last active admin cannot be demoted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.base import ExecutableOption

from app.agents.models import ROLES, Agent, AgentSkill, team_members
from app.agents.schemas import (
    SELF_SERVICE_FIELDS,
    SUPERVISOR_FIELDS,
    AgentOut,
    AgentUpdate,
    SkillAssignment,
    SkillLevel,
)
from app.agents.service.common import MAX_ID, audit, check_id
from app.agents.service.presence import channel_states
from app.agents.service.skills import check_skills
from app.agents.service.teams import check_teams
from app.auth.actor import Actor
from app.auth.throttle import LoginThrottle
from app.auth.tokens import revoke_tokens
from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.inboxes.channels import CHANNEL_NAMES
from app.pagination import page_of, paginate
from app.security.passwords import hash_password, verify_password


def normalize_email(email: str) -> str:
    return email.strip().lower()


def with_relations() -> tuple[ExecutableOption, ...]:
    return (selectinload(Agent.teams), selectinload(Agent.skills).selectinload(AgentSkill.skill))


async def get_agent(session: AsyncSession, agent_id: int) -> Agent:
    agent = await session.scalar(
        select(Agent).where(Agent.id == check_id("agent", agent_id)).options(*with_relations())
    )
    if agent is None:
        raise NotFound(f"agent {agent_id} does not exist")
    return agent


async def find_agent_by_email(session: AsyncSession, email: str) -> Agent | None:
    return await session.scalar(select(Agent).where(Agent.email == normalize_email(email)))


async def list_agents(
    session: AsyncSession,
    *,
    role: str | None = None,
    team_id: int | None = None,
    is_active: bool | None = None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Agent], str | None]:
    stmt = select(Agent).options(*with_relations())
    if role is not None:
        if role not in ROLES:
            raise ValidationFailed.field("role", f"must be one of {', '.join(ROLES)}")
        stmt = stmt.where(Agent.role == role)
    if team_id is not None:
        if not 1 <= team_id <= MAX_ID:
            raise ValidationFailed.field("team_id", "not a team id")
        members = select(team_members.c.agent_id).where(team_members.c.team_id == team_id)
        stmt = stmt.where(Agent.id.in_(members))
    if is_active is not None:
        stmt = stmt.where(Agent.is_active.is_(is_active))
    rows = (await session.scalars(paginate(stmt, Agent.id, limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit)


async def check_email_free(
    session: AsyncSession, email: str, *, agent_id: int | None = None
) -> str:
    """The normalized email; emails are stored lower-case, so equality is case-insensitive."""
    email = normalize_email(email)
    found = await find_agent_by_email(session, email)
    if found is not None and found.id != agent_id:
        raise Conflict(
            f"an agent with the email {email} already exists", code="duplicate:agent_email"
        )
    return email


async def _flush_agent(session: AsyncSession, agent: Agent) -> None:
    """Flush; losing a race for an email to a concurrent request is still a 409 naming it."""
    try:
        await session.flush()
    except IntegrityError as exc:
        if "uq_agents_email" in str(exc.orig):
            raise Conflict(
                f"an agent with the email {agent.email} already exists",
                code="duplicate:agent_email",
            ) from exc
        raise


def check_capacity(capacity: dict[str, int], *, field: str = "capacity") -> dict[str, int]:
    unknown = sorted(set(capacity) - set(CHANNEL_NAMES))
    if unknown:
        raise ValidationFailed.field(
            field, f"unknown channel {', '.join(unknown)}; use {', '.join(CHANNEL_NAMES)}"
        )
    return dict(capacity)


def _audit_view(agent: Agent) -> dict[str, Any]:
    """What the audit trail records of an agent; never the password hash."""
    return {
        "email": agent.email,
        "name": agent.name,
        "avatar_url": agent.avatar_url,
        "role": agent.role,
        "is_active": agent.is_active,
        "presence": agent.presence,
        "capacity": dict(agent.capacity),
        "routing_paused": agent.routing_paused,
        "team_ids": sorted(t.id for t in agent.teams),
        "skills": {str(s.skill_id): s.level for s in agent.skills},
    }


async def do_create_agent(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    role: str,
    password: str | None,
    team_ids: Sequence[int] = (),
    skills: Sequence[SkillAssignment] = (),
    capacity: dict[str, int] | None = None,
    actor_id: int | None = None,
) -> Agent:
    agent = Agent(
        email=await check_email_free(session, email),
        name=name,
        role=role,
        password_hash=await hash_password(password) if password else None,
        capacity=check_capacity(capacity or {}),
        teams=await check_teams(session, team_ids, field="team_ids"),
        skills=await check_skills(session, skills),
    )
    session.add(agent)
    await _flush_agent(session, agent)
    after = _audit_view(agent) | {"password_set": password is not None}
    audit(session, actor_id, "agent.create", agent.id, after=after)
    return agent


async def _check_keeps_an_admin(session: AsyncSession, agent: Agent) -> None:
    """Call before `agent` stops being an active admin. Locking every active admin row
    serialises two admins demoting each other at the same moment."""
    admins = select(Agent.id).where(Agent.role == "admin", Agent.is_active.is_(True))
    ids = set((await session.scalars(admins.with_for_update())).all())
    if ids <= {agent.id}:
        raise Conflict(
            f"agent {agent.id} is the last active admin; make another agent admin first",
            code="last_admin",
        )


def _check_may_update(actor: Actor, agent_id: int, fields: set[str]) -> None:
    if actor.is_admin:
        return
    if actor.role == "supervisor" and fields <= SUPERVISOR_FIELDS:
        return
    if actor.agent_id != agent_id:
        raise PermissionDenied("only admins may change other agents")
    forbidden = sorted(fields - SELF_SERVICE_FIELDS)
    if forbidden:
        raise PermissionDenied(f"only admins may change {', '.join(forbidden)}")


async def _check_current_password(
    actor: Actor, agent: Agent, given: dict[str, Any], *, throttle: LoginThrottle, address: str
) -> None:
    """Changing one's own password proves the old one, so a stolen session cannot take the
    account over. A wrong guess counts against the account like a failed sign-in."""
    if "current_password" in given and "password" not in given:
        raise ValidationFailed.field("current_password", "only goes with a new password")
    if "password" not in given or actor.agent_id != agent.id:
        return  # an admin resetting another agent's password needs none
    if "current_password" not in given:
        raise ValidationFailed.field("current_password", "required to change your password")
    await throttle.reserve(email=agent.email, address=address)
    if not await verify_password(agent.password_hash, given["current_password"]):
        raise ValidationFailed.field("current_password", "is wrong")
    await throttle.release(email=agent.email, address=address)


async def do_update_agent(
    session: AsyncSession,
    actor: Actor,
    *,
    agent_id: int,
    changes: AgentUpdate,
    throttle: LoginThrottle,
    address: str,
    now: datetime,
) -> Agent:
    """A new password signs the agent out everywhere but the caller's own session."""
    given = {
        f: v for f in changes.__struct_fields__ if (v := getattr(changes, f)) is not msgspec.UNSET
    }
    _check_may_update(actor, agent_id, set(given))
    agent = await get_agent(session, agent_id)
    await _check_current_password(actor, agent, given, throttle=throttle, address=address)
    before = _audit_view(agent)
    was_active_admin = agent.is_active and agent.role == "admin"
    if "email" in given:
        agent.email = await check_email_free(session, given["email"], agent_id=agent.id)
    for field in ("name", "avatar_url", "role", "is_active", "presence", "routing_paused"):
        if field in given:
            setattr(agent, field, given[field])
    if "presence" in given:
        # Held for every channel, as PUT /agents/me/presence {"status"}.
        agent.presence_choice = given["presence"]
        agent.channel_presence = {}
    if agent.presence != before["presence"]:
        agent.presence_since = now  # routing counts an offline agent's grace from here
    if "capacity" in given:
        agent.capacity = check_capacity(given["capacity"])
    if "team_ids" in given:
        agent.teams = await check_teams(session, given["team_ids"], field="team_ids")
    if "skills" in given:
        current = {s.skill_id: s for s in agent.skills}
        wanted = await check_skills(session, given["skills"])
        # Keep the existing rows so a level change is an UPDATE, not a delete and re-insert.
        for skill in wanted:
            if skill.skill_id in current:
                current[skill.skill_id].level = skill.level
        agent.skills = [current.get(s.skill_id, s) for s in wanted]
    revoked = 0
    if "password" in given:
        agent.password_hash = await hash_password(given["password"])
        own = actor.token_id if actor.agent_id == agent.id else None
        revoked = await revoke_tokens(session, agent_id=agent.id, now=now, keep_token_id=own)
    if was_active_admin and not (agent.is_active and agent.role == "admin"):
        await _check_keeps_an_admin(session, agent)
    if not agent.is_active and before["is_active"]:
        agent.presence = "offline"
        await revoke_tokens(session, agent_id=agent.id, now=now)
    await _flush_agent(session, agent)
    after = _audit_view(agent)
    if "password" in given:
        after |= {"password_changed": True, "tokens_revoked": revoked}
    audit(session, actor.agent_id, "agent.update", agent.id, before=before, after=after)
    return agent


async def do_deactivate_agent(
    session: AsyncSession, actor: Actor, *, agent_id: int, now: datetime
) -> None:
    """Agents are never deleted (tickets and messages point at them): they are deactivated
    and every token they hold is revoked."""
    agent = await get_agent(session, agent_id)
    before = _audit_view(agent)
    if agent.is_active and agent.role == "admin":
        await _check_keeps_an_admin(session, agent)
    agent.is_active = False
    agent.presence = "offline"
    await revoke_tokens(session, agent_id=agent.id, now=now)
    await session.flush()
    audit(
        session,
        actor.agent_id,
        "agent.deactivate",
        agent.id,
        before=before,
        after=_audit_view(agent),
    )


def agent_out(agent: Agent) -> AgentOut:
    """Serialize an agent loaded with `with_relations()`."""
    return AgentOut(
        id=agent.id,
        email=agent.email,
        name=agent.name,
        avatar_url=agent.avatar_url,
        role=agent.role,
        is_active=agent.is_active,
        presence=agent.presence,
        channel_presence={
            c: state.status
            for c, state in channel_states(
                agent.presence, agent.presence_choice, agent.presence_since, agent.channel_presence
            ).items()
        },
        capacity=agent.capacity,
        routing_paused=agent.routing_paused,
        team_ids=sorted(t.id for t in agent.teams),
        skills=[
            SkillLevel(skill_id=s.skill_id, name=s.skill.name, level=s.level) for s in agent.skills
        ],
        created_at=agent.created_at,
    )
