"""Agent presence from their sockets: each socket is an `agent_connections` row with the
availability its agent chose there; the agent is online if any socket says online, away if
the sockets say away, offline with none. Each node renews its rows every heartbeat; rows
a dead node leaves behind go stale and are swept by any node, so its agents go offline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.service import lock_agent, set_agent_presence
from app.realtime.models import AgentConnection

STATUSES = ("online", "away", "offline")


def presence_of(statuses: list[str]) -> str:
    if "online" in statuses:
        return "online"
    if "away" in statuses:
        return "away"
    return "offline"


async def refresh_presence(session: AsyncSession, agent_id: int, *, now: datetime) -> str:
    """Derive and store the agent's presence; the caller holds `lock_agent`."""
    statuses = list(
        (
            await session.scalars(
                select(AgentConnection.status).where(AgentConnection.agent_id == agent_id)
            )
        ).all()
    )
    presence = presence_of(statuses)
    await set_agent_presence(session, agent_id=agent_id, presence=presence, now=now)
    return presence


async def connect(
    session: AsyncSession,
    *,
    connection_id: str,
    agent_id: int,
    node: str,
    status: str,
    now: datetime,
) -> str:
    await lock_agent(session, agent_id)
    session.add(
        AgentConnection(
            id=connection_id,
            agent_id=agent_id,
            node=node,
            status=status,
            connected_at=now,
            last_heartbeat_at=now,
        )
    )
    await session.flush()
    return await refresh_presence(session, agent_id, now=now)


async def set_status(
    session: AsyncSession, *, connection_id: str, agent_id: int, status: str, now: datetime
) -> str:
    await lock_agent(session, agent_id)
    await session.execute(
        update(AgentConnection)
        .where(AgentConnection.id == connection_id)
        .values(status=status, last_heartbeat_at=now)
    )
    return await refresh_presence(session, agent_id, now=now)


async def disconnect(
    session: AsyncSession, *, connection_id: str, agent_id: int, now: datetime
) -> str:
    await lock_agent(session, agent_id)
    await session.execute(delete(AgentConnection).where(AgentConnection.id == connection_id))
    return await refresh_presence(session, agent_id, now=now)


async def renew_and_sweep(
    session: AsyncSession, *, node: str, now: datetime, stale_after: timedelta
) -> list[int]:
    """Renew this node's rows, drop every node's stale ones; returns the agents whose
    presence was recomputed. Each agent is locked before its rows are touched, the order
    every presence change takes, so a sweep never deadlocks with a socket closing."""
    await session.execute(
        update(AgentConnection).where(AgentConnection.node == node).values(last_heartbeat_at=now)
    )
    stale = AgentConnection.last_heartbeat_at < now - stale_after
    return await _drop(session, stale, now=now)


async def leave_node(session: AsyncSession, *, node: str, now: datetime) -> list[int]:
    """The node stops: its sockets are gone."""
    return await _drop(session, AgentConnection.node == node, now=now)


async def _drop(session: AsyncSession, which: ColumnElement[bool], *, now: datetime) -> list[int]:
    agents = sorted(
        set((await session.scalars(select(AgentConnection.agent_id).where(which))).all())
    )
    for agent_id in agents:
        await lock_agent(session, agent_id)
        await session.execute(
            delete(AgentConnection).where(which, AgentConnection.agent_id == agent_id)
        )
        await refresh_presence(session, agent_id, now=now)
    return agents
