"""PUT /api/v1/agents/me/presence: the agent's choice holds until they change it, the idle
timeout passes with no activity (API calls count), or their last socket has been closed
longer than the grace period; then their open chats go back to the queue, email stays."""

from __future__ import annotations

from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.db.engine import SessionMaker
from app.realtime import presence as sockets
from app.routing.models import RoutingSettings
from routing.driver import RoutingDriver
from routing.sweep import sweep
from tests.conftest import FrozenClock
from tests.factories.agents import auth_headers, make_agent
from tests.routing.driver_support import assignees, decisions_of, staff, waiting_ticket

GRACE = 30


async def _presence(session: AsyncSession, agent_id: int) -> tuple[str, str | None]:
    row = (
        await session.execute(
            select(Agent.presence, Agent.presence_choice).where(Agent.id == agent_id)
        )
    ).one()
    return row[0], row[1]


async def _short_grace(session: AsyncSession) -> None:
    session.add(RoutingSettings(id=1, offline_grace_seconds=GRACE, idle_timeout_seconds=600))
    await session.flush()


async def test_an_agent_sets_their_presence_and_bad_input_is_named(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    agent = await make_agent(db_session)
    headers = await auth_headers(db_session, agent)

    away = await client.put("/api/v1/agents/me/presence", json={"status": "away"}, headers=headers)
    busy = await client.put("/api/v1/agents/me/presence", json={"status": "busy"}, headers=headers)
    extra = await client.put(
        "/api/v1/agents/me/presence", json={"status": "away", "until": 3}, headers=headers
    )
    anonymous = await client.put("/api/v1/agents/me/presence", json={"status": "online"})
    read_only = await client.put(
        "/api/v1/agents/me/presence",
        json={"status": "online"},
        headers=await auth_headers(db_session, agent, scopes=("read",)),
    )

    assert away.status_code == 200, away.text
    assert away.json()["status"] == "away"
    assert away.json()["chosen"] == "away"
    assert busy.status_code == 422
    assert "status" in busy.json()["detail"]
    assert extra.status_code == 422
    assert "until" in extra.json()["detail"]
    assert anonymous.status_code == 401
    assert read_only.status_code == 403
    assert await _presence(db_session, agent.id) == ("away", "away")
    shown = await client.get(f"/api/v1/agents/{agent.id}", headers=headers)
    assert shown.json()["presence"] == "away"


async def test_the_choice_holds_across_sockets_until_the_agent_changes_it(
    client: AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    agent = await make_agent(db_session)
    headers = await auth_headers(db_session, agent)
    assert await sockets.connect(
        db_session, connection_id="a", agent_id=agent.id, node="n", now=clock()
    ) == "online"  # fmt: skip
    await client.put("/api/v1/agents/me/presence", json={"status": "away"}, headers=headers)
    await sockets.disconnect(db_session, connection_id="a", agent_id=agent.id, now=clock())
    # A reload: a new socket, and the agent is still away as they chose.
    assert await sockets.connect(
        db_session, connection_id="b", agent_id=agent.id, node="n", now=clock()
    ) == "away"  # fmt: skip
    back = await client.put(
        "/api/v1/agents/me/presence", json={"status": "online"}, headers=headers
    )
    assert back.json()["status"] == "online"
    assert await _presence(db_session, agent.id) == ("online", "online")


async def test_idle_agents_turn_away_and_api_calls_count_as_activity(
    client: AsyncClient, db_session: AsyncSession, sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    agent = await make_agent(db_session)
    headers = await auth_headers(db_session, agent)
    driver = RoutingDriver(sessionmaker, clock=clock)
    await client.put("/api/v1/agents/me/presence", json={"status": "online"}, headers=headers)

    clock.advance(minutes=9)
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    clock.advance(minutes=5)  # 14 minutes since the choice, 5 since the last API call
    assert (await sweep(driver)).turned_away == 0
    assert await _presence(db_session, agent.id) == ("online", "online")

    clock.advance(minutes=6)  # 11 minutes with nothing: past the 10-minute idle timeout
    assert (await sweep(driver)).turned_away == 1
    assert await _presence(db_session, agent.id) == ("away", "away")
    # Away holds: a later sweep does not bring the agent back, their own choice does.
    clock.advance(minutes=1)
    await sweep(driver)
    assert await _presence(db_session, agent.id) == ("away", "away")


async def test_activity_writes_are_batched_not_one_per_request(
    client: AsyncClient, db_session: AsyncSession, sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    from app.auth.models import ApiToken

    agent_id = (await make_agent(db_session)).id
    headers = await auth_headers(db_session, await db_session.get_one(Agent, agent_id))
    used = select(ApiToken.last_used_at).where(ApiToken.agent_id == agent_id)
    await client.get("/api/v1/auth/me", headers=headers)
    first = await db_session.scalar(used)
    clock.advance(seconds=30)
    await client.get("/api/v1/auth/me", headers=headers)
    db_session.expire_all()
    second = await db_session.scalar(used)
    assert first == second  # the second call within the minute wrote nothing
    clock.advance(seconds=31)
    await client.get("/api/v1/auth/me", headers=headers)
    db_session.expire_all()
    third = await db_session.scalar(used)
    assert third == clock()


async def test_chats_return_to_the_queue_once_the_last_socket_is_gone_past_the_grace(
    sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    async with sessionmaker() as session, session.begin():
        await _short_grace(session)
        agent = await staff(session, now=clock(), capacity={"chat": 3, "email": 10})
        chat = await waiting_ticket(session, now=clock(), channel="chat")
        email = await waiting_ticket(session, now=clock(), channel="email")
        await sockets.connect(session, connection_id="s1", agent_id=agent.id, node="n", now=clock())
    driver = RoutingDriver(sessionmaker, clock=clock)
    assert len((await driver.route()).assigned) == 2

    async with sessionmaker() as session, session.begin():
        await sockets.disconnect(session, connection_id="s1", agent_id=agent.id, now=clock())
    closed_at = clock()
    clock.advance(seconds=GRACE - 1)
    early = await sweep(driver)
    async with sessionmaker() as session:
        assert await _presence(session, agent.id) == ("online", None)
        assert await assignees(session, [chat.id, email.id]) == {
            chat.id: agent.id,
            email.id: agent.id,
        }
    # The sweep knows when to look again: when the grace ends.
    assert early.next_due_at == closed_at + timedelta(seconds=GRACE)

    clock.advance(seconds=2)
    late = await sweep(driver)
    assert late.gone_offline == 1
    assert late.requeued == 1
    async with sessionmaker() as session:
        assert await _presence(session, agent.id) == ("offline", None)
        since = await session.scalar(select(Agent.presence_since).where(Agent.id == agent.id))
        assert since == closed_at  # offline as of the moment the socket closed
        assert await assignees(session, [chat.id, email.id]) == {
            chat.id: None,
            email.id: agent.id,
        }
        requeue = (await decisions_of(session, chat.id))[-1]
    assert requeue.action == "requeue"
    assert requeue.agent_id == agent.id


async def test_a_reload_within_the_grace_keeps_the_agent_and_their_chats(
    sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    async with sessionmaker() as session, session.begin():
        await _short_grace(session)
        agent = await staff(session, now=clock(), capacity={"chat": 3})
        chat = await waiting_ticket(session, now=clock(), channel="chat")
        await sockets.connect(session, connection_id="s1", agent_id=agent.id, node="n", now=clock())
    driver = RoutingDriver(sessionmaker, clock=clock)
    await driver.route()
    async with sessionmaker() as session, session.begin():
        await sockets.disconnect(session, connection_id="s1", agent_id=agent.id, now=clock())
        clock.advance(seconds=GRACE - 5)
        await sockets.connect(session, connection_id="s2", agent_id=agent.id, node="n", now=clock())
    clock.advance(seconds=GRACE * 3)
    outcome = await sweep(driver)
    assert outcome.gone_offline == 0
    assert outcome.requeued == 0
    async with sessionmaker() as session:
        assert await _presence(session, agent.id) == ("online", None)
        assert await assignees(session, [chat.id]) == {chat.id: agent.id}


async def test_choosing_offline_requeues_the_chats_after_the_grace(
    client: AsyncClient, db_session: AsyncSession, sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    await _short_grace(db_session)
    agent = await staff(db_session, now=clock(), capacity={"chat": 3})
    chat_id = (await waiting_ticket(db_session, now=clock(), channel="chat")).id
    headers = await auth_headers(db_session, agent)
    driver = RoutingDriver(sessionmaker, clock=clock)
    await driver.route()
    gone = await client.put(
        "/api/v1/agents/me/presence", json={"status": "offline"}, headers=headers
    )
    assert gone.json()["status"] == "offline"

    clock.advance(seconds=GRACE - 1)
    assert (await sweep(driver)).requeued == 0
    clock.advance(seconds=1)
    assert (await sweep(driver)).requeued == 1
    db_session.expire_all()
    assert await assignees(db_session, [chat_id]) == {chat_id: None}
