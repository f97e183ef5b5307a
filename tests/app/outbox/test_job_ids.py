"""Job ids outlive the database: a database recreated behind its id sequence, under a
Redis that still remembers the old database's jobs, has its sends enqueued all the same."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.db.engine import SessionMaker, transaction
from app.outbox.relay import relay_once
from app.outbox.service import MESSAGE_CREATED, emit
from tests.app.outbox.test_relay import outbound
from tests.conftest import CHANNEL_PREFIX, FrozenClock
from tests.db import clone_template, drop_database


@pytest.fixture
async def scratch_database(worker_name: str) -> AsyncIterator[str]:
    name = f"relaydesk_test_recreated_{worker_name}_{os.getpid()}"
    yield name
    await drop_database(name)


async def send_one_reply(url: str, redis: ArqRedis, clock: FrozenClock) -> int:
    """On a fresh copy of the schema: queue a reply and relay it; returns the event id."""
    engine = create_async_engine(url)
    sessionmaker: SessionMaker = async_sessionmaker(engine, expire_on_commit=False)
    try:
        async with transaction(sessionmaker) as session:
            event = emit(session, topic=MESSAGE_CREATED, payload=outbound(1))
        assert await relay_once(sessionmaker, redis, now=clock(), prefix=CHANNEL_PREFIX) == 1
        return event.id
    finally:
        await engine.dispose()


async def test_a_recreated_database_under_a_living_redis_still_enqueues_its_sends(
    scratch_database: str, arq_redis: ArqRedis, clock: FrozenClock
) -> None:
    first = await send_one_reply(await clone_template(scratch_database), arq_redis, clock)
    # The database is dropped and made again (a restore, a reset test environment);
    # Redis keeps the jobs of the first one.
    second = await send_one_reply(await clone_template(scratch_database), arq_redis, clock)

    assert first == second  # the same event id again: an id-derived job id would collide
    jobs = await arq_redis.queued_jobs()
    assert [j.function for j in jobs] == ["send_outbound", "send_outbound"]
    assert len({j.job_id for j in jobs}) == 2
