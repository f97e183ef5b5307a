from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from arq.connections import ArqRedis
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from sqlalchemy import select, update

from app.db.engine import SessionMaker, transaction
from app.outbox.models import OutboxEvent
from app.outbox.relay import (
    TOPIC_JOBS,
    RelayUnavailable,
    events_channel,
    relay_once,
    retry_delay,
    run_relay,
    ticket_channel,
)
from app.outbox.service import MESSAGE_CREATED, TICKET_UPDATED, emit
from tests.app.outbox.conftest import RedisProxy, free_port, make_ticket
from tests.conftest import CHANNEL_PREFIX, FrozenClock

EVENTS_CHANNEL = events_channel(prefix=CHANNEL_PREFIX)

pytestmark = pytest.mark.committing


def outbound(message_id: int) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "direction": "outbound",
        "internal": False,
        "status": "queued",
    }


async def subscribe(redis: Redis, *channels: str) -> PubSub:
    pubsub = redis.pubsub()
    await pubsub.subscribe(*channels)
    for _ in channels:  # the subscription confirmations
        await pubsub.get_message(timeout=1)
    return pubsub


async def received(pubsub: PubSub, count: int, *, within: float = 3.0) -> list[tuple[str, dict]]:
    messages: list[tuple[str, dict]] = []
    async with asyncio.timeout(within):
        while len(messages) < count:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if message:
                messages.append((message["channel"].decode(), json.loads(message["data"])))
    # Nothing more should follow.
    assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2) is None
    return messages


async def pending(sessionmaker: SessionMaker) -> list[OutboxEvent]:
    async with sessionmaker() as session:
        stmt = (
            select(OutboxEvent).where(OutboxEvent.published_at.is_(None)).order_by(OutboxEvent.id)
        )
        return list((await session.scalars(stmt)).all())


async def until(sessionmaker: SessionMaker, condition: Callable[[list[OutboxEvent]], bool]) -> None:
    """Poll the pending events until `condition` holds (at most 5 seconds)."""
    async with asyncio.timeout(5):
        while not condition(await pending(sessionmaker)):  # noqa: ASYNC110 - polling the database
            await asyncio.sleep(0.05)


async def test_relay_publishes_committed_events_and_enqueues_one_job_each(
    committing_sessionmaker: SessionMaker, arq_redis: ArqRedis, clock: FrozenClock
) -> None:
    async with transaction(committing_sessionmaker) as session:
        ticket = await make_ticket(session)
        reply = emit(
            session, topic=MESSAGE_CREATED, ticket_id=ticket.id, seq=1, payload=outbound(7)
        )
        inbound = {"message_id": 8, "direction": "inbound", "internal": False, "status": "received"}
        emit(session, topic=MESSAGE_CREATED, ticket_id=ticket.id, seq=2, payload=inbound)
        emit(session, topic=TICKET_UPDATED, ticket_id=ticket.id, seq=3, payload={"status": "open"})
        await session.flush()
    pubsub = await subscribe(
        arq_redis, ticket_channel(ticket.id, prefix=CHANNEL_PREFIX), EVENTS_CHANNEL
    )

    assert (
        await relay_once(committing_sessionmaker, arq_redis, now=clock(), prefix=CHANNEL_PREFIX)
        == 3
    )

    messages = await received(pubsub, 6)
    on_ticket = [
        m for channel, m in messages if channel == ticket_channel(ticket.id, prefix=CHANNEL_PREFIX)
    ]
    assert [m["seq"] for m in on_ticket] == [1, 2, 3]
    assert on_ticket[0] == {
        "id": reply.id,
        "topic": MESSAGE_CREATED,
        "ticket_id": ticket.id,
        "seq": 1,
        "payload": outbound(7),
    }
    assert [m for channel, m in messages if channel == EVENTS_CHANNEL] == on_ticket
    jobs = await arq_redis.queued_jobs()
    assert [(j.job_id, j.function, j.kwargs) for j in jobs] == [
        (f"outbox:{reply.uuid}:send_outbound", "send_outbound", {"message_id": 7})
    ]
    assert await pending(committing_sessionmaker) == []
    async with committing_sessionmaker() as session:
        published = await session.scalars(select(OutboxEvent.published_at))
        assert set(published) == {clock()}

    # Relaying the same event again (its commit was lost, say) never enqueues a second job.
    async with transaction(committing_sessionmaker) as session:
        await session.execute(update(OutboxEvent).values(published_at=None))
    assert (
        await relay_once(committing_sessionmaker, arq_redis, now=clock(), prefix=CHANNEL_PREFIX)
        == 3
    )
    assert await arq_redis.zcard("arq:queue") == 1
    await pubsub.aclose()


async def test_the_replies_of_one_pass_go_out_in_one_batch_job_enqueued_once(
    committing_sessionmaker: SessionMaker, arq_redis: ArqRedis, clock: FrozenClock
) -> None:
    async with transaction(committing_sessionmaker) as session:
        ticket = await make_ticket(session)
        for n in range(3):
            emit(session, topic=MESSAGE_CREATED, ticket_id=ticket.id, seq=n + 1,
                 payload=outbound(20 + n))  # fmt: skip

    assert await relay_once(committing_sessionmaker, arq_redis, now=clock()) == 3

    [job] = await arq_redis.queued_jobs()
    assert (job.function, job.kwargs) == ("send_outbound_batch", {"message_ids": [20, 21, 22]})
    # The same events relayed again (the commit was lost) make the same job id.
    async with transaction(committing_sessionmaker) as session:
        await session.execute(update(OutboxEvent).values(published_at=None))
    assert await relay_once(committing_sessionmaker, arq_redis, now=clock()) == 3
    assert [j.job_id for j in await arq_redis.queued_jobs()] == [job.job_id]


async def test_uncommitted_events_are_not_relayed(
    committing_sessionmaker: SessionMaker, arq_redis: ArqRedis, clock: FrozenClock
) -> None:
    async with committing_sessionmaker() as session, session.begin():
        emit(session, topic=MESSAGE_CREATED, payload=outbound(1))
        await session.flush()

        assert (
            await relay_once(committing_sessionmaker, arq_redis, now=clock(), prefix=CHANNEL_PREFIX)
            == 0
        )
        assert await arq_redis.zcard("arq:queue") == 0

    assert (
        await relay_once(committing_sessionmaker, arq_redis, now=clock(), prefix=CHANNEL_PREFIX)
        == 1
    )


async def test_two_concurrent_relays_never_publish_an_event_twice(
    committing_sessionmaker: SessionMaker, arq_redis: ArqRedis, clock: FrozenClock
) -> None:
    total = 400
    async with transaction(committing_sessionmaker) as session:
        for n in range(total):
            emit(session, topic=MESSAGE_CREATED, payload=outbound(n))
    pubsub = await subscribe(arq_redis, EVENTS_CHANNEL)

    async def drain() -> int:
        count = 0
        while published := await relay_once(
            committing_sessionmaker, arq_redis, batch=25, now=clock(), prefix=CHANNEL_PREFIX
        ):
            count += published
        return count

    first, second = await asyncio.gather(drain(), drain())

    assert first + second == total
    assert first > 0  # both relays took part
    assert second > 0
    ids = [m["id"] for _, m in await received(pubsub, total, within=10)]
    assert len(ids) == len(set(ids)) == total
    # Every reply in exactly one job (a pass's replies share one batch job).
    sends = [
        n
        for job in await arq_redis.queued_jobs()
        for n in job.kwargs.get("message_ids", [job.kwargs.get("message_id")])
    ]
    assert sorted(sends) == list(range(total))
    await pubsub.aclose()


async def test_events_stay_pending_while_redis_is_down_and_go_out_once_it_is_back(
    committing_sessionmaker: SessionMaker, arq_redis: ArqRedis, clock: FrozenClock
) -> None:
    async with transaction(committing_sessionmaker) as session:
        first = emit(session, topic=MESSAGE_CREATED, payload=outbound(1))
        emit(session, topic=TICKET_UPDATED, payload={"status": "open"})
    down = ArqRedis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)

    with pytest.raises(RelayUnavailable):
        await relay_once(committing_sessionmaker, down, now=clock(), prefix=CHANNEL_PREFIX)
    await down.aclose()

    stuck = await pending(committing_sessionmaker)
    assert [e.attempts for e in stuck] == [0, 0]  # an outage is not the events' fault
    assert all("redis" in (e.last_error or "") for e in stuck)

    pubsub = await subscribe(arq_redis, EVENTS_CHANNEL)
    assert (
        await relay_once(committing_sessionmaker, arq_redis, now=clock(), prefix=CHANNEL_PREFIX)
        == 2
    )
    assert len(await received(pubsub, 2)) == 2
    assert [j.job_id for j in await arq_redis.queued_jobs()] == [
        f"outbox:{first.uuid}:send_outbound"
    ]
    assert await pending(committing_sessionmaker) == []
    await pubsub.aclose()


async def test_run_relay_backs_off_during_an_outage_and_recovers(
    committing_sessionmaker: SessionMaker,
    arq_redis: ArqRedis,
    redis_proxy: RedisProxy,
    redis_db: int,
    clock: FrozenClock,
) -> None:
    async with transaction(committing_sessionmaker) as session:
        emit(session, topic=MESSAGE_CREATED, payload=outbound(1))
    via_proxy = ArqRedis.from_url(
        f"redis://127.0.0.1:{redis_proxy.port}/{redis_db}", socket_connect_timeout=0.5
    )
    relay = asyncio.create_task(
        run_relay(
            committing_sessionmaker,
            via_proxy,
            clock=clock,
            idle_delay=0.02,
            max_backoff=0.1,
            prefix=CHANNEL_PREFIX,
        )
    )
    try:
        await until(committing_sessionmaker, lambda events: bool(events[0].last_error))
        pubsub = await subscribe(arq_redis, EVENTS_CHANNEL)

        await redis_proxy.start()

        assert len(await received(pubsub, 1, within=5)) == 1
        await pubsub.aclose()
    finally:
        relay.cancel()
        with pytest.raises(asyncio.CancelledError):
            await relay
        await via_proxy.aclose()
    assert await pending(committing_sessionmaker) == []
    assert await arq_redis.zcard("arq:queue") == 1


async def test_an_event_whose_jobs_cannot_be_built_does_not_block_the_others(
    committing_sessionmaker: SessionMaker,
    arq_redis: ArqRedis,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        raise KeyError("message_id")

    monkeypatch.setitem(TOPIC_JOBS, "test.broken", broken)
    async with transaction(committing_sessionmaker) as session:
        bad = emit(session, topic="test.broken", payload={})
        emit(session, topic=TICKET_UPDATED, payload={})

    assert (
        await relay_once(committing_sessionmaker, arq_redis, now=clock(), prefix=CHANNEL_PREFIX)
        == 1
    )

    [stuck] = await pending(committing_sessionmaker)
    assert stuck.id == bad.id
    assert stuck.attempts == 1
    assert stuck.last_error == "KeyError: 'message_id'"
    assert stuck.retry_at == clock() + retry_delay(1)


def test_only_queued_outbound_public_messages_are_sent() -> None:
    mapper = TOPIC_JOBS[MESSAGE_CREATED]
    assert mapper(outbound(5)) == [("send_outbound", {"message_id": 5})]
    assert mapper({**outbound(5), "internal": True}) == []
    assert mapper({**outbound(5), "status": "sent"}) == []
    assert mapper({**outbound(5), "direction": "inbound"}) == []


def test_a_sent_agent_reply_may_be_emailed_to_an_offline_chat_visitor() -> None:
    # Two packages map message.created: the outbox's send job and chat's offline email.
    mapper = TOPIC_JOBS[MESSAGE_CREATED]
    sent_reply = {**outbound(7), "status": "sent", "author_type": "agent"}
    assert mapper(sent_reply) == [("email_offline_visitor", {"message_id": 7})]
    assert mapper({**sent_reply, "internal": True}) == []
    assert mapper({**outbound(7), "author_type": "agent"}) == [("send_outbound", {"message_id": 7})]
