"""The widget against app processes as they are deployed: two `relaydesk serve` processes
on their own ports and one `relaydesk worker` (the outbox relay) sharing PostgreSQL and
Redis. The visitor's page talks to one node, the agent to the other, so every message
crosses Redis; then the visitor's node is restarted mid-conversation, and what both sides
sent meanwhile arrives once, in order."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import func, select

from app.messages.models import Message
from tests.app.outbox.conftest import free_port
from tests.app.realtime.support import Peer, peer, ws_url
from tests.browser.chat_support import (
    Agent,
    Widget,
    embed_page,
    make_agent_with_token,
    make_chat_inbox,
    new_visitor,
)
from tests.browser.conftest import Committed
from tests.browser.support import BrowserProblems
from tests.conftest import CHANNEL_PREFIX, REDIS_URL, RELAYDESK, SECRET_KEY
from tests.servers.static_site import static_site

pytestmark = pytest.mark.browser
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
# Chromium logs each refused websocket while the node is down; that is the test's doing.
NODE_DOWN = "WebSocket connection to"


@dataclass
class Process:
    """One `relaydesk` process, its output kept in a file for when it misbehaves."""

    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    output: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self.output = self.log.open("ab")
        self.process = subprocess.Popen(
            [str(RELAYDESK), *self.args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
                raise AssertionError(f"{self.args} did not stop; see {self.log}") from None
        if self.output is not None:
            self.output.close()
        self.process = None

    def check_running(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"{self.args} exited:\n{self.log.read_text()[-3000:]}")


@dataclass
class Node(Process):
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self.check_running()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.url} did not answer within {START_TIMEOUT}s")


@dataclass
class Cluster:
    a: Node
    b: Node
    worker: Process


@pytest.fixture(scope="module")
def cluster(
    live_database: str, redis_db: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    home = tmp_path_factory.mktemp("nodes")
    env = {
        **os.environ,
        "RELAYDESK_ENV": "test",
        "RELAYDESK_SECRET_KEY": SECRET_KEY,
        "RELAYDESK_REDIS_PREFIX": f"{CHANNEL_PREFIX}-nodes",
        "RELAYDESK_DATA_DIR": str(home / "data"),
        "DATABASE_URL": live_database,
        "DATABASE_POOL_SIZE": "3",
        "REDIS_URL": f"{REDIS_URL}/{redis_db}",
    }
    a, b = free_port(), free_port()
    cluster = Cluster(
        a=Node(["serve", "--port", str(a)], env, home / "a.log", port=a),
        b=Node(["serve", "--port", str(b)], env, home / "b.log", port=b),
        worker=Process(["worker"], env, home / "worker.log"),
    )
    processes = (cluster.a, cluster.b, cluster.worker)
    try:
        for process in processes:
            process.start()  # all three start at once: the imports take the time
        cluster.a.wait_ready()
        cluster.b.wait_ready()
        yield cluster
    finally:
        for process in processes:
            process.stop()


@pytest.fixture(scope="module")
def site_pages() -> dict[str, str]:
    return {}


@pytest.fixture(scope="module")
def site(site_pages: dict[str, str]) -> Iterator[str]:
    with static_site(site_pages) as url:
        yield url


@pytest.fixture(scope="module")
async def agent(committed: Committed[Any]) -> Agent:
    return await committed(lambda s: make_agent_with_token(s, name="Ada Lovelace"))


@pytest.fixture(scope="module")
async def inbox(
    cluster: Cluster, site: str, site_pages: dict[str, str], agent: Agent
) -> dict[str, Any]:
    inbox = await make_chat_inbox(cluster.a.url, agent.token, origins=[site])
    site_pages["/shop"] = embed_page(cluster.a.url, inbox["public_key"])  # node A's widget
    return inbox


@pytest.fixture
async def agent_on_b(cluster: Cluster, agent: Agent) -> AsyncIterator[Peer]:
    async with peer(ws_url(cluster.b.url, "/ws/agent", agent.token), origin=None) as p:
        await p.expect("hello")
        yield p


@pytest.fixture
async def visitor(browser: Browser) -> AsyncIterator[tuple[Page, BrowserProblems]]:
    problems = BrowserProblems()
    page = await new_visitor(browser, problems)
    yield page, problems
    await page.context.close()
    problems.found = [p for p in problems.found if NODE_DOWN not in p]
    problems.assert_none()


async def test_visitor_on_one_node_agent_on_another_and_a_restart_loses_nothing(
    cluster: Cluster,
    site: str,
    inbox: dict[str, Any],
    agent_on_b: Peer,
    visitor: tuple[Page, BrowserProblems],
    committed: Committed[Any],
) -> None:
    page, _ = visitor
    await page.goto(site + "/shop")
    widget = Widget(page)
    await widget.open()
    await widget.send("Hello from node A")
    hello = await agent_on_b.expect("message.new", body="Hello from node A")  # via Redis
    ticket_id = hello["ticket_id"]
    await agent_on_b.send(
        type="message.send", client_id="b1", ticket_id=ticket_id, body="Hi, from node B"
    )
    await widget.expect_texts(["me: Hello from node A", "them: Hi, from node B"])

    # The visitor's node goes away: they keep typing; the agent keeps answering on B.
    cluster.a.stop()
    await expect(page.get_by_text("Reconnecting…")).to_be_visible()
    await widget.send("Sent while the app was down")
    await widget.send("And another one")
    await agent_on_b.send(
        type="message.send", client_id="b2", ticket_id=ticket_id, body="Reply while you were away"
    )
    await agent_on_b.expect("message.ack", client_id="b2")
    await expect(widget.log.locator(".message.mine[data-status='sending']")).to_have_count(2)

    cluster.a.start()
    cluster.a.wait_ready()
    expected = [
        "me: Hello from node A",
        "them: Hi, from node B",
        "them: Reply while you were away",
        "me: Sent while the app was down",
        "me: And another one",
    ]
    await expect(page.get_by_text("Reconnecting…")).to_be_hidden(timeout=20_000)
    await widget.expect_texts(expected)
    await widget.expect_all_sent()
    await agent_on_b.expect("message.new", body="And another one")

    # Each message once on either side, and once in the database.
    bodies = [f["body"] for f in agent_on_b.received("message.new")]
    assert bodies == [t.split(": ", 1)[1] for t in expected[:2]] + [
        "Reply while you were away",
        "Sent while the app was down",
        "And another one",
    ]

    async def stored(session: Any) -> int:
        query = select(func.count()).select_from(Message).where(Message.ticket_id == ticket_id)
        return int(await session.scalar(query) or 0)

    assert await committed(stored) == 5
    await page.reload()
    await widget.open()
    await widget.expect_texts(expected)
