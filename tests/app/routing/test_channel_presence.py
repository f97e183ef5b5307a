"""Presence per channel: an agent away on chat stays online on email. PUT
/api/v1/agents/me/presence takes `status` (every channel) and/or `channels`; routing reads
each channel's presence; the idle timeout, an unanswered offer and the offline grace act
per channel."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.db.engine import SessionMaker
from app.inboxes.channels import CHANNEL_NAMES
from app.outbox.models import OutboxEvent
from app.realtime import presence as sockets
from app.routing.models import RoutingOffer, RoutingQueue, RoutingSettings
from routing.driver import RoutingDriver
from routing.sweep import sweep
from tests.conftest import FrozenClock
from tests.factories.agents import auth_headers, make_agent
from tests.routing.driver_support import assignees, staff, waiting_ticket

GRACE = 30
PRESENCE = "/api/v1/agents/me/presence"


def _every(status: str, **but: str) -> dict[str, str]:
    return {c: but.get(c, status) for c in CHANNEL_NAMES}


def _statuses(body: dict[str, Any]) -> dict[str, str]:
    return {c: v["status"] for c, v in body["channels"].items()}


async def _channels(session: AsyncSession, agent_id: int) -> tuple[str, dict[str, str]]:
    """The overall presence and each channel's, as GET /agents/{id} shows them."""
    from app.agents.service import get_agent
    from app.agents.service.agents import agent_out

    session.expire_all()
    shown = agent_out(await get_agent(session, agent_id))
    return shown.presence, shown.channel_presence


async def _presence_events(session: AsyncSession, agent_id: int) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(OutboxEvent.payload)
        .where(OutboxEvent.topic == "agent.presence")
        .order_by(OutboxEvent.id)
    )
    return [p for p in rows if p["agent_id"] == agent_id]


async def _settings(session: AsyncSession, **values: Any) -> None:
    session.add(RoutingSettings(id=1, offline_grace_seconds=GRACE, **values))
    await session.flush()


async def test_an_agent_sets_chat_away_and_email_stays_online(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    agent = await make_agent(db_session)
    headers = await auth_headers(db_session, agent)
    await client.put(PRESENCE, json={"status": "online"}, headers=headers)

    chat_away = await client.put(PRESENCE, json={"channels": {"chat": "away"}}, headers=headers)

    assert chat_away.status_code == 200, chat_away.text
    body = chat_away.json()
    assert body["status"] == "online"  # what the agent chose for every channel
    assert _statuses(body) == _every("online", chat="away")
    assert body["channels"]["chat"]["since"] is not None
    shown = (await client.get(f"/api/v1/agents/{agent.id}", headers=headers)).json()
    assert shown["presence"] == "online"
    assert shown["channel_presence"] == _every("online", chat="away")
    # Every change is an event carrying the channels (the sockets show it live).
    events = await _presence_events(db_session, agent.id)
    assert events[-1]["status"] == "online"
    assert events[-1]["channels"] == _every("online", chat="away")

    # Both at once: away everywhere but email; then a status alone clears the channels.
    both = await client.put(
        PRESENCE, json={"status": "away", "channels": {"email": "online"}}, headers=headers
    )
    assert both.json()["status"] == "away"
    assert _statuses(both.json()) == _every("away", email="online")
    back = await client.put(PRESENCE, json={"status": "online"}, headers=headers)
    assert _statuses(back.json()) == _every("online")
    assert (await _presence_events(db_session, agent.id))[-1]["channels"] == _every("online")
    # A choice that changes nothing is no event.
    count = len(await _presence_events(db_session, agent.id))
    await client.put(PRESENCE, json={"channels": {"email": "online"}}, headers=headers)
    assert len(await _presence_events(db_session, agent.id)) == count


async def test_a_wrong_channel_or_status_is_named(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    agent = await make_agent(db_session)
    headers = await auth_headers(db_session, agent)

    sms = await client.put(PRESENCE, json={"channels": {"sms": "away"}}, headers=headers)
    busy = await client.put(PRESENCE, json={"channels": {"chat": "busy"}}, headers=headers)
    not_a_map = await client.put(PRESENCE, json={"channels": ["chat"]}, headers=headers)
    nothing = await client.put(PRESENCE, json={}, headers=headers)

    assert sms.status_code == 422
    assert sms.json()["detail"].startswith("channels.sms:")
    assert busy.status_code == 422
    assert busy.json()["detail"].startswith("channels.chat:")
    assert not_a_map.status_code == 422
    assert "channels" in not_a_map.json()["detail"]
    assert nothing.status_code == 422
    assert "status" in nothing.json()["detail"]
    assert await _channels(db_session, agent.id) == ("offline", _every("offline"))


async def test_the_socket_sets_presence_per_channel_and_it_holds_across_a_reload(
    db_session: AsyncSession, clock: FrozenClock
) -> None:
    agent = await make_agent(db_session)
    await sockets.connect(db_session, connection_id="a", agent_id=agent.id, node="n", now=clock())
    await sockets.set_status(
        db_session, connection_id="a", agent_id=agent.id, channels={"chat": "away"}, now=clock()
    )
    await sockets.disconnect(db_session, connection_id="a", agent_id=agent.id, now=clock())
    await sockets.connect(db_session, connection_id="b", agent_id=agent.id, node="n", now=clock())
    assert await _channels(db_session, agent.id) == ("online", _every("online", chat="away"))


async def test_away_on_chat_online_on_email_gets_email_and_no_chat_offer(
    sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    async with sessionmaker() as session, session.begin():
        session.add(RoutingQueue(offer_timeout_seconds=60))  # chats would be offered
        agent = await staff(session, now=clock(), capacity={"chat": 3, "email": 10})
        await sockets.set_status(
            session, connection_id="-", agent_id=agent.id, channels={"chat": "away"}, now=clock()
        )
        chat = await waiting_ticket(session, now=clock(), channel="chat")
        email = await waiting_ticket(session, now=clock(), channel="email")
    driver = RoutingDriver(sessionmaker, clock=clock)
    await driver.route()
    async with sessionmaker() as session:
        offers = (await session.execute(select(RoutingOffer.ticket_id, RoutingOffer.channel))).all()
        assigned = await assignees(session, [chat.id, email.id])
    # The email ticket is offered to the agent (the queue offers); the chat waits.
    assert [tuple(o) for o in offers] == [(email.id, "email")]
    assert assigned == {chat.id: None, email.id: None}


async def test_the_idle_timeout_turns_away_only_the_channels_that_were_online(
    client: AsyncClient, db_session: AsyncSession, sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    await _settings(db_session, idle_timeout_seconds=600)
    agent = await make_agent(db_session)
    headers = await auth_headers(db_session, agent)
    await client.put(
        PRESENCE, json={"status": "online", "channels": {"chat": "offline"}}, headers=headers
    )
    driver = RoutingDriver(sessionmaker, clock=clock)
    clock.advance(minutes=11)
    assert (await sweep(driver)).turned_away == 1
    # Every online channel is away now; chat stays offline as the agent chose.
    assert await _channels(db_session, agent.id) == ("away", _every("away", chat="offline"))
    assert (await _presence_events(db_session, agent.id))[-1]["channels"] == _every(
        "away", chat="offline"
    )


async def test_the_idle_timeout_leaves_a_channel_chosen_away_as_it_is(
    client: AsyncClient, db_session: AsyncSession, sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    await _settings(db_session, idle_timeout_seconds=600)
    agent = await make_agent(db_session)
    headers = await auth_headers(db_session, agent)
    await client.put(
        PRESENCE, json={"status": "away", "channels": {"email": "online"}}, headers=headers
    )
    driver = RoutingDriver(sessionmaker, clock=clock)
    clock.advance(minutes=9)
    assert (await sweep(driver)).turned_away == 0
    clock.advance(minutes=2)
    assert (await sweep(driver)).turned_away == 1
    assert await _channels(db_session, agent.id) == ("away", _every("away"))


async def test_an_unanswered_offer_sets_only_its_channel_away(
    sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    async with sessionmaker() as session, session.begin():
        session.add(RoutingQueue(offer_timeout_seconds=30))
        agent = await staff(session, now=clock(), capacity={"chat": 3, "email": 10})
        chat = await waiting_ticket(session, now=clock(), channel="chat")
    driver = RoutingDriver(sessionmaker, clock=clock)
    await driver.route()
    async with sessionmaker() as session:
        offered = await session.scalar(
            select(RoutingOffer.agent_id).where(RoutingOffer.ticket_id == chat.id)
        )
    assert offered == agent.id
    clock.advance(seconds=31)
    assert (await sweep(driver)).expired == 1
    async with sessionmaker() as session:
        assert await _channels(session, agent.id) == ("online", _every("online", chat="away"))
    # Still online on email: a new email ticket is routed to the agent.
    async with sessionmaker() as session, session.begin():
        email = await waiting_ticket(session, now=clock(), channel="email")
    await driver.route()
    async with sessionmaker() as session:
        offers = (
            await session.scalars(
                select(RoutingOffer.agent_id).where(RoutingOffer.ticket_id == email.id)
            )
        ).all()
        assigned = await assignees(session, [email.id])
    assert list(offers) == [agent.id]
    assert assigned == {email.id: None}  # offered, not yet accepted


async def test_offline_on_chat_by_choice_returns_the_chats_after_the_grace_email_stays(
    client: AsyncClient, db_session: AsyncSession, sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    await _settings(db_session)
    agent = await staff(db_session, now=clock(), capacity={"chat": 3, "email": 10})
    agent_id = agent.id
    chat_id = (await waiting_ticket(db_session, now=clock(), channel="chat")).id
    email_id = (await waiting_ticket(db_session, now=clock(), channel="email")).id
    headers = await auth_headers(db_session, agent)
    driver = RoutingDriver(sessionmaker, clock=clock)
    assert len((await driver.route()).assigned) == 2
    gone = await client.put(PRESENCE, json={"channels": {"chat": "offline"}}, headers=headers)
    assert _statuses(gone.json()) == _every("online", chat="offline")

    clock.advance(seconds=GRACE - 1)
    assert (await sweep(driver)).requeued == 0
    clock.advance(seconds=1)
    assert (await sweep(driver)).requeued == 1
    db_session.expire_all()
    assert await assignees(db_session, [chat_id, email_id]) == {chat_id: None, email_id: agent_id}
    # Not back to the agent: chat is offline for them.
    await driver.route()
    db_session.expire_all()
    assert (await assignees(db_session, [chat_id]))[chat_id] is None


async def test_away_on_chat_still_returns_the_chats_once_the_last_socket_is_gone(
    sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    async with sessionmaker() as session, session.begin():
        await _settings(session)
        agent = await staff(session, now=clock(), capacity={"chat": 3})
        chat = await waiting_ticket(session, now=clock(), channel="chat")
        await sockets.connect(session, connection_id="s", agent_id=agent.id, node="n", now=clock())
    driver = RoutingDriver(sessionmaker, clock=clock)
    await driver.route()
    async with sessionmaker() as session, session.begin():
        await sockets.set_status(
            session, connection_id="s", agent_id=agent.id, channels={"chat": "away"}, now=clock()
        )
        await sockets.disconnect(session, connection_id="s", agent_id=agent.id, now=clock())
    clock.advance(seconds=GRACE + 1)
    outcome = await sweep(driver)
    assert outcome.gone_offline == 1
    assert outcome.requeued == 1
    async with sessionmaker() as session:
        assert await _channels(session, agent.id) == ("offline", _every("offline"))
        assert await assignees(session, [chat.id]) == {chat.id: None}
    # Back on a socket: chat is away again, as the agent chose.
    async with sessionmaker() as session, session.begin():
        await sockets.connect(session, connection_id="t", agent_id=agent.id, node="n", now=clock())
    async with sessionmaker() as session:
        assert await _channels(session, agent.id) == ("online", _every("online", chat="away"))


async def test_chosen_offline_but_email_online_goes_offline_everywhere_once_gone(
    client: AsyncClient, db_session: AsyncSession, sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    await _settings(db_session)
    agent = await make_agent(db_session)
    headers = await auth_headers(db_session, agent)
    await sockets.connect(db_session, connection_id="s", agent_id=agent.id, node="n", now=clock())
    await client.put(
        PRESENCE, json={"status": "offline", "channels": {"email": "online"}}, headers=headers
    )
    assert await _channels(db_session, agent.id) == ("offline", _every("offline", email="online"))
    await sockets.disconnect(db_session, connection_id="s", agent_id=agent.id, now=clock())
    clock.advance(seconds=GRACE + 1)
    assert (await sweep(RoutingDriver(sessionmaker, clock=clock))).gone_offline == 1
    assert await _channels(db_session, agent.id) == ("offline", _every("offline"))
    stored = await db_session.scalar(select(Agent.channel_presence).where(Agent.id == agent.id))
    assert stored == {}
