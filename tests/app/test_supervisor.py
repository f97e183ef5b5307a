"""The supervisor of long-running tasks, seen the way an operator sees it: `/readyz` and
`/metrics` of the web app, for the app's own tasks and for those a worker reports."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from litestar.datastructures import State
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.assets import BuiltAssets
from app.config import Settings
from app.db.engine import SessionMaker
from app.main import create_app
from app.supervisor import Supervisor, read_reports, report_components
from tests.app.health.test_metrics import samples
from tests.asgi import running
from tests.conftest import CHANNEL_PREFIX, FrozenClock
from tests.factories.agents import auth_headers, make_agent


async def eventually(check: Callable[[], Awaitable[bool]], *, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not await check():  # noqa: ASYNC110 - polling what an operator would poll
            await asyncio.sleep(0.02)


def component(body: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [c for c in body["components"] if c["name"] == name]
    return found


@pytest.fixture
async def flaky_app(
    settings: Settings,
    sessionmaker: SessionMaker,
    redis: Redis,
    clock: FrozenClock,
    built_assets: BuiltAssets,
) -> AsyncIterator[tuple[httpx.AsyncClient, asyncio.Event, asyncio.Event]]:
    """The app with one background task that crashes on its first run only, once told."""
    runs = 0
    crash, crashed = asyncio.Event(), asyncio.Event()

    async def flaky(state: State) -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            await crash.wait()
            crashed.set()
            raise RuntimeError("subscriber lost its connection")
        await asyncio.Event().wait()  # the second run keeps running

    app = create_app(
        settings,
        sessionmaker=sessionmaker,
        redis=redis,
        clock=clock,
        assets=built_assets,
        background_tasks={"realtime-subscriber": flaky},
        supervisor=Supervisor("web-test", min_backoff=0.3, max_backoff=0.3, stable_after=0.5),
    )
    async with running(app) as client:
        yield client, crash, crashed


async def test_a_crashed_app_task_is_failing_in_readyz_then_restarted_and_recovers(
    flaky_app: tuple[httpx.AsyncClient, asyncio.Event, asyncio.Event],
    caplog: pytest.LogCaptureFixture,
    db_session: AsyncSession,
) -> None:
    client, crash, crashed = flaky_app
    admin = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    assert (await client.get("/readyz")).status_code == 200
    crash.set()
    await crashed.wait()
    await asyncio.sleep(0)  # the supervisor records the crash

    failing = await client.get("/readyz", headers=admin)  # the error's text: admins only
    anonymous = await client.get("/readyz")

    assert failing.status_code == 503
    assert failing.json()["checks"]["database"]["status"] == "ok"
    subscriber = component(failing.json(), "realtime-subscriber")
    assert subscriber["status"] == "failing"
    assert subscriber["last_error"] == "RuntimeError: subscriber lost its connection"
    assert subscriber["process"] == "web-test"
    assert "last_error" not in component(anonymous.json(), "realtime-subscriber")
    metrics = samples((await client.get("/metrics")).text)
    label = frozenset({("component", "realtime-subscriber")})
    assert metrics[("relaydesk_component_failing", label)] == 1
    [record] = [r for r in caplog.records if "realtime-subscriber crashed" in r.getMessage()]
    assert record.exc_info is not None  # logged with its traceback

    async def ready() -> bool:
        return (await client.get("/readyz")).status_code == 200

    await eventually(ready)
    body = (await client.get("/readyz")).json()
    assert component(body, "realtime-subscriber")["status"] == "running"
    assert component(body, "realtime-subscriber")["restarts"] == 1
    metrics = samples((await client.get("/metrics")).text)
    assert metrics[("relaydesk_component_failing", label)] == 0
    assert metrics[("relaydesk_component_restarts", label)] == 1


async def test_backoff_grows_with_each_crash_in_a_row() -> None:
    starts: list[float] = []
    loop = asyncio.get_running_loop()

    async def always_crashing() -> None:
        starts.append(loop.time())
        raise ConnectionError("no")

    supervisor = Supervisor("test", min_backoff=0.05, max_backoff=1.0, stable_after=10)
    supervisor.run("broken", always_crashing)
    try:
        async with asyncio.timeout(5):
            while len(starts) < 4:  # noqa: ASYNC110 - the supervisor has no "restarted" event
                await asyncio.sleep(0.01)
    finally:
        await supervisor.close()
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # Jitter takes up to half of each delay: 0.025-0.05, 0.05-0.1, 0.1-0.2 seconds.
    assert 0.02 <= gaps[0] < 0.09
    assert 0.045 <= gaps[1] < 0.15
    assert 0.095 <= gaps[2] < 0.3
    assert supervisor.names() == set()


async def test_a_task_that_returns_is_finished_and_leaves_the_list() -> None:
    done = asyncio.Event()

    async def one_shot() -> None:
        done.set()

    supervisor = Supervisor("test")
    supervisor.run("one-shot", one_shot)
    supervisor.run("one-shot", one_shot)  # already running: not started twice
    await done.wait()
    await asyncio.sleep(0)

    assert not supervisor.is_running("one-shot")
    assert supervisor.components() == []


async def test_a_workers_components_show_in_the_apps_readyz_and_metrics(
    client: httpx.AsyncClient, redis: Redis, db_session: AsyncSession
) -> None:
    admin = await auth_headers(db_session, await make_agent(db_session, role="admin"))

    async def broken() -> None:
        raise ValueError("relay bug")

    async def fine() -> None:
        await asyncio.Event().wait()

    worker = Supervisor("worker@elsewhere:1", min_backoff=30, stable_after=30)
    worker.run("outbox-relay", broken)
    worker.run("mail-supervisor", fine)
    reporter = asyncio.create_task(
        report_components(worker, redis, prefix=CHANNEL_PREFIX, interval=0.05)
    )
    try:

        async def relay_reported_failing() -> bool:
            states = await read_reports(redis, prefix=CHANNEL_PREFIX)
            return any(s.name == "outbox-relay" and s.status == "failing" for s in states)

        await eventually(relay_reported_failing)

        response = await client.get("/readyz", headers=admin)

        # A worker's trouble is shown but leaves the web node ready.
        assert response.status_code == 200
        relay = component(response.json(), "outbox-relay")
        assert relay["process"] == "worker@elsewhere:1"
        assert relay["status"] == "failing"
        assert relay["last_error"] == "ValueError: relay bug"
        assert component(response.json(), "mail-supervisor")["status"] == "running"
        metrics = samples((await client.get("/metrics")).text)
        assert metrics[("relaydesk_component_failing", frozenset({("component", "outbox-relay")}))]
    finally:
        reporter.cancel()
        await asyncio.gather(reporter, return_exceptions=True)
        await worker.close()

    # A worker that stopped takes its report with it.
    assert (await client.get("/readyz")).json()["components"] == []
