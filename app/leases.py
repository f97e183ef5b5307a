"""Short job leases, so the jobs of a worker that died are taken over within seconds.

arq marks a running job with an `in-progress` key that every other worker respects; it sets
that key once, with an expiry of the longest job timeout plus 10 s. When a worker dies
without cleaning up (SIGKILL, OOM killer, lost machine) its jobs wait out that expiry
before anyone runs them again: over two minutes with our `job_timeout` of 120 s.

`LeasingWorker` starts the key with a short expiry (the lease) and renews it, for the jobs
it is running, several times a lease. A live worker keeps its jobs; a dead one's leases
lapse within `LEASE_SECONDS` and the next poll of any worker (or of the restarted one)
takes the jobs over. arq counts the takeover as a new try (`job_try` + 1). How long a job
may run is still bounded by `job_timeout`, which arq enforces separately.

The price of a short lease: a worker that cannot reach Redis, or whose event loop stalls,
for longer than a lease may see a job it is still running started a second time elsewhere.
Jobs are idempotent for that reason; `send_outbound` detects a takeover and sends with the
same Message-ID.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from arq.constants import in_progress_key_prefix
from arq.worker import Worker
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

LEASE_SECONDS = 5.0
RENEWALS_PER_LEASE = 5  # a renewal may fail or come late four times before a lease lapses


class LeasingWorker(Worker):
    """An arq `Worker` whose running jobs hold a renewed lease instead of a long expiry."""

    def __init__(self, *args: Any, lease_seconds: float = LEASE_SECONDS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lease_seconds = lease_seconds
        # The expiry Worker.start_jobs gives a job's in-progress key when it takes the job.
        self.in_progress_timeout_s = lease_seconds
        # Held while renewing and while arq finishes a job, so a renewal in flight cannot
        # land after finish_job deleted the key (or gave a cron job's key its own expiry).
        self._lease_lock = asyncio.Lock()

    async def main(self) -> None:
        renewing = asyncio.create_task(self._keep_leases(), name="arq:leases")
        try:
            await super().main()
        finally:
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)

    async def renew_leases(self) -> int:
        """Extend the lease of every job this worker is running; returns how many."""
        async with self._lease_lock:
            # job_tasks: the jobs' own coroutines, removed as each ends, before finish_job.
            job_ids = list(self.job_tasks)
            if not job_ids or self._pool is None:
                return 0
            lease_ms = int(self.lease_seconds * 1000)
            async with self.pool.pipeline(transaction=False) as pipe:
                for job_id in job_ids:
                    pipe.pexpire(in_progress_key_prefix + job_id, lease_ms)
                await pipe.execute()
            return len(job_ids)

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        # A job whose lease lapsed while this worker still runs it is not started here twice
        # (arq would, and its bookkeeping of the two runs would collide).
        running = {job_id for job_id, task in self.tasks.items() if not task.done()}
        await super().start_jobs([j for j in job_ids if j.decode() not in running])

    async def finish_job(self, job_id: str, *args: Any, **kwargs: Any) -> None:
        async with self._lease_lock:
            await super().finish_job(job_id, *args, **kwargs)

    async def _keep_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / RENEWALS_PER_LEASE)
            try:
                await self.renew_leases()
            except (RedisError, OSError) as exc:  # the next renewal may get through
                log.warning("could not renew the leases of running jobs: %s", exc)
