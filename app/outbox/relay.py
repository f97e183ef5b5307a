"""The outbox relay: committed events go to Redis pub/sub and become arq jobs.

Each batch is claimed with `FOR UPDATE SKIP LOCKED`, so any number of relays (one per worker
process) run side by side and an event is published by exactly one of them. An event is
marked published in the transaction that claimed it, after Redis accepted it; arq job ids
are derived from the event's uuid, so if that commit is lost and the event is relayed again,
its jobs are not enqueued twice (subscribers may see the notification twice and dedupe by
`seq`), while a database recreated or restored under a living Redis makes new ids.

An event that cannot be relayed (its jobs cannot be built, Redis refuses that one event)
waits with a growing delay (`retry_at`) while the events behind it go out, and after
`MAX_ATTEMPTS` it is dead-lettered (`dead_at`, with its last error) until an admin retries
it (app.outbox.service). Redis being away is nobody's fault: it costs no attempt.

The relay sleeps until PostgreSQL tells it an event was committed (LISTEN on
`OUTBOX_CHANNEL`, which a trigger NOTIFYs), and polls slowly besides, for retries that fall
due and in case a notification is lost.

Relays running in parallel may publish two batches out of order; realtime clients order by
`seq` and ask for `since=<seq>` when they notice a gap.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from redis import exceptions as redis_errors
from sqlalchemy import or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import Clock, utc_now
from app.db.engine import SessionMaker
from app.db.notify import Listener
from app.outbox.enqueue import enqueue_jobs
from app.outbox.jobs import BATCHED_JOBS, MAX_BATCH, TOPIC_JOBS, JobRequest, jobs_for
from app.outbox.models import MAX_ATTEMPTS, OUTBOX_CHANNEL, OutboxEvent

__all__ = [
    "DEFAULT_PREFIX",
    "MAX_ATTEMPTS",
    "TOPIC_JOBS",
    "RelayUnavailable",
    "events_channel",
    "job_id",
    "relay_once",
    "retry_delay",
    "run_relay",
    "ticket_channel",
]

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "relaydesk"
# Woken by NOTIFY; this poll only catches retries falling due and lost notifications.
POLL_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 30.0
# A failed event waits 2, 4, 8, ... seconds (at most RETRY_MAX) before its next attempt.
RETRY_BASE = timedelta(seconds=1)
RETRY_MAX = timedelta(minutes=5)
# A relay pass that hangs (Redis stops answering) gives its row locks back after this.
PASS_TIMEOUT_SECONDS = 30.0
# Redis as a whole is away or refusing writes: not the event's fault.
REDIS_DOWN = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.OutOfMemoryError,
    redis_errors.ReadOnlyError,
    OSError,
    TimeoutError,
)


class RelayUnavailable(Exception):
    """Redis refused the events; they stay pending in PostgreSQL."""


def ticket_channel(ticket_id: int, *, prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}:ticket:{ticket_id}"


def events_channel(*, prefix: str = DEFAULT_PREFIX) -> str:
    """Every event, for consumers that follow all tickets (dashboards, search indexing)."""
    return f"{prefix}:events"


def job_id(event: OutboxEvent, job_name: str) -> str:
    return f"outbox:{event.uuid}:{job_name}"


def batched(
    requests: list[tuple[OutboxEvent, str, dict[str, Any]]],
) -> list[tuple[list[OutboxEvent], str, str, dict[str, Any]]]:
    """The jobs to enqueue for a pass's requests: (their events, name, job id, arguments).
    A job of BATCHED_JOBS asked for by several events becomes one batch job, whose id is
    derived from all of their uuids, so the same events relayed again make the same id."""
    jobs: list[tuple[list[OutboxEvent], str, str, dict[str, Any]]] = []
    grouped: dict[str, list[tuple[OutboxEvent, dict[str, Any]]]] = {}
    for event, name, kwargs in requests:
        if name in BATCHED_JOBS and set(kwargs) == {BATCHED_JOBS[name][1]}:
            grouped.setdefault(name, []).append((event, kwargs))
        else:
            jobs.append(([event], name, job_id(event, name), kwargs))
    for name, asked in grouped.items():
        batch_name, argument, list_argument = BATCHED_JOBS[name]
        for start in range(0, len(asked), MAX_BATCH):
            members = asked[start : start + MAX_BATCH]
            if len(members) == 1:
                event, kwargs = members[0]
                jobs.append(([event], name, job_id(event, name), kwargs))
                continue
            events = [event for event, _ in members]
            digest = hashlib.sha256(",".join(str(e.uuid) for e in events).encode()).hexdigest()
            jobs.append(
                (
                    events,
                    batch_name,
                    f"{job_id(events[0], batch_name)}:{len(events)}:{digest[:16]}",
                    {list_argument: [kwargs[argument] for _, kwargs in members]},
                )
            )
    return jobs


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


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure."""
    delay: timedelta = min(RETRY_MAX, RETRY_BASE * 2 ** min(attempts, 20))
    return delay


async def _publish_all(
    redis_pool: ArqRedis, events: list[OutboxEvent], *, prefix: str
) -> dict[int, str]:
    """Publish the events in one round trip and enqueue their jobs; returns the failures
    of single events by id. Raises one of REDIS_DOWN when Redis is away."""
    failed: dict[int, str] = {}
    jobs: dict[int, list[JobRequest]] = {}
    for event in events:
        try:
            jobs[event.id] = jobs_for(event.topic, event.payload)
        except Exception as exc:  # a bad payload must not block the events behind it
            # The traceback once per event: a poison storm retried for minutes stays readable.
            log.error(
                "outbox event %s (%s) cannot be relayed: %s",
                event.id,
                event.topic,
                exc,
                exc_info=event.attempts == 0,
            )
            failed[event.id] = f"{type(exc).__name__}: {exc}"
    sendable = [event for event in events if event.id in jobs]
    async with redis_pool.pipeline(transaction=False) as pipe:
        for event in sendable:
            message = event_message(event)
            if event.ticket_id is not None:
                pipe.publish(ticket_channel(event.ticket_id, prefix=prefix), message)
            pipe.publish(events_channel(prefix=prefix), message)
        results = iter(await pipe.execute(raise_on_error=False))
    requests: list[tuple[OutboxEvent, str, dict[str, Any]]] = []
    for event in sendable:
        answers = [next(results) for _ in range(2 if event.ticket_id is not None else 1)]
        if errors := [a for a in answers if isinstance(a, Exception)]:
            if isinstance(errors[0], REDIS_DOWN):
                raise errors[0]
            failed[event.id] = f"redis: {type(errors[0]).__name__}: {errors[0]}"
            continue
        requests += [(event, name, kwargs) for name, kwargs in jobs[event.id]]
    # All of the batch's jobs at once (app.outbox.enqueue); a job whose id exists already
    # was relayed before and is left alone.
    enqueued = batched(requests)
    outcomes = await enqueue_jobs(redis_pool, [(name, jid, kw) for _, name, jid, kw in enqueued])
    for (events_of_job, name, _, _), error in zip(enqueued, outcomes, strict=True):
        if error is None:
            continue
        if isinstance(error, REDIS_DOWN):
            raise error
        for event in events_of_job:
            if event.id in failed:
                continue
            log.error(
                "outbox event %s: cannot enqueue %s: %s",
                event.id,
                name,
                error,
                exc_info=(type(error), error, error.__traceback__) if event.attempts == 0 else None,
            )
            failed[event.id] = f"{type(error).__name__}: {error}"
    return failed


async def relay_once(
    sessionmaker: SessionMaker,
    redis_pool: ArqRedis,
    *,
    batch: int = 200,
    now: datetime,
    prefix: str = DEFAULT_PREFIX,
    max_attempts: int = MAX_ATTEMPTS,
) -> int:
    """Publish up to `batch` due events, oldest first; returns how many were published.

    Raises `RelayUnavailable` when Redis is away: what was published before is committed,
    the rest stays pending with `last_error` recorded (and no attempt counted)."""
    _, published = await _relay_batch(
        sessionmaker, redis_pool, batch=batch, now=now, prefix=prefix, max_attempts=max_attempts
    )
    return published


async def _relay_batch(
    sessionmaker: SessionMaker,
    redis_pool: ArqRedis,
    *,
    batch: int,
    now: datetime,
    prefix: str,
    max_attempts: int = MAX_ATTEMPTS,
) -> tuple[int, int]:
    """`relay_once`, returning how many events it claimed and how many it published."""
    redis_error: BaseException | None = None
    published: list[int] = []
    async with sessionmaker() as session, session.begin():
        events = list(
            (
                await session.scalars(
                    select(OutboxEvent)
                    .where(
                        OutboxEvent.published_at.is_(None),
                        OutboxEvent.dead_at.is_(None),
                        or_(OutboxEvent.retry_at.is_(None), OutboxEvent.retry_at <= now),
                    )
                    .order_by(OutboxEvent.id)
                    .limit(batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
        )
        if not events:
            return 0, 0
        try:
            failed = await _publish_all(redis_pool, events, prefix=prefix)
        except REDIS_DOWN as exc:
            # Published or not, nothing is known of this batch: all of it goes again.
            redis_error = exc
            reason = f"redis: {type(exc).__name__}: {exc}"[:1000]
            for event in events:
                event.last_error = reason
        else:
            published = [e.id for e in events if e.id not in failed]
            if published:
                await session.execute(
                    update(OutboxEvent)
                    .where(OutboxEvent.id.in_(published))
                    .values(published_at=now)
                )
            for event in events:
                if event.id in failed:
                    _record_failure(event, failed[event.id], now=now, max_attempts=max_attempts)
    if redis_error is not None:
        raise RelayUnavailable(f"{len(events)} events stay pending: {redis_error}") from redis_error
    return len(events), len(published)


def _record_failure(event: OutboxEvent, reason: str, *, now: datetime, max_attempts: int) -> None:
    event.attempts += 1
    event.last_error = reason[:1000]
    if event.attempts >= max_attempts:
        event.dead_at = now
        log.error(
            "outbox event %s (%s) dead-lettered after %d attempts: %s",
            event.id,
            event.topic,
            event.attempts,
            reason,
        )
    else:
        event.retry_at = now + retry_delay(event.attempts)


async def run_relay(
    sessionmaker: SessionMaker,
    redis_pool: ArqRedis,
    *,
    engine: AsyncEngine | None = None,
    clock: Clock = utc_now,
    batch: int = 200,
    idle_delay: float = POLL_SECONDS,
    max_backoff: float = MAX_BACKOFF_SECONDS,
    prefix: str = DEFAULT_PREFIX,
) -> None:
    """Relay until cancelled: drain what is due, then sleep until a NOTIFY (when `engine`
    is given) or `idle_delay` seconds; back off exponentially while Redis or PostgreSQL
    is away. Anything else is a bug, left to the supervisor (app.supervisor), which logs
    its traceback, shows the relay failing and restarts it; so is losing the LISTEN
    connection."""
    if engine is None:
        await _relay_loop(
            sessionmaker, redis_pool, None, clock, batch, idle_delay, max_backoff, prefix
        )
        return
    async with Listener(engine, OUTBOX_CHANNEL) as listener:
        await _relay_loop(
            sessionmaker, redis_pool, listener, clock, batch, idle_delay, max_backoff, prefix
        )


async def _relay_loop(
    sessionmaker: SessionMaker,
    redis_pool: ArqRedis,
    listener: Listener | None,
    clock: Clock,
    batch: int,
    idle_delay: float,
    max_backoff: float,
    prefix: str,
) -> None:
    backoff = 0.0
    while True:
        if listener is not None:
            listener.take()  # what commits from now on wakes the next wait
        try:
            async with asyncio.timeout(PASS_TIMEOUT_SECONDS):
                claimed, _ = await _relay_batch(
                    sessionmaker, redis_pool, batch=batch, now=clock(), prefix=prefix
                )
        except (RelayUnavailable, TimeoutError, OSError, DBAPIError) as exc:
            # Redis or PostgreSQL being away is expected: the events wait in PostgreSQL.
            backoff = min(max_backoff, backoff * 2 or 0.05)
            log.warning("outbox relay failed, retrying in %.1fs: %s", backoff, exc)
            await asyncio.sleep(backoff)
            continue
        backoff = 0.0
        if claimed < batch:  # a full batch, failed or not, means more may be waiting
            if listener is not None:
                await listener.wait(idle_delay)
            else:
                await asyncio.sleep(idle_delay)
