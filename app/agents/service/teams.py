"""Teams: named groups of agents that tickets and inboxes can be routed to."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent, Team, team_members
from app.agents.schemas import TeamOut
from app.agents.service.common import audit, check_id
from app.errors import Conflict, NotFound, ValidationFailed
from app.pagination import page_of, paginate
from app.schemas import Page


async def check_teams(session: AsyncSession, team_ids: Sequence[int], *, field: str) -> list[Team]:
    teams = list((await session.scalars(select(Team).where(Team.id.in_(team_ids)))).all())
    missing = sorted(set(team_ids) - {t.id for t in teams})
    if missing:
        raise ValidationFailed.field(field, f"no team with id {', '.join(map(str, missing))}")
    return teams


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
    audit(session, actor_id, "team.create", team.id, after=after)
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
    audit(session, actor_id, "team.update", team.id, before=before, after=after)
    return team


async def do_delete_team(session: AsyncSession, *, actor_id: int | None, team_id: int) -> None:
    """Memberships go with the team; tickets and inboxes of the team keep no team."""
    team = await get_team(session, team_id)
    before = {"name": team.name, "description": team.description}
    await session.delete(team)
    await session.flush()
    audit(session, actor_id, "team.delete", team_id, before=before)
