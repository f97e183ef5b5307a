"""Fixtures shared by every test: real PostgreSQL and Redis, isolated per test.

- `db_session`: a session inside an outer transaction that is rolled back after the test;
  request handlers use the same connection (savepoints), so their commits vanish too.
- `committing_sessionmaker` (mark tests `committing`): real commits on the worker's database,
  truncated afterwards; for the outbox relay, SKIP LOCKED races and real workers.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from redis.asyncio import Redis
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.assets import BuiltAssets
from app.config import RedisSettings, SecuritySettings, Settings, StorageSettings
from app.db.engine import SessionMaker
from app.db.registry import metadata
from app.inboxes.service import SettingsValidators
from app.main import CHANNEL_SETTINGS_VALIDATORS, create_app
from channels.email.parsing import close_shared_parser
from tests.asgi import running
from tests.db import clone_template, drop_database
from tests.factories.assets import fake_build

# Helper modules whose asserts should explain themselves like a test's do.
pytest.register_assert_rewrite("tests.app.tickets.timeline")

# TEST_REDIS_URL lets concurrent runs (several checkouts on one machine) use their own server.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")
REDIS_PORT = int(REDIS_URL.rsplit(":", 1)[1])
SECRET_KEY = "test-secret-key-" + "x" * 32
# Pub/sub channels are shared by every database of a Redis server: one prefix per test run.
CHANNEL_PREFIX = f"relaydesk-test-{os.getpid()}"


class FrozenClock:
    """An injectable clock that moves only when a test says so."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def _is_local(host: Any) -> bool:
    if not isinstance(host, str):
        return True
    if host in {"localhost", ""}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(scope="session", autouse=True)
def stop_the_mail_parser_pool() -> Iterator[None]:
    """Importing tests start the process's mail parser pool; an xdist worker exits without
    its atexit hooks, and the pool's processes would outlive the run."""
    yield
    close_shared_parser()


@pytest.fixture(scope="session", autouse=True)
def block_outbound_network() -> Iterator[None]:
    """A provider call that was not faked fails loudly instead of leaving the machine."""
    original = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            raise ConnectionRefusedError(f"tests may not reach {address!r}: fake this provider")
        return original(self, address)

    socket.socket.connect = guarded  # type: ignore[method-assign]
    yield
    socket.socket.connect = original  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def worker_name(request: pytest.FixtureRequest) -> str:
    worker: str = getattr(request.config, "workerinput", {}).get("workerid", "main")
    return worker


@pytest.fixture(scope="session")
async def database_url(worker_name: str) -> AsyncIterator[str]:
    # The pid keeps concurrent runs (two checkouts, a developer and CI) out of each other's way.
    name = f"relaydesk_test_{worker_name}_{os.getpid()}"
    yield await clone_template(name)
    await drop_database(name)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url, pool_size=5, max_overflow=10)
    yield engine
    await engine.dispose()


@pytest.fixture
async def sessionmaker(engine: AsyncEngine) -> AsyncIterator[SessionMaker]:
    """Sessions joined to one outer transaction that the test never commits."""
    async with engine.connect() as connection:
        outer = await connection.begin()
        yield async_sessionmaker(
            bind=connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
            autoflush=False,
        )
        await outer.rollback()


@pytest.fixture
async def db_session(sessionmaker: SessionMaker) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement the engine runs while the test is active."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine.sync_engine, "before_cursor_execute", count)


@pytest.fixture
async def committing_sessionmaker(engine: AsyncEngine) -> AsyncIterator[SessionMaker]:
    yield async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def redis_db(worker_name: str) -> int:
    """One database per test worker (gw0 -> 1, gw1 -> 2, ...): by pid, two workers could
    share one (their pids equal modulo 15) and take each other's jobs and keys."""
    if worker_name.startswith("gw") and worker_name[2:].isdigit():
        return 1 + int(worker_name[2:]) % 15
    return 1 + os.getpid() % 15


@pytest.fixture
async def redis(redis_db: int) -> AsyncIterator[Redis]:
    client = Redis.from_url(f"{REDIS_URL}/{redis_db}")
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_db: int) -> Settings:
    return Settings(
        env="test",
        redis=RedisSettings(url=f"{REDIS_URL}/{redis_db}", channel_prefix=CHANNEL_PREFIX),
        security=SecuritySettings(secret_key=SECRET_KEY),
        storage=StorageSettings(data_dir=tmp_path / "data", max_attachment_bytes=1024 * 1024),
    )


# The `relaydesk` command of the venv running the tests.
RELAYDESK = Path(sys.executable).with_name("relaydesk")


@pytest.fixture
def relaydesk_env(tmp_path: Path, database_url: str, redis_db: int) -> dict[str, str]:
    """The environment for a `relaydesk` subprocess on this test worker's database."""
    return {
        **os.environ,
        "RELAYDESK_ENV": "test",
        "RELAYDESK_SECRET_KEY": SECRET_KEY,
        "RELAYDESK_REDIS_PREFIX": CHANNEL_PREFIX,
        "RELAYDESK_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": database_url,
        "REDIS_URL": f"{REDIS_URL}/{redis_db}",
    }


@pytest.fixture
def settings_validators() -> SettingsValidators:
    """The channels' inbox-settings checks, as `relaydesk serve` wires them."""
    return CHANNEL_SETTINGS_VALIDATORS


@pytest.fixture
def built_assets(tmp_path: Path) -> BuiltAssets:
    """A stand-in build of the console and the widget (tests/browser/ use the real one)."""
    return fake_build(tmp_path / "frontend")


@pytest.fixture
def app(
    settings: Settings,
    sessionmaker: SessionMaker,
    redis: Redis,
    clock: FrozenClock,
    settings_validators: SettingsValidators,
    built_assets: BuiltAssets,
) -> Litestar:
    return create_app(
        settings,
        sessionmaker=sessionmaker,
        redis=redis,
        clock=clock,
        settings_validators=settings_validators,
        assets=built_assets,
    )


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        yield client
