"""Which arq jobs each outbox topic triggers, and the outbox's own housekeeping job.

`TOPIC_JOBS` is where the relay (app.outbox.relay) looks up what to run when an event is
committed. A package says "when this event is committed, run that job" with a `TOPICS`
table of mappers of its own (app.chat.jobs, app.inbound.jobs, app.sla.jobs), merged here;
several packages may map one topic. The relay enqueues what the mappers return, once per
event, with a job id derived from the event id. Mappers are pure and must not raise on a
payload they do not care about: return `[]`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete

from app.chat import jobs as chat_jobs
from app.db.engine import transaction
from app.inbound import jobs as inbound_jobs
from app.outbox.models import OutboxEvent
from app.outbox.service import MESSAGE_CREATED, MESSAGE_STATUS_CHANGED
from app.sla import jobs as sla_jobs

if TYPE_CHECKING:
    from app.worker import JobContext

JobRequest = tuple[str, dict[str, Any]]
TopicMapper = Callable[[dict[str, Any]], list[JobRequest]]

# Published events are kept this long for debugging, then pruned.
PUBLISHED_RETENTION = timedelta(days=7)


def queued_reply_jobs(payload: dict[str, Any]) -> list[JobRequest]:
    """A reply stored as `queued`, or queued again by a retry, is handed to its channel by
    `send_outbound`."""
    if (
        payload.get("direction") == "outbound"
        and not payload.get("internal", False)
        and payload.get("status") == "queued"
        and isinstance(payload.get("message_id"), int)
    ):
        return [("send_outbound", {"message_id": payload["message_id"]})]
    return []


# Jobs with a form for many events: when one relay pass asks for such a job more than once,
# it enqueues the batch form once with every event's argument in a list. arq starts jobs
# one at a time with several Redis round trips each, so a mail import's acknowledgements
# as one job per reply waited in arq's queue long after their import.
# job -> (batch job, the job's argument, the batch job's list argument)
BATCHED_JOBS: dict[str, tuple[str, str, str]] = {
    "send_outbound": ("send_outbound_batch", "message_id", "message_ids"),
}
# Events per batch job: its sends all start at once and each must end within the
# adapter's deadline (app.messages.jobs), waits for a connection included.
MAX_BATCH = 50


def merged(*tables: Mapping[str, TopicMapper]) -> dict[str, TopicMapper]:
    """One mapper per topic that runs every table's mapper for it, in the tables' order."""
    by_topic: dict[str, list[TopicMapper]] = {}
    for table in tables:
        for topic, mapper in table.items():
            by_topic.setdefault(topic, []).append(mapper)
    return {
        topic: mappers[0] if len(mappers) == 1 else _chain(mappers)
        for topic, mappers in by_topic.items()
    }


def _chain(mappers: list[TopicMapper]) -> TopicMapper:
    return lambda payload: [job for mapper in mappers for job in mapper(payload)]


# Replies are this package's own: a queued reply (new, or queued again by a retry) is sent.
REPLY_TOPICS: dict[str, TopicMapper] = {
    MESSAGE_CREATED: queued_reply_jobs,
    MESSAGE_STATUS_CHANGED: queued_reply_jobs,
}
TOPIC_JOBS: dict[str, TopicMapper] = merged(
    REPLY_TOPICS, chat_jobs.TOPICS, inbound_jobs.TOPICS, sla_jobs.TOPICS
)


def jobs_for(topic: str, payload: dict[str, Any]) -> list[JobRequest]:
    mapper = TOPIC_JOBS.get(topic)
    return mapper(payload) if mapper else []


async def prune_outbox(ctx: JobContext) -> int:
    """Delete events published more than `PUBLISHED_RETENTION` ago; pending ones are kept."""
    cutoff = ctx["clock"]() - PUBLISHED_RETENTION
    async with transaction(ctx["sessionmaker"]) as session:
        result = await session.execute(
            delete(OutboxEvent).where(
                OutboxEvent.published_at.is_not(None), OutboxEvent.published_at < cutoff
            )
        )
    return int(result.rowcount)  # type: ignore[attr-defined]
