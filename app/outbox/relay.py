"""The outbox relay: committed events go to Redis pub/sub and become arq jobs.

Each batch is claimed with `FOR UPDATE SKIP LOCKED`, so any number of relays (one per worker
process) run side by side and an event is published by exactly one of them. An event is
marked published in the transaction that claimed it, after Redis accepted it; arq job ids
are derived from the event id, so if that commit is lost and the event is relayed again,
its jobs are not enqueued twice (subscribers may see the notification twice and dedupe by
`seq`).

Relays running in parallel may publish two batches out of order; realtime clients order by
`seq` and ask for `since=<seq>` when they notice a gap.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime

from arq.connections import ArqRedis
from redis.exceptions import RedisError
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from app.clock import Clock, utc_now
from app.db.engine import SessionMaker
from app.outbox.jobs import TOPIC_JOBS, jobs_for
from app.outbox.models import OutboxEvent

__all__ = [
    "DEFAULT_PREFIX",
    "TOPIC_JOBS",
    "RelayUnavailable",
    "events_channel",
    "relay_once",
    "run_relay",
    "ticket_channel",
]

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "relaydesk"
IDLE_DELAY_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 30.0
# A relay pass that hangs (Redis stops answering) gives its row locks back after this.
PASS_TIMEOUT_SECONDS = 30.0
REDIS_ERRORS = (RedisError, OSError, TimeoutError)


class RelayUnavailable(Exception):
    """Redis refused the events; they stay pending in PostgreSQL."""


def ticket_channel(ticket_id: int, *, prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}:ticket:{ticket_id}"


def events_channel(*, prefix: str = DEFAULT_PREFIX) -> str:
    """Every event, for consumers that follow all tickets (dashboards, search indexing)."""
    return f"{prefix}:events"


def event_message(event: OutboxEvent) -> str:
    return json.dumps(
        {
            "id": event.id,
            "topic": event.topic,
            "ticket_id": event.ticket_id,
            "seq": event.seq,
            "payload": event.payload,
        },
        separators=(",", ":"),
        default=str,
    )


async def _publish(redis_pool: ArqRedis, event: OutboxEvent, *, prefix: str) -> None:
    jobs = jobs_for(event.topic, event.payload)
    message = event_message(event)
    async with redis_pool.pipeline(transaction=False) as pipe:
        if event.ticket_id is not None:
            pipe.publish(ticket_channel(event.ticket_id, prefix=prefix), message)
        pipe.publish(events_channel(prefix=prefix), message)
        await pipe.execute()
    for job_name, kwargs in jobs:
        # None means a job with this id exists already: this event was relayed before.
        await redis_pool.enqueue_job(job_name, _job_id=f"outbox:{event.id}:{job_name}", **kwargs)


async def relay_once(
    sessionmaker: SessionMaker,
    redis_pool: ArqRedis,
    *,
    batch: int = 200,
    now: datetime,
    prefix: str = DEFAULT_PREFIX,
) -> int:
    """Publish up to `batch` pending events, oldest first; returns how many were published.

    Raises `RelayUnavailable` when Redis fails: what was published before the failure is
    committed, the rest stays pending with `attempts` and `last_error` recorded.
    """
    failed: dict[int, str] = {}
    redis_error: BaseException | None = None
    async with sessionmaker() as session, session.begin():
        events = (
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None))
                .order_by(OutboxEvent.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        ).all()
        published: list[int] = []
        for index, event in enumerate(events):
            try:
                await _publish(redis_pool, event, prefix=prefix)
            except REDIS_ERRORS as exc:
                redis_error = exc
                reason = f"redis: {type(exc).__name__}: {exc}"
                failed.update({e.id: reason for e in events[index:]})
                break
            except Exception as exc:  # a bad payload must not block the events behind it
                log.exception("outbox event %s (%s) cannot be relayed", event.id, event.topic)
                failed[event.id] = f"{type(exc).__name__}: {exc}"
                continue
            published.append(event.id)
        if published:
            await session.execute(
                update(OutboxEvent).where(OutboxEvent.id.in_(published)).values(published_at=now)
            )
    if failed:
        await _record_failures(sessionmaker, failed)
    if redis_error is not None:
        raise RelayUnavailable(f"{len(failed)} events stay pending: {redis_error}") from redis_error
    return len(published)


async def _record_failures(sessionmaker: SessionMaker, failed: dict[int, str]) -> None:
    by_reason: dict[str, list[int]] = {}
    for event_id, reason in failed.items():
        by_reason.setdefault(reason[:1000], []).append(event_id)
    async with sessionmaker() as session, session.begin():
        for reason, ids in by_reason.items():
            await session.execute(
                update(OutboxEvent)
                .where(OutboxEvent.id.in_(ids), OutboxEvent.published_at.is_(None))
                .values(attempts=OutboxEvent.attempts + 1, last_error=reason)
            )


async def run_relay(
    sessionmaker: SessionMaker,
    redis_pool: ArqRedis,
    *,
    clock: Clock = utc_now,
    batch: int = 200,
    idle_delay: float = IDLE_DELAY_SECONDS,
    max_backoff: float = MAX_BACKOFF_SECONDS,
    prefix: str = DEFAULT_PREFIX,
) -> None:
    """Relay until cancelled: poll while idle, back off exponentially while failing."""
    backoff = 0.0
    while True:
        try:
            async with asyncio.timeout(PASS_TIMEOUT_SECONDS):
                count = await relay_once(
                    sessionmaker, redis_pool, batch=batch, now=clock(), prefix=prefix
                )
        except (RelayUnavailable, TimeoutError, OSError, DBAPIError) as exc:
            # Redis or PostgreSQL being away is expected: the events wait safely in
            # PostgreSQL. Anything else is a bug, left to the supervisor (app.supervisor),
            # which logs its traceback, shows the relay failing and restarts it.
            backoff = min(max_backoff, backoff * 2 or idle_delay)
            log.warning("outbox relay failed, retrying in %.1fs: %s", backoff, exc)
            await asyncio.sleep(backoff)
            continue
        backoff = 0.0
        if count < batch:
            await asyncio.sleep(idle_delay)
