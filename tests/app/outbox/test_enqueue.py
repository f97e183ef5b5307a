"""Enqueueing a relay batch's jobs at once, against real Redis: each new job once, in the
form an arq worker runs, and never a job whose id Redis knows."""

from __future__ import annotations

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import Job, JobStatus

from app.outbox.enqueue import enqueue_jobs


async def test_new_jobs_are_queued_as_enqueue_job_queues_them(arq_redis: ArqRedis) -> None:
    errors = await enqueue_jobs(
        arq_redis,
        [("send_outbound", "a", {"message_id": 1}), ("send_outbound", "b", {"message_id": 2})],
    )

    assert errors == [None, None]
    for job_id, message_id in (("a", 1), ("b", 2)):
        job = Job(job_id, arq_redis)
        assert await job.status() == JobStatus.queued
        info = await job.info()
        assert info is not None
        assert (info.function, info.kwargs) == ("send_outbound", {"message_id": message_id})


async def test_a_job_whose_id_is_known_is_left_alone(arq_redis: ArqRedis) -> None:
    await arq_redis.enqueue_job("send_outbound", _job_id="queued", message_id=1)
    await arq_redis.set(result_key_prefix + "done", b"a result")  # ran already

    errors = await enqueue_jobs(
        arq_redis,
        [
            ("send_outbound", "queued", {"message_id": 99}),
            ("send_outbound", "done", {"message_id": 99}),
            ("send_outbound", "new", {"message_id": 3}),
        ],
    )

    assert errors == [None, None, None]
    info = await Job("queued", arq_redis).info()
    assert info is not None
    assert info.kwargs == {"message_id": 1}  # not replaced
    assert not await arq_redis.exists(job_key_prefix + "done")
    queue = await arq_redis.zrange(arq_redis.default_queue_name, 0, -1)
    assert sorted(queue) == [b"new", b"queued"]


async def test_a_job_that_cannot_be_serialized_fails_alone(arq_redis: ArqRedis) -> None:
    errors = await enqueue_jobs(
        arq_redis,
        [("send_outbound", "bad", {"thing": lambda: None}), ("send_outbound", "ok", {"n": 1})],
    )

    assert errors[0] is not None
    assert errors[1] is None
    assert await Job("ok", arq_redis).status() == JobStatus.queued
