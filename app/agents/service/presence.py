"""An agent's presence as the routing engine reads it, per channel; every change is an
`agent.presence` event carrying every channel's status.

The agent chooses (PUT /api/v1/agents/me/presence, or `presence.set` on their socket): a
status for every channel (`agents.presence_choice`, shown as `agents.presence`), and where
they want otherwise, a status per channel (`agents.channel_presence`, e.g. chat away while
email stays online). A choice holds until they change it, except that the idle timeout
(routing's sweep) sets the channels they were online on `away`, an unanswered offer sets
its channel `away`, and once their last socket has been closed longer than the grace
period (`routing_settings.offline_grace_seconds`) they are offline on every channel: a
page reload costs nothing, a closed laptop gives the chats back. An agent who never chose
is online while a socket is open.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import PRESENCES, Agent
from app.errors import NotFound, ValidationFailed
from app.inboxes.channels import CHANNEL_NAMES
from app.outbox.service import emit
from app.routing.models import RoutingSettings

AGENT_PRESENCE = "agent.presence"
DEFAULT_OFFLINE_GRACE = timedelta(minutes=2)  # routing_settings' default


@dataclass(frozen=True)
class ChannelState:
    status: str
    since: datetime | None


@dataclass(frozen=True)
class PresenceView:
    agent_id: int
    status: str  # overall: what the agent chose for every channel (or online by socket)
    chosen: str | None  # what the agent (or the idle timeout) chose
    since: datetime | None
    disconnected_at: datetime | None  # the last socket closed; offline after the grace
    channels: Mapping[str, ChannelState]  # what routing sees on each channel


class _Row(NamedTuple):
    presence: str
    chosen: str | None
    since: datetime | None
    own: dict[str, Any]  # agents.channel_presence


def is_gone(presence: str, chosen: str | None) -> bool:
    """Offline without having chosen it (no socket past the grace, or never connected):
    every channel is offline then, whatever was chosen for it."""
    return presence == "offline" and chosen != "offline"


def channel_states(
    presence: str, chosen: str | None, since: datetime | None, own: Mapping[str, Any]
) -> dict[str, ChannelState]:
    """Each channel's status and since when: its own choice where there is one, else the
    overall status."""
    gone = is_gone(presence, chosen)
    states = {}
    for channel in CHANNEL_NAMES:
        entry = own.get(channel)
        status = entry.get("status") if isinstance(entry, dict) else None
        if status not in PRESENCES or (gone and status != "offline"):
            states[channel] = ChannelState(presence, since)
        else:
            assert isinstance(entry, dict)
            raw = entry.get("since")
            states[channel] = ChannelState(
                str(status), datetime.fromisoformat(raw) if isinstance(raw, str) else since
            )
    return states


def online_on(channel: str) -> ColumnElement[bool]:
    """SQL: the agent is online on the channel (as `channel_states` says)."""
    own = Agent.channel_presence[channel]["status"].astext
    gone = and_(Agent.presence == "offline", Agent.presence_choice.is_distinct_from("offline"))
    return or_(and_(own == "online", ~gone), and_(own.is_(None), Agent.presence == "online"))


def check_presence_choice(
    status: object, channels: object
) -> tuple[str | None, dict[str, str] | None]:
    """What PUT /agents/me/presence and the socket's `presence.set` take: `status` (every
    channel) and/or `channels` (channel -> status); a wrong one names its field."""
    if status is not None and status not in PRESENCES:
        raise ValidationFailed.field("status", f"must be one of {', '.join(PRESENCES)}")
    if channels is None:
        if status is None:
            raise ValidationFailed.field("status", "give status or channels")
        return str(status), None
    if not isinstance(channels, Mapping):
        raise ValidationFailed.field("channels", "must be an object: channel -> status")
    chosen: dict[str, str] = {}
    for channel, wanted in channels.items():
        if channel not in CHANNEL_NAMES:
            raise ValidationFailed.field(
                f"channels.{str(channel)[:50]}",
                f"unknown channel; use {', '.join(CHANNEL_NAMES)}",
            )
        if wanted not in PRESENCES:
            raise ValidationFailed.field(
                f"channels.{channel}", f"must be one of {', '.join(PRESENCES)}"
            )
        chosen[channel] = str(wanted)
    return (None if status is None else str(status)), chosen


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


async def _row(session: AsyncSession, agent_id: int) -> _Row | None:
    row = (
        await session.execute(
            select(
                Agent.presence, Agent.presence_choice, Agent.presence_since, Agent.channel_presence
            ).where(Agent.id == agent_id)
        )
    ).one_or_none()
    return None if row is None else _Row(row[0], row[1], row[2], dict(row[3] or {}))


def _statuses(row: _Row) -> dict[str, str]:
    return {c: s.status for c, s in channel_states(*row).items()}


async def _store(
    session: AsyncSession,
    agent_id: int,
    *,
    now: datetime,
    presence: str | None = None,
    since: datetime | None = None,
    values: Mapping[str, object] = {},
) -> bool:
    """Write the agent's presence (and `values`: the choices); returns whether the overall
    status or a channel's changed, and then an event says so. `since`: when it really
    changed (an agent whose sockets closed was gone from then)."""
    before = await _row(session, agent_id)
    if before is None:
        return False
    status = before.presence if presence is None else presence
    changes: dict[str, object] = {**values, "last_seen_at": now}
    if status != before.presence:
        # presence_since: routing counts an offline agent's grace period from it.
        changes |= {"presence": status, "presence_since": since or now}
    await session.execute(update(Agent).where(Agent.id == agent_id).values(**changes))
    after = _Row(
        status,
        str(values["presence_choice"]) if "presence_choice" in values else before.chosen,
        since or now if status != before.presence else before.since,
        dict(values["channel_presence"])  # type: ignore[call-overload]
        if "channel_presence" in values
        else before.own,
    )
    channels = _statuses(after)
    if status == before.presence and channels == _statuses(before):
        return False
    emit(
        session,
        topic=AGENT_PRESENCE,
        payload={
            "agent_id": agent_id,
            "status": status,
            "channels": channels,
            "changed_at": now.isoformat(),
        },
    )
    return True


async def set_agent_presence(
    session: AsyncSession,
    *,
    agent_id: int,
    presence: str,
    now: datetime,
    since: datetime | None = None,
) -> bool:
    """Store the agent's overall presence; returns whether it (or a channel's) changed.
    The caller holds `lock_agent`."""
    return await _store(session, agent_id, now=now, presence=presence, since=since)


def _settled(chosen: str, own: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A channel's choice equal to the overall one is no choice of its own; once every
    channel has its own, the overall choice is the one most channels hold (the idle
    timeout turns every online channel away: the agent is away, chat still offline)."""
    own = {c: entry for c, entry in own.items() if entry["status"] != chosen}
    if len(own) == len(CHANNEL_NAMES):
        held = [entry["status"] for entry in own.values()]
        chosen = max(PRESENCES, key=lambda status: (held.count(status), -PRESENCES.index(status)))
        own = {c: entry for c, entry in own.items() if entry["status"] != chosen}
    return chosen, own


async def choose_presence(
    session: AsyncSession,
    *,
    agent_id: int,
    now: datetime,
    status: str | None = None,
    channels: Mapping[str, str] | None = None,
    by_agent: bool = True,
) -> str:
    """A presence that holds until the agent changes it: `status` for every channel (their
    choices per channel are cleared), then `channels` (channel -> status) on top. `by_agent`:
    their own choice, which is activity too (the idle timeout starts again; a socket-less
    API user stays as chosen). Otherwise it is set for them (idle timeout, unanswered
    offer) and their sockets' grace keeps running. The caller holds `lock_agent`; returns
    the overall presence."""
    assert status is None or status in PRESENCES
    row = await _row(session, agent_id)
    if row is None:
        raise NotFound(f"agent {agent_id} does not exist")
    chosen = status if status is not None else (row.chosen or row.presence)
    own: dict[str, Any] = {} if status is not None else dict(row.own)
    for channel, wanted in (channels or {}).items():
        assert channel in CHANNEL_NAMES
        assert wanted in PRESENCES
        held = row.own.get(channel)
        if isinstance(held, dict) and held.get("status") == wanted:
            own[channel] = held  # unchanged: its since holds (an offline chat's grace runs)
        else:
            own[channel] = {"status": wanted, "since": now.isoformat()}
    chosen, own = _settled(chosen, own)
    values: dict[str, object] = {"presence_choice": chosen, "channel_presence": own}
    if by_agent:
        values |= {"last_activity_at": now, "disconnected_at": None}
    await _store(session, agent_id, now=now, presence=chosen, values=values)
    return chosen


async def touch_activity(session: AsyncSession, *, agent_id: int, now: datetime) -> None:
    """The agent is at work: the idle timeout counts from now. Callers write it sparingly
    (at most once a minute per socket; API calls count through their token's use)."""
    await session.execute(update(Agent).where(Agent.id == agent_id).values(last_activity_at=now))


async def do_set_own_presence(
    session: AsyncSession,
    *,
    agent_id: int,
    now: datetime,
    status: str | None = None,
    channels: Mapping[str, str] | None = None,
) -> PresenceView:
    if not await lock_agent(session, agent_id):
        raise NotFound(f"agent {agent_id} does not exist")
    await choose_presence(session, agent_id=agent_id, status=status, channels=channels, now=now)
    return await presence_view(session, agent_id)


async def presence_view(session: AsyncSession, agent_id: int) -> PresenceView:
    row = (
        await session.execute(
            select(
                Agent.presence,
                Agent.presence_choice,
                Agent.presence_since,
                Agent.disconnected_at,
                Agent.channel_presence,
            ).where(Agent.id == agent_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"agent {agent_id} does not exist")
    status, chosen, since, gone, own = row
    return PresenceView(
        agent_id, status, chosen, since, gone, channel_states(status, chosen, since, own or {})
    )


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
        await _gone(session, agent_id, now=now, since=now)
        return "offline"
    await session.execute(update(Agent).where(Agent.id == agent_id).values(disconnected_at=now))
    presence = await session.scalar(select(Agent.presence).where(Agent.id == agent_id))
    return presence or "offline"


async def expire_disconnected(
    session: AsyncSession, *, now: datetime, grace: timedelta
) -> tuple[list[int], datetime | None]:
    """Agents whose last socket closed at least `grace` ago go offline on every channel, as
    of the moment it closed (so routing's grace for their chats has run out too). Returns
    them and the soonest grace still running. (An open socket clears `disconnected_at`.)"""
    rows = (
        await session.execute(
            select(Agent.id, Agent.disconnected_at)
            .where(
                Agent.disconnected_at.is_not(None),
                or_(
                    Agent.presence != "offline",
                    # chose offline but a channel online: that channel goes offline too
                    and_(Agent.presence_choice == "offline", Agent.channel_presence != {}),
                ),
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
            await _gone(session, agent_id, now=now, since=closed_at)
            gone.append(agent_id)
    return gone, min(running, default=None)


async def _gone(session: AsyncSession, agent_id: int, *, now: datetime, since: datetime) -> None:
    """Offline on every channel. An agent who chose offline overall stays so by choice, and
    their channels' own choices end (the agent is no longer there to hold them)."""
    row = await _row(session, agent_id)
    values: dict[str, object] = {}
    if row is not None and row.chosen == "offline":
        values["channel_presence"] = {}
    await _store(session, agent_id, now=now, presence="offline", since=since, values=values)
