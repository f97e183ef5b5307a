from __future__ import annotations

import pytest
from litestar import Litestar
from redis.asyncio import Redis

from app.config import Settings
from app.db.engine import SessionMaker
from app.inboxes.service import SettingsValidators
from app.main import create_app
from tests.app.webhooks.fake_adapter import FakeTelegram
from tests.conftest import FrozenClock


@pytest.fixture
def adapter() -> FakeTelegram:
    return FakeTelegram()


@pytest.fixture
def app(
    settings: Settings,
    sessionmaker: SessionMaker,
    redis: Redis,
    clock: FrozenClock,
    settings_validators: SettingsValidators,
    adapter: FakeTelegram,
) -> Litestar:
    return create_app(
        settings,
        sessionmaker=sessionmaker,
        redis=redis,
        clock=clock,
        settings_validators=settings_validators,
        webhook_adapters={"telegram": adapter},
    )
