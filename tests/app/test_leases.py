"""The lease on a running job: short, renewed while the job runs, gone when it ends. What
happens when its worker dies (the lease lapses, another worker takes over):
tests/channels/email/test_send_resilience.py, with a real SIGKILL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from arq.connections import ArqRedis, RedisSettings
from arq.constants import in_progress_key_prefix
from arq.jobs import Job
from arq.worker import func
from redis.asyncio import Redis

from app.leases import LeasingWorker
from tests.conftest import REDIS_URL

LEASE = 0.5


def leasing_worker(redis_db: int, runs: list[str], started: asyncio.Event) -> LeasingWorker:
    async def hold(ctx: dict[str, Any]) -> str:
        runs.append(ctx["job_id"])
        started.set()
        await asyncio.sleep(4 * LEASE)
        return "done"

    return LeasingWorker(
        functions=[func(hold, name="hold")],
        redis_settings=RedisSettings.from_dsn(f"{REDIS_URL}/{redis_db}"),
        lease_seconds=LEASE,
        poll_delay=0.05,
        handle_signals=False,
    )


@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")  # inside arq
async def test_a_running_job_holds_a_short_lease_that_its_worker_renews(
    redis: Redis, redis_db: int
) -> None:
    runs: list[str] = []
    started = asyncio.Event()
    workers = [leasing_worker(redis_db, runs, started) for _ in range(2)]
    running = [asyncio.create_task(w.async_run()) for w in workers]
    pool = ArqRedis.from_url(f"{REDIS_URL}/{redis_db}")
    try:
        job = await pool.enqueue_job("hold", _job_id="held")
        assert job is not None
        await asyncio.wait_for(started.wait(), 10)
        key = in_progress_key_prefix + "held"
        ttls = []
        for _ in range(12):  # over three leases: it would have lapsed without renewals
            ttls.append(await redis.pttl(key))
            await asyncio.sleep(LEASE / 4)

        assert all(0 < ttl <= LEASE * 1000 for ttl in ttls), ttls
        assert await Job("held", pool).result(timeout=10, poll_delay=0.05) == "done"
        assert runs == ["held"]  # the other worker, polling all along, left it alone
        assert not await redis.exists(key)
    finally:
        for task in running:
            task.cancel()
        for worker in workers:
            await worker.close()
        await pool.aclose()
