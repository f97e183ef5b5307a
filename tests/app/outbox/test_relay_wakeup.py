"""The relay under a real LISTEN/NOTIFY: woken by commits, never held up by poison events,
dead-lettering what keeps failing, and relaying a dead letter an admin retried."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from arq.connections import ArqRedis
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.actor import Actor
from app.db.engine import SessionMaker, transaction
from app.db.notify import ListenerLost
from app.outbox.dead_letters import do_retry_dead_letter
from app.outbox.models import MAX_ATTEMPTS, OutboxEvent
from app.outbox.relay import RETRY_MAX, TOPIC_JOBS, relay_once, run_relay
from app.outbox.service import TICKET_UPDATED, emit
from tests.app.outbox.test_relay import EVENTS_CHANNEL, received, subscribe
from tests.conftest import CHANNEL_PREFIX, FrozenClock

pytestmark = pytest.mark.committing

ADMIN = Actor(agent_id=1, role="admin", team_ids=frozenset(), scopes=frozenset({"write"}))


def poison(payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    raise ValueError(f"cannot map {payload}")


def start_relay(
    sessionmaker: SessionMaker, redis: ArqRedis, engine: AsyncEngine, clock: FrozenClock
) -> asyncio.Task[None]:
    # The fallback poll is a minute here: only a NOTIFY can wake the relay in time.
    return asyncio.create_task(
        run_relay(
            sessionmaker, redis, engine=engine, clock=clock, idle_delay=60, prefix=CHANNEL_PREFIX
        )
    )


async def stop(relay: asyncio.Task[None]) -> None:
    relay.cancel()
    with pytest.raises(asyncio.CancelledError):
        await relay


async def test_a_commit_wakes_the_idle_relay_at_once(
    committing_sessionmaker: SessionMaker,
    arq_redis: ArqRedis,
    engine: AsyncEngine,
    clock: FrozenClock,
) -> None:
    pubsub = await subscribe(arq_redis, EVENTS_CHANNEL)
    relay = start_relay(committing_sessionmaker, arq_redis, engine, clock)
    try:
        await asyncio.sleep(0.2)  # the relay found nothing and sleeps
        for n in range(3):
            async with transaction(committing_sessionmaker) as session:
                emit(session, topic=TICKET_UPDATED, payload={"n": n})
            committed = time.monotonic()
            [(_, message)] = await received(pubsub, 1, within=1)
            assert message["payload"] == {"n": n}
            assert time.monotonic() - committed < 0.5
    finally:
        await stop(relay)
        await pubsub.aclose()


async def test_250_poison_events_do_not_delay_a_good_one_and_end_as_dead_letters(
    committing_sessionmaker: SessionMaker,
    arq_redis: ArqRedis,
    engine: AsyncEngine,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(TOPIC_JOBS, "test.poison", poison)
    pubsub = await subscribe(arq_redis, EVENTS_CHANNEL)
    relay = start_relay(committing_sessionmaker, arq_redis, engine, clock)
    try:
        async with transaction(committing_sessionmaker) as session:
            for n in range(250):
                emit(session, topic="test.poison", payload={"n": n})
            good = emit(session, topic=TICKET_UPDATED, payload={"good": True})
        committed = time.monotonic()

        [(_, message)] = await received(pubsub, 1, within=5)

        assert message["id"] == good.id
        assert time.monotonic() - committed < 2
    finally:
        await stop(relay)
        await pubsub.aclose()

    # Each poison event is tried MAX_ATTEMPTS times, later each time, then set aside.
    for _ in range(MAX_ATTEMPTS):
        assert await relay_once(committing_sessionmaker, arq_redis, now=clock()) == 0
        assert await relay_once(committing_sessionmaker, arq_redis, now=clock()) == 0
        clock.advance(seconds=RETRY_MAX.total_seconds())
    async with committing_sessionmaker() as session:
        dead = (
            await session.scalars(select(OutboxEvent).where(OutboxEvent.dead_at.is_not(None)))
        ).all()
    assert len(dead) == 250
    assert {e.attempts for e in dead} == {MAX_ATTEMPTS}
    assert dead[0].last_error is not None
    assert dead[0].last_error.startswith("ValueError: cannot map")
    clock.advance(days=1)
    assert await relay_once(committing_sessionmaker, arq_redis, now=clock()) == 0

    # The mapper is fixed; an admin retries one dead letter and it goes out.
    monkeypatch.setitem(TOPIC_JOBS, "test.poison", lambda payload: [])
    async with transaction(committing_sessionmaker) as session:
        await do_retry_dead_letter(session, ADMIN, dead[0].id)
    assert await relay_once(committing_sessionmaker, arq_redis, now=clock()) == 1
    async with committing_sessionmaker() as session:
        retried = await session.get(OutboxEvent, dead[0].id)
        assert retried is not None
        assert retried.published_at == clock()
        assert retried.dead_at is None


async def test_a_lost_listening_connection_ends_the_relay_for_its_supervisor(
    committing_sessionmaker: SessionMaker,
    arq_redis: ArqRedis,
    engine: AsyncEngine,
    clock: FrozenClock,
) -> None:
    relay = start_relay(committing_sessionmaker, arq_redis, engine, clock)
    try:
        async with asyncio.timeout(5):
            while not (listeners := await _listening_backends(engine)):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        async with engine.connect() as connection:
            await connection.execute(select(func.pg_terminate_backend(listeners[0])))

        with pytest.raises(ListenerLost):
            async with asyncio.timeout(5):
                await relay
    finally:
        relay.cancel()


async def _listening_backends(engine: AsyncEngine) -> list[int]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND query LIKE 'LISTEN %'"
            )
        )
        return [int(pid) for (pid,) in rows]
