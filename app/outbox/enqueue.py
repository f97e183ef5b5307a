"""Enqueueing a relay batch's jobs in three Redis round trips, not four for each job.

The same effect as `ArqRedis.enqueue_job` with a job id: a job whose id Redis knows
(queued, running, or finished with a result kept) is left alone, so an event relayed
twice never runs its jobs twice. `enqueue_job` makes sure of that with WATCH, EXISTS and
a MULTI per job; a batch of 200 events then spent seconds waiting on Redis between the
worker's other tasks, and acknowledgements went out late. Here: one pipeline of EXISTS
for all, one of `SET NX` for the new ones (a concurrent enqueue of the same id loses the
SET and is skipped), one of ZADD for those that won. The relay's row lock on the event
keeps two relays from enqueueing one event's jobs at the same time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms

# (function, job id, keyword arguments)
JobSpec = tuple[str, str, Mapping[str, Any]]


async def enqueue_jobs(redis: ArqRedis, jobs: Sequence[JobSpec]) -> list[BaseException | None]:
    """Enqueue each job unless its id is known; for each, None or what went wrong with it.
    A lost connection raises, as `enqueue_job` does."""
    errors: list[BaseException | None] = [None] * len(jobs)
    if not jobs:
        return errors
    async with redis.pipeline(transaction=False) as pipe:
        for _, job_id, _ in jobs:
            pipe.exists(job_key_prefix + job_id, result_key_prefix + job_id)
        known = await pipe.execute(raise_on_error=False)
    now = timestamp_ms()
    fresh: list[tuple[int, str, bytes]] = []
    for index, ((function, job_id, kwargs), found) in enumerate(zip(jobs, known, strict=True)):
        if isinstance(found, Exception):
            errors[index] = found
        elif not found:
            try:
                data = serialize_job(
                    function, (), dict(kwargs), None, now, serializer=redis.job_serializer
                )
            except Exception as exc:  # this job's arguments: the caller names the event
                errors[index] = exc
                continue
            fresh.append((index, job_id, data))
    if not fresh:
        return errors
    async with redis.pipeline(transaction=False) as pipe:
        for _, job_id, data in fresh:
            pipe.set(job_key_prefix + job_id, data, px=redis.expires_extra_ms, nx=True)
        created = await pipe.execute(raise_on_error=False)
    won = []
    for (index, job_id, _), answer in zip(fresh, created, strict=True):
        if isinstance(answer, Exception):
            errors[index] = answer
        elif answer:
            won.append((index, job_id))
    if won:
        async with redis.pipeline(transaction=False) as pipe:
            for _, job_id in won:
                pipe.zadd(redis.default_queue_name, {job_id: now})
            queued = await pipe.execute(raise_on_error=False)
        for (index, _), answer in zip(won, queued, strict=True):
            if isinstance(answer, Exception):
                errors[index] = answer
    return errors
