from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest
from httpx import AsyncClient
from redis.asyncio import Redis

from app.config import Settings
from app.db.engine import SessionMaker
from app.main import create_app
from tests.asgi import running
from tests.conftest import FrozenClock

ClientFactory = Callable[..., AbstractAsyncContextManager[AsyncClient]]


@pytest.fixture
def client_with(
    settings: Settings, sessionmaker: SessionMaker, redis: Redis, clock: FrozenClock
) -> ClientFactory:
    """`async with client_with(trusted_proxies=..., ...)`: a client of an app whose security
    settings differ from the test settings by the given fields (and Redis prefix)."""

    @asynccontextmanager
    async def make(
        *, sessions: SessionMaker | None = None, redis_prefix: str | None = None, **security: Any
    ) -> AsyncIterator[AsyncClient]:
        changed = replace(settings, security=replace(settings.security, **security))
        if redis_prefix is not None:
            changed = replace(changed, redis=replace(changed.redis, channel_prefix=redis_prefix))
        app = create_app(changed, sessionmaker=sessions or sessionmaker, redis=redis, clock=clock)
        async with running(app) as client:
            yield client

    return make
