from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest
from httpx import AsyncClient
from litestar import Litestar
from redis.asyncio import Redis

from app.assets import BuiltAssets
from app.config import Settings
from app.db.engine import SessionMaker
from app.main import create_app
from tests.asgi import running
from tests.conftest import FrozenClock

AppFactory = Callable[..., Litestar]
ClientFactory = Callable[..., AbstractAsyncContextManager[AsyncClient]]


@pytest.fixture
def app_with(
    settings: Settings,
    sessionmaker: SessionMaker,
    redis: Redis,
    clock: FrozenClock,
    built_assets: BuiltAssets,
) -> AppFactory:
    """`app_with(http={...}, storage={...})`: the test app with some settings sections
    changed by the given fields."""

    def make(**sections: dict[str, Any]) -> Litestar:
        changed = replace(
            settings,
            **{name: replace(getattr(settings, name), **f) for name, f in sections.items()},
        )
        return create_app(
            changed, sessionmaker=sessionmaker, redis=redis, clock=clock, assets=built_assets
        )

    return make


@pytest.fixture
def client_with(app_with: AppFactory) -> ClientFactory:
    @asynccontextmanager
    async def make(**sections: dict[str, Any]) -> AsyncIterator[AsyncClient]:
        async with running(app_with(**sections)) as client:
            yield client

    return make
