from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.engine import SessionMaker, create_sessionmaker
from tests.app.realtime.support import live_settings, serving
from tests.conftest import REDIS_URL
from tests.db import clone_template, drop_database


@pytest.fixture(scope="module")
async def live_database(request: pytest.FixtureRequest, worker_name: str) -> AsyncIterator[str]:
    """A database of this module's own: the live app commits for real."""
    module = hashlib.sha256(request.module.__name__.encode()).hexdigest()[:8]
    name = f"relaydesk_chat_{module}_{worker_name}_{os.getpid()}"
    yield await clone_template(name)
    await drop_database(name)


@pytest.fixture(scope="module")
async def live_sessionmaker(live_database: str) -> AsyncIterator[SessionMaker]:
    engine = create_async_engine(live_database, pool_size=2)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture(scope="module")
def server_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The live server's data dir (uploads), for tests that read what it stored."""
    return tmp_path_factory.mktemp("chat") / "data"


@pytest.fixture(scope="module")
def server(live_database: str, redis_db: int, server_data_dir: Path) -> Iterator[str]:
    data = server_data_dir
    with serving(live_settings(live_database, f"{REDIS_URL}/{redis_db}", data)) as url:
        yield url
