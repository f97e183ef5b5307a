from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent, Skill, Team
from app.agents.service import do_create_agent, get_agent
from app.auth.service import do_create_token
from app.security.passwords import hash_password

_counter = itertools.count(1)
PASSWORD = "correct horse battery"
_hashes: dict[str, str] = {}


async def _hash_once(password: str) -> str:
    """argon2 is slow by design; tests reuse one hash per password."""
    if password not in _hashes:
        _hashes[password] = await hash_password(password)
    return _hashes[password]


async def make_agent(
    session: AsyncSession,
    *,
    role: str = "agent",
    email: str | None = None,
    name: str | None = None,
    team_ids: list[int] | None = None,
    password: str | None = PASSWORD,
) -> Agent:
    n = next(_counter)
    agent = await do_create_agent(
        session,
        email=email or f"agent{n}@example.test",
        name=name or f"Agent {n}",
        role=role,
        password=None,
        team_ids=team_ids or [],
    )
    agent.password_hash = await _hash_once(password) if password else None
    await session.flush()
    return await get_agent(session, agent.id)


async def make_team(session: AsyncSession, *, name: str | None = None) -> Team:
    team = Team(name=name or f"Team {next(_counter)}")
    session.add(team)
    await session.flush()
    return team


async def make_skill(session: AsyncSession, *, name: str | None = None) -> Skill:
    skill = Skill(name=name or f"skill-{next(_counter)}")
    session.add(skill)
    await session.flush()
    return skill


async def auth_headers(
    session: AsyncSession, agent: Agent, *, scopes: tuple[str, ...] = ("read", "write")
) -> dict[str, str]:
    """Headers carrying a fresh personal token of `agent`."""
    _, raw = await do_create_token(
        session,
        agent_id=agent.id,
        kind="personal",
        name="test",
        scopes=scopes,
        expires_at=datetime.now(UTC) + timedelta(days=365),
    )
    return {"Authorization": f"Bearer {raw}"}
