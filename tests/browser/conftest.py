"""A real browser against the real app: Debian's Chromium driven by Playwright, the app
served by uvicorn on a database of its own per test module (cloned from the migrated
template, with real commits), the front ends as `npm run build` made them.

Every test gets a fresh browser context (no cookies) and fails when its page logs a
script error or a Content-Security-Policy violation.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app.config import (
    DatabaseSettings,
    RedisSettings,
    SecuritySettings,
    Settings,
    StorageSettings,
)
from app.console import DIST as CONSOLE_DIST
from app.db.engine import create_sessionmaker, transaction
from app.main import create_app
from app.routing.models import RoutingSettings
from tests.browser.support import AXE, CHROMIUM, CHROMIUM_ARGS, BrowserProblems
from tests.conftest import CHANNEL_PREFIX, REDIS_URL, SECRET_KEY
from tests.db import clone_template, drop_database
from tests.factories.agents import PASSWORD, make_agent
from tests.servers.live_app import live_app
from widgets import DIST as WIDGET_DIST

BUILD_HINT = "run `make test` (or `npm ci && npm run build`) first"
T = TypeVar("T")
Committed = Callable[[Callable[[AsyncSession], Awaitable[T]]], Awaitable[T]]


@dataclass(frozen=True)
class Person:
    email: str
    password: str
    name: str
    id: int = 0


@pytest.fixture(scope="session")
def front_ends_built() -> None:
    """The browser tests need the real build; say how to get it rather than fail oddly."""
    for needed in (CONSOLE_DIST / "index.html", WIDGET_DIST / ".vite" / "manifest.json", AXE):
        if not needed.exists():
            pytest.fail(f"{needed} is missing: {BUILD_HINT}", pytrace=False)


@pytest.fixture(scope="session")
async def browser(front_ends_built: None) -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (make test does)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        await browser.close()


@pytest.fixture(scope="module")
async def live_database(request: pytest.FixtureRequest, worker_name: str) -> AsyncIterator[str]:
    module = hashlib.sha256(request.module.__name__.encode()).hexdigest()[:8]
    name = f"relaydesk_browser_{module}_{worker_name}_{os.getpid()}"
    url = await clone_template(name)
    # No grace after an agent's last socket closes: the tests that follow one another in
    # a module see a closed console as offline at once (a real helpdesk waits 2 minutes).
    engine = create_async_engine(url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            session.add(RoutingSettings(id=1, offline_grace_seconds=0))
    finally:
        await engine.dispose()
    yield url
    await drop_database(name)


@pytest.fixture(scope="module")
def committed(live_database: str) -> Committed[Any]:
    """Runs `work(session)` in a transaction of its own and commits it, so the server
    process sees what a test put in the database."""

    async def run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        engine = create_async_engine(live_database)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return run


@pytest.fixture(scope="module")
async def admin(live_database: str) -> Person:
    """An admin agent, committed, so the server process sees it."""
    engine = create_async_engine(live_database)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            agent = await make_agent(
                session, role="admin", email="ada@example.test", name="Ada Lovelace"
            )
    finally:
        await engine.dispose()
    return Person(email=agent.email, password=PASSWORD, name=agent.name, id=agent.id)


@pytest.fixture(scope="module")
def server_url(
    live_database: str, redis_db: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    settings = Settings(
        env="test",
        database=DatabaseSettings(url=live_database, pool_size=2),
        redis=RedisSettings(url=f"{REDIS_URL}/{redis_db}", channel_prefix=CHANNEL_PREFIX),
        security=SecuritySettings(secret_key=SECRET_KEY),
        storage=StorageSettings(data_dir=tmp_path_factory.mktemp("live-app") / "data"),
    )
    # The real build (the default assets), not the stand-in the API tests use.
    with live_app(create_app(settings)) as url:
        yield url


@pytest.fixture
def browser_problems() -> BrowserProblems:
    return BrowserProblems()


@pytest.fixture
async def page(
    browser: Browser, server_url: str, browser_problems: BrowserProblems
) -> AsyncIterator[Page]:
    context = await browser.new_context(
        base_url=server_url, viewport={"width": 1024, "height": 640}, locale="en-US"
    )
    context.set_default_timeout(10_000)
    page = await context.new_page()
    await browser_problems.watch(page)
    yield page
    await context.close()
    browser_problems.assert_none()
