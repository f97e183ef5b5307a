"""An agent's presence as the routing engine reads it (agents.presence), set by the
realtime hub from the agent's sockets; every change is an `agent.presence` event."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.outbox.service import emit

AGENT_PRESENCE = "agent.presence"


async def lock_agent(session: AsyncSession, agent_id: int) -> bool:
    """Serialises the presence changes of one agent (whose sockets may open and close at the
    same moment on several nodes): take it before reading what the presence derives from.
    Returns whether the agent exists."""
    found = await session.scalar(
        select(Agent.id).where(Agent.id == agent_id).with_for_update(key_share=True)
    )
    return found is not None


async def set_agent_presence(
    session: AsyncSession, *, agent_id: int, presence: str, now: datetime
) -> bool:
    """Store the agent's presence; returns whether it changed (then an event says so).
    The caller holds `lock_agent`."""
    current = await session.scalar(select(Agent.presence).where(Agent.id == agent_id))
    if current is None:
        return False
    if current == presence:
        await session.execute(update(Agent).where(Agent.id == agent_id).values(last_seen_at=now))
        return False
    # presence_since: routing counts an offline agent's grace period from it.
    await session.execute(
        update(Agent)
        .where(Agent.id == agent_id)
        .values(presence=presence, last_seen_at=now, presence_since=now)
    )
    emit(
        session,
        topic=AGENT_PRESENCE,
        payload={"agent_id": agent_id, "status": presence, "changed_at": now.isoformat()},
    )
    return True
