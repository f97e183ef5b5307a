"""Two app nodes share one conversation through Redis; Redis dies and comes back; a node
restarts mid-conversation. Nothing is lost or doubled on either side.

The nodes are two uvicorn servers on their own ports, each with its own event loop,
database pool and Redis client (as two processes would be), the outbox relay runs as the
worker runs it, and Redis is a private redis-server that the test kills and restarts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import func, select

from app.db.engine import SessionMaker
from app.messages.models import Message
from app.outbox.relay import run_relay
from tests.app.realtime.support import (
    Peer,
    live_settings,
    make_admin_token,
    make_chat_inbox,
    peer,
    serving,
    visitor_session,
    ws_url,
)
from tests.conftest import CHANNEL_PREFIX
from tests.servers.redis_server import RedisServer, private_redis

PREFIX = f"{CHANNEL_PREFIX}-resilience"


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with private_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nodes") / "data"


def node(live_database: str, redis_server: RedisServer, data_dir: Path) -> Any:
    return serving(live_settings(live_database, redis_server.url, data_dir, prefix=PREFIX))


@pytest.fixture(scope="module")
def node_a(live_database: str, redis_server: RedisServer, data_dir: Path) -> Iterator[str]:
    with node(live_database, redis_server, data_dir) as url:
        yield url


@pytest.fixture(scope="module")
def node_b(live_database: str, redis_server: RedisServer, data_dir: Path) -> Iterator[str]:
    with node(live_database, redis_server, data_dir) as url:
        yield url


@pytest.fixture
async def relay(live_sessionmaker: SessionMaker, redis_server: RedisServer) -> AsyncIterator[None]:
    """The worker's outbox relay, quick to retry so the test's outage stays short."""
    pool = ArqRedis.from_url(redis_server.url)
    task = asyncio.create_task(
        run_relay(live_sessionmaker, pool, prefix=PREFIX, idle_delay=0.02, max_backoff=0.5)
    )
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await pool.aclose()


def message_ids(p: Peer) -> list[int]:
    return [f["message_id"] for f in p.everything if f["type"] == "message.new"]


async def stored_messages(sessionmaker: SessionMaker, ticket_id: int) -> int:
    async with sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).select_from(Message).where(Message.ticket_id == ticket_id)
        )
    return int(count or 0)


async def test_two_nodes_talk_through_redis_and_survive_its_outage(
    node_a: str,
    node_b: str,
    relay: None,
    redis_server: RedisServer,
    live_sessionmaker: SessionMaker,
) -> None:
    _, token = await make_admin_token(live_sessionmaker)
    async with httpx.AsyncClient(base_url=node_a) as http:
        inbox = await make_chat_inbox(http, token)
        session = await visitor_session(http, inbox["public_key"])

    async with (
        peer(ws_url(node_a, "/ws/widget", session["token"])) as visitor,
        peer(ws_url(node_a, "/ws/agent", token), origin=None) as agent_a,
        peer(ws_url(node_b, "/ws/agent", token), origin=None) as agent_b,
    ):
        for p in (visitor, agent_a, agent_b):
            await p.expect("hello")
        await visitor.send(type="message.send", client_id="c1", body="Hello from node A")
        c1 = await visitor.expect("message.ack", client_id="c1")
        ticket_id = c1["ticket_id"]
        await agent_b.expect("message.new", message_id=c1["message_id"])  # through Redis
        await agent_b.send(
            type="message.send", client_id="r1", ticket_id=ticket_id, body="Hi from B"
        )
        r1 = await agent_b.expect("message.ack", client_id="r1")
        await visitor.expect("message.new", message_id=r1["message_id"])

        redis_server.stop()
        # Accepted, stored and acknowledged without Redis; the same node still hears it.
        await visitor.send(type="message.send", client_id="c2", body="Is anyone there?")
        c2 = await visitor.expect("message.ack", client_id="c2")
        await agent_a.expect("message.new", message_id=c2["message_id"])
        await agent_b.send(type="message.send", client_id="r2", ticket_id=ticket_id, body="Yes!")
        r2 = await agent_b.expect("message.ack", client_id="r2")
        assert c2["message_id"] not in message_ids(agent_b)

        redis_server.start()
        # Once Redis is back, the other node's clients get what they missed, once.
        await agent_b.expect("message.new", message_id=c2["message_id"], within=20)
        await visitor.expect("message.new", message_id=r2["message_id"], within=20)
        await visitor.send(type="message.send", client_id="c3", body="Thanks")
        c3 = await visitor.expect("message.ack", client_id="c3")
        await agent_b.expect("message.new", message_id=c3["message_id"])

        # A client that resumes on the other node gets exactly what it missed, in order.
        async with peer(ws_url(node_b, "/ws/widget", session["token"])) as moved:
            await moved.expect("hello")
            await moved.send(type="resume", since=c1["seq"])
            done = await moved.expect("resume.done")
            # What came before `resume.done` (live frames, such as a receipt being recorded
            # meanwhile, may follow it).
            before_done = moved.everything[: moved.everything.index(done)]
            resumed = [f for f in before_done if f.get("ticket_id") == ticket_id and "seq" in f]
            assert [f["seq"] for f in resumed] == list(range(c1["seq"] + 1, done["last_seq"] + 1))
            bodies = [f["body"] for f in resumed if f["type"] == "message.new"]
            assert bodies == ["Hi from B", "Is anyone there?", "Yes!", "Thanks"]

    for p in (visitor, agent_a, agent_b):
        assert len(message_ids(p)) == len(set(message_ids(p))), p.everything
    assert sorted(message_ids(agent_b)) == sorted(m["message_id"] for m in (c1, r1, c2, r2, c3))
    assert await stored_messages(live_sessionmaker, ticket_id) == 5


async def test_a_node_restarts_mid_conversation(
    live_database: str,
    redis_server: RedisServer,
    data_dir: Path,
    node_b: str,
    relay: None,
    live_sessionmaker: SessionMaker,
) -> None:
    _, token = await make_admin_token(live_sessionmaker)
    async with httpx.AsyncClient(base_url=node_b) as http:
        inbox = await make_chat_inbox(http, token)
        session = await visitor_session(http, inbox["public_key"])

    with node(live_database, redis_server, data_dir) as node_a:
        async with (
            peer(ws_url(node_a, "/ws/widget", session["token"])) as visitor,
            peer(ws_url(node_a, "/ws/agent", token), origin=None) as agent,
        ):
            await visitor.expect("hello")
            await agent.expect("hello")
            await visitor.send(type="message.send", client_id="c1", body="Before the restart")
            c1 = await visitor.expect("message.ack", client_id="c1")
            ticket_id = c1["ticket_id"]
            await agent.expect("message.new", message_id=c1["message_id"])
            await agent.send(type="message.send", client_id="r1", ticket_id=ticket_id, body="r1")
            r1 = await agent.expect("message.ack", client_id="r1")
            await visitor.expect("message.new", message_id=r1["message_id"])
    # Node A is gone. The agent carries on through the other node meanwhile.
    async with httpx.AsyncClient(base_url=node_b) as http:
        during = await http.post(
            f"/api/v1/tickets/{ticket_id}/messages",
            json={"body": "Sent while node A restarts"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert during.status_code == 201, during.text

    with node(live_database, redis_server, data_dir) as node_a:
        async with (
            peer(ws_url(node_a, "/ws/widget", session["token"])) as visitor,
            peer(ws_url(node_a, "/ws/agent", token), origin=None) as agent,
        ):
            await visitor.expect("hello")
            await agent.expect("hello")
            # Both resume from the last seq they had before the restart.
            await agent.send(type="resume", ticket_id=ticket_id, since=r1["seq"])
            await agent.expect("resume.done", ticket_id=ticket_id)
            await visitor.send(type="resume", since=r1["seq"])
            await visitor.expect("resume.done")
            # The widget sends what it is unsure of (c1, acknowledged once already: not
            # stored again) and what it queued while disconnected (c2).
            await visitor.send(type="message.send", client_id="c1", body="Before the restart")
            assert (await visitor.expect("message.ack", client_id="c1")) == c1
            await visitor.send(type="message.send", client_id="c2", body="After the restart")
            c2 = await visitor.expect("message.ack", client_id="c2")
            await agent.expect("message.new", message_id=c2["message_id"])

    assert message_ids(visitor) == [during.json()["id"], c2["message_id"]]  # each once
    assert message_ids(agent) == [during.json()["id"], c2["message_id"]]
    assert await stored_messages(live_sessionmaker, ticket_id) == 4  # c1, r1, during, c2
