from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import cast

import httpx
import pytest
from arq.connections import ArqRedis
from arq.jobs import Job
from sqlalchemy import select

from app.attachments.storage import AttachmentStore
from app.config import DatabaseSettings, RedisSettings, Settings
from app.db.engine import SessionMaker, transaction
from app.outbox.jobs import prune_outbox
from app.outbox.models import OutboxEvent
from app.outbox.service import MESSAGE_CREATED, emit
from app.security.crypto import SecretBox
from app.worker import JobContext, create_worker
from tests.conftest import REDIS_URL, FrozenClock


async def published(sessionmaker: SessionMaker, event_id: int) -> bool:
    async with sessionmaker() as session:
        stmt = select(OutboxEvent.published_at).where(OutboxEvent.id == event_id)
        return await session.scalar(stmt) is not None


@pytest.mark.committing
@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")  # inside arq
async def test_the_worker_relays_the_outbox_and_runs_the_jobs_it_enqueues(
    settings: Settings,
    database_url: str,
    redis_db: int,
    committing_sessionmaker: SessionMaker,
    arq_redis: ArqRedis,
) -> None:
    settings = replace(
        settings,
        database=DatabaseSettings(url=database_url, pool_size=2),
        redis=RedisSettings(url=f"{REDIS_URL}/{redis_db}"),
    )
    worker = create_worker(settings, poll_delay=0.05)
    running = asyncio.create_task(worker.async_run())
    try:
        async with transaction(committing_sessionmaker) as session:
            payload = {"message_id": 424242, "direction": "outbound", "status": "queued"}
            event = emit(session, topic=MESSAGE_CREATED, payload=payload)
            await session.flush()

        async with asyncio.timeout(10):
            while not await published(committing_sessionmaker, event.id):  # noqa: ASYNC110
                await asyncio.sleep(0.05)

        job = Job(f"outbox:{event.uuid}:send_outbound", arq_redis)
        # The message does not exist, so the job has nothing to send.
        assert await job.result(timeout=10, poll_delay=0.05) == "skipped"
    finally:
        # The worker's loop ends before close() waits for its jobs and stops its background
        # tasks: nothing of it may still use the database when the fixture truncates.
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()
    assert "supervisor" not in worker.ctx  # the relay was stopped with the worker


async def test_prune_outbox_deletes_only_old_published_events(
    sessionmaker: SessionMaker, arq_redis: ArqRedis, clock: FrozenClock, tmp_path: Path
) -> None:
    now = clock()
    async with transaction(sessionmaker) as session:
        session.add_all(
            [
                OutboxEvent(topic="a", payload={}, published_at=now - timedelta(days=8)),
                OutboxEvent(topic="b", payload={}, published_at=now - timedelta(days=1)),
                OutboxEvent(topic="c", payload={}, created_at=now - timedelta(days=30)),
            ]
        )
    async with httpx.AsyncClient() as http:
        ctx = cast(
            "JobContext",
            {
                "settings": Settings(),
                "clock": clock,
                "redis": arq_redis,
                "sessionmaker": sessionmaker,
                "http": http,
                "secret_box": SecretBox("k" * 32),
                "attachment_store": AttachmentStore(Settings().storage),
                "senders": {},
            },
        )

        assert await prune_outbox(ctx) == 1

    async with sessionmaker() as session:
        assert set(await session.scalars(select(OutboxEvent.topic))) == {"b", "c"}
