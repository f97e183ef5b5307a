"""The outbound job's state machine, with a recording adapter standing in for a channel
(the real adapters are tested against real servers in tests/channels/). A worker that
stops mid-send: test_unknown_outcome.py."""

from __future__ import annotations

import pytest
from arq import Retry
from sqlalchemy.ext.asyncio import AsyncSession

from app.ingest.types import DeliveryResult, SenderIdentity
from app.messages.jobs import send_outbound
from tests.app.messages.sending import RecordingSender, Sending


async def test_queued_reply_is_sent_once_with_thread_and_secrets(
    sending: Sending,
    db_session: AsyncSession,
) -> None:
    reply = await sending.reply()
    sender = RecordingSender([DeliveryResult("sent", external_id="<reply@us.test>")])
    ctx = sending.ctx(senders={"email": sender})

    assert await send_outbound(ctx, message_id=reply.id) == "sent"
    assert await send_outbound(ctx, message_id=reply.id) == "skipped"

    assert len(sender.sent) == 1
    outbound, secrets = sender.sent[0]
    assert outbound.recipient == SenderIdentity("email", "lee@customer.test")
    assert outbound.thread_external_ids == ("<first@customer.test>",)
    assert secrets == {"smtp_password": "pw"}
    await db_session.refresh(reply)
    assert (reply.status, reply.external_id) == ("sent", "<reply@us.test>")


async def test_temporary_failure_retries_then_permanent_failure_is_recorded(
    sending: Sending,
    db_session: AsyncSession,
) -> None:
    reply = await sending.reply()
    sender = RecordingSender(
        [
            DeliveryResult("failed", failure_reason="421 try later", retry=True),
            DeliveryResult("failed", failure_reason="550 no such user"),
        ]
    )
    ctx = sending.ctx(senders={"email": sender}, job_try=1)

    with pytest.raises(Retry):
        await send_outbound(ctx, message_id=reply.id)
    await db_session.refresh(reply)
    assert reply.status == "queued"
    assert await send_outbound({**ctx, "job_try": 2}, message_id=reply.id) == "failed"

    await db_session.refresh(reply)
    assert (reply.status, reply.failure_reason) == ("failed", "550 no such user")
    assert sender.ids == ["<attempt-1@us.test>", "<attempt-1@us.test>"]  # one id across tries


async def test_channel_without_adapter_fails_visibly(
    sending: Sending,
    db_session: AsyncSession,
) -> None:
    reply = await sending.reply()

    assert await send_outbound(sending.ctx(), message_id=reply.id) == "failed"

    await db_session.refresh(reply)
    assert reply.failure_reason is not None
    assert "email" in reply.failure_reason
