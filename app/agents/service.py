"""Agents: accounts of the people who work tickets."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.agents.models import Agent, AgentSkill, Skill, Team
from app.agents.schemas import AgentOut, SkillAssignment, SkillLevel
from app.errors import Conflict, NotFound, ValidationFailed
from app.security.passwords import hash_password


def normalize_email(email: str) -> str:
    return email.strip().lower()


def with_relations() -> tuple[object, ...]:
    return (selectinload(Agent.teams), selectinload(Agent.skills).selectinload(AgentSkill.skill))


async def get_agent(session: AsyncSession, agent_id: int) -> Agent:
    agent = await session.scalar(
        select(Agent).where(Agent.id == agent_id).options(*with_relations())
    )
    if agent is None:
        raise NotFound(f"agent {agent_id} does not exist")
    return agent


async def find_agent_by_email(session: AsyncSession, email: str) -> Agent | None:
    return await session.scalar(select(Agent).where(Agent.email == normalize_email(email)))


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
) -> Agent:
    email = normalize_email(email)
    if await find_agent_by_email(session, email):
        raise Conflict("an agent with this email already exists", code="duplicate:agent_email")
    agent = Agent(
        email=email,
        name=name,
        role=role,
        password_hash=await hash_password(password) if password else None,
        capacity=dict(capacity or {}),
        teams=await check_teams(session, team_ids, field="team_ids"),
        skills=await check_skills(session, skills),
    )
    session.add(agent)
    await session.flush()
    return agent


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
