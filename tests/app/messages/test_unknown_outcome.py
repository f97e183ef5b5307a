"""A worker that stops mid-send (killed, or its lease lapsed) leaves an attempt without
outcome: the next try sends again with the same Message-ID, a bounded number of times, and
an agent can send a reply that failed that way once more. The real SIGKILL:
tests/channels/email/test_send_resilience.py."""

from __future__ import annotations

import asyncio
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.ingest.types import DeliveryResult, OutboundMessage
from app.messages.jobs import MAX_UNKNOWN_OUTCOMES, send_outbound
from app.messages.models import Message
from app.messages.service import message_out
from app.outbox.jobs import jobs_for
from app.outbox.models import OutboxEvent
from tests.app.messages.sending import RecordingSender, Sending
from tests.factories.agents import auth_headers, make_agent


class DyingSender(RecordingSender):
    """The worker stops while the message is out: no outcome is ever recorded."""

    async def send(self, message: OutboundMessage, **kwargs: Any) -> DeliveryResult:
        self.ids.append(kwargs["external_id"])
        raise asyncio.CancelledError


async def attempts(session: AsyncSession, message_id: int) -> list[tuple[str | None, bool, str]]:
    session.expunge_all()
    message = await session.scalar(
        select(Message).where(Message.id == message_id).options(selectinload(Message.attachments))
    )
    assert message is not None
    out = message_out(message).delivery_attempts
    assert [a.n for a in out] == list(range(1, len(out) + 1))
    return [(a.outcome, a.resend, a.external_id or "") for a in out]


async def die(ctx: dict[str, Any], message_id: int) -> None:
    try:
        await send_outbound(ctx, message_id=message_id)
    except asyncio.CancelledError:
        return
    raise AssertionError("the dying sender did not stop the job")


async def test_an_attempt_without_outcome_is_sent_again_with_the_same_message_id(
    sending: Sending,
    db_session: AsyncSession,
) -> None:
    reply = await sending.reply()
    dying = DyingSender([])
    await die(sending.ctx(senders={"email": dying}), reply.id)
    healthy = RecordingSender([DeliveryResult("sent", external_id="<attempt-1@us.test>")])

    outcome = await send_outbound(
        sending.ctx(senders={"email": healthy}, job_try=2),
        message_id=reply.id,
    )

    assert outcome == "sent"
    assert dying.ids == healthy.ids == ["<attempt-1@us.test>"]
    assert healthy.issued == 0  # no new Message-ID for the resend
    await db_session.refresh(reply)
    assert (reply.status, reply.failure_reason) == ("sent", None)
    # An admin sees that the reply went out twice, and why.
    assert await attempts(db_session, reply.id) == [
        ("unknown", False, "<attempt-1@us.test>"),
        ("sent", True, "<attempt-1@us.test>"),
    ]


async def test_a_reply_that_stops_the_worker_every_time_fails_and_an_agent_can_retry_it(
    client: AsyncClient,
    sending: Sending,
    db_session: AsyncSession,
) -> None:
    reply = await sending.reply()
    dying = DyingSender([])
    ctx = sending.ctx(senders={"email": dying})
    for job_try in range(1, MAX_UNKNOWN_OUTCOMES + 1):
        await die({**ctx, "job_try": job_try}, reply.id)

    outcome = await send_outbound({**ctx, "job_try": 4}, message_id=reply.id)

    assert outcome == "failed"
    assert len(dying.ids) == MAX_UNKNOWN_OUTCOMES
    await db_session.refresh(reply)
    assert reply.status == "failed"
    assert reply.failure_reason is not None
    assert "outcome unknown" in reply.failure_reason
    assert "same Message-ID" in reply.failure_reason

    headers = await auth_headers(db_session, await make_agent(db_session, role="supervisor"))
    url = f"/api/v1/tickets/{reply.ticket_id}/messages/{reply.id}/retry"
    retried = await client.post(url, headers=headers)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["failure_reason"]) == ("queued", None)
    event = await db_session.scalar(
        select(OutboxEvent)
        .order_by(OutboxEvent.id.desc())
        .where(OutboxEvent.ticket_id == reply.ticket_id)
    )
    assert event is not None
    assert jobs_for(event.topic, event.payload) == [("send_outbound", {"message_id": reply.id})]

    healthy = RecordingSender([DeliveryResult("sent", external_id="<attempt-1@us.test>")])
    assert (
        await send_outbound(
            {**ctx, "senders": {"email": healthy}, "job_try": 1}, message_id=reply.id
        )
        == "sent"
    )
    assert healthy.ids == ["<attempt-1@us.test>"]
    assert [(o, r) for o, r, _ in await attempts(db_session, reply.id)] == [
        ("unknown", False),
        ("unknown", True),
        ("unknown", True),
        ("sent", False),  # the agent's decision, not an automatic resend
    ]
    again = await client.post(url, headers=headers)
    assert again.status_code == 409
    assert again.json()["code"] == "message_not_failed"


async def test_a_worker_that_lost_its_job_midway_does_not_undo_the_takeover(
    sending: Sending,
    db_session: AsyncSession,
) -> None:
    reply = await sending.reply()
    in_send, answer = asyncio.Event(), asyncio.Event()

    class SlowSender(RecordingSender):
        async def send(self, message: OutboundMessage, **kwargs: Any) -> DeliveryResult:
            in_send.set()
            await answer.wait()
            return await super().send(message, **kwargs)

    slow = SlowSender([DeliveryResult("failed", failure_reason="421 try later", retry=True)])
    first = asyncio.create_task(
        send_outbound(
            sending.ctx(senders={"email": slow}, job_try=1),
            message_id=reply.id,
        )
    )
    await asyncio.wait_for(in_send.wait(), 5)
    # Its lease lapsed (the worker stalled): another worker takes the job over.
    healthy = RecordingSender([DeliveryResult("sent", external_id="<attempt-1@us.test>")])
    assert (
        await send_outbound(
            sending.ctx(senders={"email": healthy}, job_try=2),
            message_id=reply.id,
        )
        == "sent"
    )

    answer.set()

    assert await first == "taken over"  # no Retry: the job is the other worker's now
    await db_session.refresh(reply)
    assert (reply.status, reply.failure_reason) == ("sent", None)
    assert slow.ids == healthy.ids == ["<attempt-1@us.test>"]
    assert [(o, r) for o, r, _ in await attempts(db_session, reply.id)] == [
        ("temporary_failure", False),
        ("sent", True),
    ]
