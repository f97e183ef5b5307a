"""Agents, teams and skills: the people who work tickets and how they are grouped.

Only admins manage them; an agent may edit their own name, password and presence.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.base import ExecutableOption

from app.agents.models import ROLES, Agent, AgentSkill, Skill, Team, team_members
from app.agents.schemas import (
    SELF_SERVICE_FIELDS,
    AgentOut,
    AgentUpdate,
    SkillAssignment,
    SkillLevel,
    SkillOut,
    TeamOut,
)
from app.audit.service import record
from app.auth.actor import Actor
from app.auth.models import ApiToken
from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.pagination import page_of, paginate
from app.schemas import Page
from app.security.passwords import hash_password
from app.tickets.models import TICKET_CHANNELS

MAX_ID = 2**63 - 1


def check_id(entity: str, entity_id: int) -> int:
    """An id outside BIGINT cannot exist; answer "not found" before the driver overflows."""
    if not 1 <= entity_id <= MAX_ID:
        raise NotFound(f"{entity} {entity_id} does not exist")
    return entity_id


def normalize_email(email: str) -> str:
    return email.strip().lower()


def with_relations() -> tuple[ExecutableOption, ...]:
    return (selectinload(Agent.teams), selectinload(Agent.skills).selectinload(AgentSkill.skill))


def _audit(
    session: AsyncSession,
    actor_id: int | None,
    action: str,
    entity_id: int,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """`action` is "<entity type>.<verb>", e.g. "team.update"."""
    entity_type = action.split(".", 1)[0]
    record(
        session,
        actor_id=actor_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
    )


# --- agents ---------------------------------------------------------------------------------


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
    unknown = sorted(set(capacity) - set(TICKET_CHANNELS))
    if unknown:
        raise ValidationFailed.field(
            field, f"unknown channel {', '.join(unknown)}; use {', '.join(TICKET_CHANNELS)}"
        )
    return dict(capacity)


async def check_teams(session: AsyncSession, team_ids: Sequence[int], *, field: str) -> list[Team]:
    teams = list((await session.scalars(select(Team).where(Team.id.in_(team_ids)))).all())
    missing = sorted(set(team_ids) - {t.id for t in teams})
    if missing:
        raise ValidationFailed.field(field, f"no team with id {', '.join(map(str, missing))}")
    return teams


async def check_skills(
    session: AsyncSession, skills: Sequence[SkillAssignment], *, field: str = "skills"
) -> list[AgentSkill]:
    ids = [s.skill_id for s in skills]
    if len(set(ids)) != len(ids):
        raise ValidationFailed.field(field, "a skill is listed twice")
    found = {s.id: s for s in (await session.scalars(select(Skill).where(Skill.id.in_(ids)))).all()}
    missing = sorted(set(ids) - set(found))
    if missing:
        raise ValidationFailed.field(field, f"no skill with id {', '.join(map(str, missing))}")
    return [AgentSkill(skill_id=s.skill_id, level=s.level, skill=found[s.skill_id]) for s in skills]


def _audit_view(agent: Agent) -> dict[str, Any]:
    """What the audit trail records of an agent; never the password hash."""
    return {
        "email": agent.email,
        "name": agent.name,
        "role": agent.role,
        "is_active": agent.is_active,
        "presence": agent.presence,
        "capacity": dict(agent.capacity),
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
    _audit(session, actor_id, "agent.create", agent.id, after=after)
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


async def _revoke_tokens(session: AsyncSession, agent_id: int, *, now: datetime) -> None:
    await session.execute(
        update(ApiToken)
        .where(ApiToken.agent_id == agent_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def _check_may_update(actor: Actor, agent_id: int, fields: set[str]) -> None:
    if actor.is_admin:
        return
    if actor.agent_id != agent_id:
        raise PermissionDenied("only admins may change other agents")
    forbidden = sorted(fields - SELF_SERVICE_FIELDS)
    if forbidden:
        raise PermissionDenied(f"only admins may change {', '.join(forbidden)}")


async def do_update_agent(
    session: AsyncSession, actor: Actor, *, agent_id: int, changes: AgentUpdate, now: datetime
) -> Agent:
    given = {
        f: v for f in changes.__struct_fields__ if (v := getattr(changes, f)) is not msgspec.UNSET
    }
    _check_may_update(actor, agent_id, set(given))
    agent = await get_agent(session, agent_id)
    before = _audit_view(agent)
    was_active_admin = agent.is_active and agent.role == "admin"
    if "email" in given:
        agent.email = await check_email_free(session, given["email"], agent_id=agent.id)
    for field in ("name", "role", "is_active", "presence"):
        if field in given:
            setattr(agent, field, given[field])
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
    if "password" in given:
        agent.password_hash = await hash_password(given["password"])
    if was_active_admin and not (agent.is_active and agent.role == "admin"):
        await _check_keeps_an_admin(session, agent)
    if not agent.is_active and before["is_active"]:
        agent.presence = "offline"
        await _revoke_tokens(session, agent.id, now=now)
    await _flush_agent(session, agent)
    after = _audit_view(agent) | ({"password_changed": True} if "password" in given else {})
    _audit(session, actor.agent_id, "agent.update", agent.id, before=before, after=after)
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
    await _revoke_tokens(session, agent.id, now=now)
    await session.flush()
    _audit(
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
        role=agent.role,
        is_active=agent.is_active,
        presence=agent.presence,
        capacity=agent.capacity,
        team_ids=sorted(t.id for t in agent.teams),
        skills=[
            SkillLevel(skill_id=s.skill_id, name=s.skill.name, level=s.level) for s in agent.skills
        ],
        created_at=agent.created_at,
    )


# --- teams ----------------------------------------------------------------------------------


async def get_team(session: AsyncSession, team_id: int) -> Team:
    team = await session.get(Team, check_id("team", team_id))
    if team is None:
        raise NotFound(f"team {team_id} does not exist")
    return team


async def _member_ids(session: AsyncSession, team_ids: Sequence[int]) -> dict[int, list[int]]:
    """Members of several teams in one query."""
    rows = await session.execute(
        select(team_members.c.team_id, team_members.c.agent_id)
        .where(team_members.c.team_id.in_(team_ids))
        .order_by(team_members.c.agent_id)
    )
    members: dict[int, list[int]] = {team_id: [] for team_id in team_ids}
    for team_id, agent_id in rows:
        members[team_id].append(agent_id)
    return members


def _team_out(team: Team, member_ids: list[int]) -> TeamOut:
    return TeamOut(id=team.id, name=team.name, description=team.description, member_ids=member_ids)


async def team_view(session: AsyncSession, team: Team) -> TeamOut:
    return _team_out(team, (await _member_ids(session, [team.id]))[team.id])


async def list_teams(session: AsyncSession, *, limit: int, cursor: str | None) -> Page[TeamOut]:
    stmt = paginate(select(Team), Team.id, limit=limit, cursor=cursor)
    teams, next_cursor = page_of((await session.scalars(stmt)).all(), limit=limit)
    members = await _member_ids(session, [t.id for t in teams])
    return Page(items=[_team_out(t, members[t.id]) for t in teams], next_cursor=next_cursor)


async def _check_team_name_free(
    session: AsyncSession, name: str, *, team_id: int | None = None
) -> None:
    found = await session.scalar(select(Team.id).where(func.lower(Team.name) == name.lower()))
    if found is not None and found != team_id:
        raise Conflict(f"a team named {name!r} already exists", code="duplicate:team_name")


async def _set_members(session: AsyncSession, team: Team, member_ids: Sequence[int]) -> None:
    wanted = set(member_ids)
    found = set((await session.scalars(select(Agent.id).where(Agent.id.in_(wanted)))).all())
    if missing := sorted(wanted - found):
        raise ValidationFailed.field(
            "member_ids", f"no agent with id {', '.join(map(str, missing))}"
        )
    await session.execute(delete(team_members).where(team_members.c.team_id == team.id))
    if wanted:
        rows = [{"team_id": team.id, "agent_id": agent_id} for agent_id in sorted(wanted)]
        await session.execute(insert(team_members), rows)


async def do_create_team(
    session: AsyncSession,
    *,
    actor_id: int | None,
    name: str,
    description: str | None,
    member_ids: Sequence[int],
) -> Team:
    await _check_team_name_free(session, name)
    team = Team(name=name, description=description)
    session.add(team)
    await session.flush()
    await _set_members(session, team, member_ids)
    after = {"name": name, "description": description, "member_ids": sorted(set(member_ids))}
    _audit(session, actor_id, "team.create", team.id, after=after)
    return team


async def do_update_team(
    session: AsyncSession,
    *,
    actor_id: int | None,
    team_id: int,
    name: str | msgspec.UnsetType = msgspec.UNSET,
    description: str | msgspec.UnsetType | None = msgspec.UNSET,
    member_ids: Sequence[int] | msgspec.UnsetType = msgspec.UNSET,
) -> Team:
    team = await get_team(session, team_id)
    old_members = (await _member_ids(session, [team.id]))[team.id]
    before = {"name": team.name, "description": team.description, "member_ids": old_members}
    if name is not msgspec.UNSET:
        await _check_team_name_free(session, name, team_id=team.id)
        team.name = name
    if description is not msgspec.UNSET:
        team.description = description
    new_members = old_members
    if member_ids is not msgspec.UNSET:
        await _set_members(session, team, member_ids)
        new_members = sorted(set(member_ids))
    await session.flush()
    after = {"name": team.name, "description": team.description, "member_ids": new_members}
    _audit(session, actor_id, "team.update", team.id, before=before, after=after)
    return team


async def do_delete_team(session: AsyncSession, *, actor_id: int | None, team_id: int) -> None:
    """Memberships go with the team; tickets and inboxes of the team keep no team."""
    team = await get_team(session, team_id)
    before = {"name": team.name, "description": team.description}
    await session.delete(team)
    await session.flush()
    _audit(session, actor_id, "team.delete", team_id, before=before)


# --- skills ---------------------------------------------------------------------------------


async def get_skill(session: AsyncSession, skill_id: int) -> Skill:
    skill = await session.get(Skill, check_id("skill", skill_id))
    if skill is None:
        raise NotFound(f"skill {skill_id} does not exist")
    return skill


def skill_out(skill: Skill) -> SkillOut:
    return SkillOut(id=skill.id, name=skill.name)


async def list_skills(
    session: AsyncSession, *, limit: int, cursor: str | None
) -> tuple[list[Skill], str | None]:
    stmt = paginate(select(Skill), Skill.id, limit=limit, cursor=cursor)
    return page_of((await session.scalars(stmt)).all(), limit=limit)


async def _check_skill_name_free(
    session: AsyncSession, name: str, *, skill_id: int | None = None
) -> None:
    found = await session.scalar(select(Skill.id).where(func.lower(Skill.name) == name.lower()))
    if found is not None and found != skill_id:
        raise Conflict(f"a skill named {name!r} already exists", code="duplicate:skill_name")


async def do_create_skill(session: AsyncSession, *, actor_id: int | None, name: str) -> Skill:
    await _check_skill_name_free(session, name)
    skill = Skill(name=name)
    session.add(skill)
    await session.flush()
    _audit(session, actor_id, "skill.create", skill.id, after={"name": name})
    return skill


async def do_update_skill(
    session: AsyncSession,
    *,
    actor_id: int | None,
    skill_id: int,
    name: str | msgspec.UnsetType = msgspec.UNSET,
) -> Skill:
    skill = await get_skill(session, skill_id)
    before = {"name": skill.name}
    if name is not msgspec.UNSET:
        await _check_skill_name_free(session, name, skill_id=skill.id)
        skill.name = name
    await session.flush()
    _audit(session, actor_id, "skill.update", skill.id, before=before, after={"name": skill.name})
    return skill


async def do_delete_skill(session: AsyncSession, *, actor_id: int | None, skill_id: int) -> None:
    """Agents lose the skill with it (agent_skills cascade)."""
    skill = await get_skill(session, skill_id)
    before = {"name": skill.name}
    await session.delete(skill)
    await session.flush()
    _audit(session, actor_id, "skill.delete", skill_id, before=before)
