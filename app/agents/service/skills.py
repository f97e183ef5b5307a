"""Skills: what an agent is good at, with a level per agent, for skill-based routing."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import AgentSkill, Skill
from app.agents.schemas import SkillAssignment, SkillOut
from app.agents.service.common import audit, check_id
from app.errors import Conflict, NotFound, ValidationFailed
from app.pagination import page_of, paginate


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
    audit(session, actor_id, "skill.create", skill.id, after={"name": name})
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
    audit(session, actor_id, "skill.update", skill.id, before=before, after={"name": skill.name})
    return skill


async def do_delete_skill(session: AsyncSession, *, actor_id: int | None, skill_id: int) -> None:
    """Agents lose the skill with it (agent_skills cascade)."""
    skill = await get_skill(session, skill_id)
    before = {"name": skill.name}
    await session.delete(skill)
    await session.flush()
    audit(session, actor_id, "skill.delete", skill_id, before=before)
