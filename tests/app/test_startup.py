from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import pytest

from app.config import DatabaseSettings, RedisSettings, Settings
from app.startup import StartupError, check_database, check_redis, check_services, redis_location
from tests.app.outbox.conftest import free_port
from tests.conftest import REDIS_URL
from tests.db import SERVER_DSN, async_url, drop_database


def with_urls(
    settings: Settings, *, database: str | None = None, redis: str | None = None
) -> Settings:
    return replace(
        settings,
        database=DatabaseSettings(url=database) if database else settings.database,
        redis=RedisSettings(url=redis) if redis else settings.redis,
    )


@pytest.fixture
async def empty_database() -> AsyncIterator[str]:
    name = "relaydesk_test_empty_startup"
    conn = await asyncpg.connect(SERVER_DSN + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield async_url(name)
    await drop_database(name)


async def test_a_migrated_database_and_a_running_redis_pass(
    settings: Settings, database_url: str, redis_db: int
) -> None:
    await check_services(
        with_urls(settings, database=database_url, redis=f"{REDIS_URL}/{redis_db}")
    )


async def test_an_unreachable_postgres_names_the_variable(settings: Settings) -> None:
    port = free_port()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/relaydesk"

    with pytest.raises(StartupError) as caught:
        await check_database(with_urls(settings, database=url))

    assert (
        str(caught.value)
        == f"DATABASE_URL: cannot connect to 127.0.0.1:{port} (connection refused)"
    )


async def test_a_missing_database_says_to_migrate(settings: Settings) -> None:
    url = async_url("relaydesk_test_no_such_database")

    with pytest.raises(
        StartupError,
        match=r'^DATABASE_URL: database "relaydesk_test_no_such_database" does not exist',
    ):
        await check_database(with_urls(settings, database=url))


async def test_an_unmigrated_database_says_to_migrate(
    settings: Settings, empty_database: str
) -> None:
    with pytest.raises(
        StartupError, match=r"^DATABASE_URL: .* is at an empty schema.*relaydesk migrate"
    ):
        await check_database(with_urls(settings, database=empty_database))

    await check_database(with_urls(settings, database=empty_database), schema=False)


async def test_an_unreachable_redis_names_the_variable(settings: Settings) -> None:
    port = free_port()

    with pytest.raises(StartupError) as caught:
        await check_redis(with_urls(settings, redis=f"redis://:hunter2@127.0.0.1:{port}/0"))

    assert (
        str(caught.value) == f"REDIS_URL: cannot connect to 127.0.0.1:{port} (connection refused)"
    )


def test_redis_location_never_shows_the_password() -> None:
    assert redis_location("redis://:hunter2@cache.internal:6380/1") == "cache.internal:6380"
    assert redis_location("unix:///run/redis.sock") == "/run/redis.sock"
