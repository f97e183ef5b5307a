"""Agent presence and their sockets: each socket is an `agent_connections` row, renewed by
its node every heartbeat; rows a dead node leaves behind go stale and are swept by any
node, as if those sockets had closed. What the sockets mean for the agent's presence
(online while one is open unless they chose otherwise, offline once the last has been
closed longer than the grace period) is `app.agents.service.presence`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.agents.service.presence import (
    choose_presence,
    expire_disconnected,
    last_socket_closed,
    lock_agent,
    offline_grace,
    socket_opened,
)
from app.realtime.models import AgentConnection

STATUSES = ("online", "away", "offline")


async def connect(
    session: AsyncSession, *, connection_id: str, agent_id: int, node: str, now: datetime
) -> str:
    await lock_agent(session, agent_id)
    presence = await socket_opened(session, agent_id=agent_id, now=now)
    session.add(
        AgentConnection(
            id=connection_id,
            agent_id=agent_id,
            node=node,
            status=presence,
            connected_at=now,
            last_heartbeat_at=now,
        )
    )
    await session.flush()
    return presence


async def set_status(
    session: AsyncSession,
    *,
    connection_id: str,
    agent_id: int,
    now: datetime,
    status: str | None = None,
    channels: Mapping[str, str] | None = None,
) -> str:
    """The agent chose on this socket (for every channel, or per channel): it holds for all
    their sockets, as the REST call. Returns the overall presence."""
    await lock_agent(session, agent_id)
    overall = await choose_presence(
        session, agent_id=agent_id, status=status, channels=channels, now=now
    )
    await session.execute(
        update(AgentConnection)
        .where(AgentConnection.agent_id == agent_id)
        .values(status=overall, last_heartbeat_at=now)
    )
    return overall


async def disconnect(
    session: AsyncSession, *, connection_id: str, agent_id: int, now: datetime
) -> str:
    await lock_agent(session, agent_id)
    await session.execute(delete(AgentConnection).where(AgentConnection.id == connection_id))
    return await _after_close(session, agent_id, now=now)


async def _after_close(session: AsyncSession, agent_id: int, *, now: datetime) -> str:
    left = await session.scalar(select(func.count()).where(AgentConnection.agent_id == agent_id))
    if left:
        presence = await session.scalar(select(Agent.presence).where(Agent.id == agent_id))
        return presence or "offline"
    return await last_socket_closed(session, agent_id=agent_id, now=now)


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
    dropped = await _drop(session, stale, now=now)
    gone, _ = await expire_disconnected(session, now=now, grace=await offline_grace(session))
    return sorted({*dropped, *gone})


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
        await _after_close(session, agent_id, now=now)
    return agents
