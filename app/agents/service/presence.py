"""An agent's presence as the routing engine reads it (agents.presence); every change is
an `agent.presence` event.

The agent chooses (PUT /api/v1/agents/me/presence, or `presence.set` on their socket) and
the choice holds until they change it, except that the idle timeout (routing's sweep) or
an unanswered offer sets `away` for them, and that once their last socket has been
closed longer than the grace period (`routing_settings.offline_grace_seconds`) they are
offline: a page reload costs nothing, a closed laptop gives the chats back. An agent who
never chose is online while a socket is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import PRESENCES, Agent
from app.errors import NotFound
from app.outbox.service import emit
from app.routing.models import RoutingSettings

AGENT_PRESENCE = "agent.presence"
DEFAULT_OFFLINE_GRACE = timedelta(minutes=2)  # routing_settings' default


@dataclass(frozen=True)
class PresenceView:
    agent_id: int
    status: str  # what routing sees
    chosen: str | None  # what the agent (or the idle timeout) chose
    since: datetime | None
    disconnected_at: datetime | None  # the last socket closed; offline after the grace


async def lock_agent(session: AsyncSession, agent_id: int) -> bool:
    """Serialises the presence changes of one agent (whose sockets may open and close at the
    same moment on several nodes): take it before reading what the presence derives from.
    Returns whether the agent exists."""
    found = await session.scalar(
        select(Agent.id).where(Agent.id == agent_id).with_for_update(key_share=True)
    )
    return found is not None


async def offline_grace(session: AsyncSession) -> timedelta:
    seconds = await session.scalar(
        select(RoutingSettings.offline_grace_seconds).where(RoutingSettings.id == 1)
    )
    return DEFAULT_OFFLINE_GRACE if seconds is None else timedelta(seconds=seconds)


async def set_agent_presence(
    session: AsyncSession,
    *,
    agent_id: int,
    presence: str,
    now: datetime,
    since: datetime | None = None,
) -> bool:
    """Store the agent's presence; returns whether it changed (then an event says so).
    `since`: when it really changed (an agent whose sockets closed was gone from then).
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
        .values(presence=presence, last_seen_at=now, presence_since=since or now)
    )
    emit(
        session,
        topic=AGENT_PRESENCE,
        payload={"agent_id": agent_id, "status": presence, "changed_at": now.isoformat()},
    )
    return True


async def choose_presence(
    session: AsyncSession, *, agent_id: int, status: str, now: datetime, by_agent: bool = True
) -> str:
    """A presence that holds until the agent changes it. `by_agent`: their own choice,
    which is activity too (the idle timeout starts again; a socket-less API user stays as
    chosen). Otherwise it is set for them (idle timeout, unanswered offer) and their
    sockets' grace keeps running. The caller holds `lock_agent`; returns the presence."""
    assert status in PRESENCES
    values: dict[str, object] = {"presence_choice": status}
    if by_agent:
        values |= {"last_activity_at": now, "disconnected_at": None}
    await session.execute(update(Agent).where(Agent.id == agent_id).values(**values))
    await set_agent_presence(session, agent_id=agent_id, presence=status, now=now)
    return status


async def touch_activity(session: AsyncSession, *, agent_id: int, now: datetime) -> None:
    """The agent is at work: the idle timeout counts from now. Callers write it sparingly
    (at most once a minute per socket; API calls count through their token's use)."""
    await session.execute(update(Agent).where(Agent.id == agent_id).values(last_activity_at=now))


async def do_set_own_presence(
    session: AsyncSession, *, agent_id: int, status: str, now: datetime
) -> PresenceView:
    if not await lock_agent(session, agent_id):
        raise NotFound(f"agent {agent_id} does not exist")
    await choose_presence(session, agent_id=agent_id, status=status, now=now)
    return await presence_view(session, agent_id)


async def presence_view(session: AsyncSession, agent_id: int) -> PresenceView:
    row = (
        await session.execute(
            select(
                Agent.presence, Agent.presence_choice, Agent.presence_since, Agent.disconnected_at
            ).where(Agent.id == agent_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"agent {agent_id} does not exist")
    status, chosen, since, gone = row
    return PresenceView(agent_id, status, chosen, since, gone)


async def socket_opened(session: AsyncSession, *, agent_id: int, now: datetime) -> str:
    """A socket of the agent is open: back from any grace, and online unless they chose
    otherwise. The caller holds `lock_agent`."""
    chosen = await session.scalar(select(Agent.presence_choice).where(Agent.id == agent_id))
    await session.execute(
        update(Agent).where(Agent.id == agent_id).values(disconnected_at=None, last_activity_at=now)
    )
    presence = chosen or "online"
    await set_agent_presence(session, agent_id=agent_id, presence=presence, now=now)
    return presence


async def last_socket_closed(session: AsyncSession, *, agent_id: int, now: datetime) -> str:
    """The agent's last socket closed: the grace period starts (with none, they are offline
    at once). The caller holds `lock_agent`; returns the presence."""
    grace = await offline_grace(session)
    if grace <= timedelta(0):
        await set_agent_presence(session, agent_id=agent_id, presence="offline", now=now)
        return "offline"
    await session.execute(update(Agent).where(Agent.id == agent_id).values(disconnected_at=now))
    presence = await session.scalar(select(Agent.presence).where(Agent.id == agent_id))
    return presence or "offline"


async def expire_disconnected(
    session: AsyncSession, *, now: datetime, grace: timedelta
) -> tuple[list[int], datetime | None]:
    """Agents whose last socket closed at least `grace` ago go offline, as of the moment
    it closed (so routing's grace for their chats has run out too). Returns them and the
    soonest grace still running. (An open socket clears `disconnected_at`.)"""
    rows = (
        await session.execute(
            select(Agent.id, Agent.disconnected_at)
            .where(
                Agent.disconnected_at.is_not(None),
                Agent.presence != "offline",
                Agent.is_active.is_(True),
            )
            .order_by(Agent.id)
        )
    ).all()
    gone: list[int] = []
    running: list[datetime] = []
    for agent_id, closed_at in rows:
        assert closed_at is not None
        if closed_at + grace > now:
            running.append(closed_at + grace)
            continue
        if await lock_agent(session, agent_id):
            await set_agent_presence(
                session, agent_id=agent_id, presence="offline", now=now, since=closed_at
            )
            gone.append(agent_id)
    return gone, min(running, default=None)
