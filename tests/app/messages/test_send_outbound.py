"""The outbound job's state machine, with a recording adapter standing in for a channel
(the real adapters are tested against real servers in tests/channels/)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from arq import Retry
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.storage import AttachmentStore
from app.auth.actor import Actor
from app.config import Settings
from app.db.engine import SessionMaker
from app.inboxes.models import Inbox
from app.ingest.service import ingest
from app.ingest.types import DeliveryResult, InboundMessage, OutboundMessage, SenderIdentity
from app.messages.jobs import send_outbound
from app.messages.models import Message
from app.messages.service import do_add_message
from app.security.crypto import SecretBox
from tests.conftest import FrozenClock
from tests.factories.agents import make_agent


@dataclass
class RecordingSender:
    results: list[DeliveryResult]
    sent: list[tuple[OutboundMessage, dict[str, Any]]] = field(default_factory=list)
    ids: list[str | None] = field(default_factory=list)
    issued: int = 0

    def new_external_id(
        self, message: OutboundMessage, *, inbox_settings: dict[str, Any]
    ) -> str | None:
        self.issued += 1
        return f"<attempt-{self.issued}@us.test>"

    async def send(
        self,
        message: OutboundMessage,
        *,
        inbox_settings: dict[str, Any],
        secrets: dict[str, Any],
        external_id: str | None,
    ) -> DeliveryResult:
        self.sent.append((message, secrets))
        self.ids.append(external_id)
        return self.results.pop(0)


@pytest.fixture
def box(settings: Settings) -> SecretBox:
    return SecretBox(settings.security.secret_key)


async def _queued_reply(
    db_session: AsyncSession, settings: Settings, box: SecretBox, clock: FrozenClock
) -> Message:
    inbox = Inbox(
        name="Mail",
        channel="email",
        settings={"address": "help@us.test"},
        secrets_encrypted=box.seal({"smtp_password": "pw"}),
    )
    db_session.add(inbox)
    await db_session.flush()
    store = AttachmentStore(settings.storage)
    inbound = InboundMessage(
        channel="email",
        inbox_id=inbox.id,
        sender=(SenderIdentity("email", "lee@customer.test"),),
        external_id="<first@customer.test>",
        subject="Broken",
        text="It broke",
    )
    result = await ingest(db_session, inbound, store=store, now=clock())
    agent = await make_agent(db_session, role="admin")
    actor = Actor(
        agent_id=agent.id, role="admin", team_ids=frozenset(), scopes=frozenset({"read", "write"})
    )
    reply = await do_add_message(
        db_session, actor, result.ticket.id, body="Fixed", internal=False, now=clock()
    )
    await db_session.commit()
    assert reply.status == "queued"
    return reply


def _ctx(
    sessionmaker: SessionMaker, settings: Settings, box: SecretBox, clock: FrozenClock, **extra: Any
) -> dict[str, Any]:
    return {
        "sessionmaker": sessionmaker,
        "clock": clock,
        "secret_box": box,
        "attachment_store": AttachmentStore(settings.storage),
        **extra,
    }


async def test_queued_reply_is_sent_once_with_thread_and_secrets(
    db_session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    box: SecretBox,
    clock: FrozenClock,
) -> None:
    reply = await _queued_reply(db_session, settings, box, clock)
    sender = RecordingSender([DeliveryResult("sent", external_id="<reply@us.test>")])
    ctx = _ctx(sessionmaker, settings, box, clock, senders={"email": sender})

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
    db_session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    box: SecretBox,
    clock: FrozenClock,
) -> None:
    reply = await _queued_reply(db_session, settings, box, clock)
    sender = RecordingSender(
        [
            DeliveryResult("failed", failure_reason="421 try later", retry=True),
            DeliveryResult("failed", failure_reason="550 no such user"),
        ]
    )
    ctx = _ctx(sessionmaker, settings, box, clock, senders={"email": sender}, job_try=1)

    with pytest.raises(Retry):
        await send_outbound(ctx, message_id=reply.id)
    await db_session.refresh(reply)
    assert reply.status == "queued"
    assert await send_outbound({**ctx, "job_try": 2}, message_id=reply.id) == "failed"

    await db_session.refresh(reply)
    assert (reply.status, reply.failure_reason) == ("failed", "550 no such user")
    assert sender.ids == ["<attempt-1@us.test>", "<attempt-1@us.test>"]  # one id across tries


async def test_a_send_that_died_midway_is_not_repeated(
    db_session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    box: SecretBox,
    clock: FrozenClock,
) -> None:
    reply = await _queued_reply(db_session, settings, box, clock)

    class DyingSender(RecordingSender):
        async def send(self, message: OutboundMessage, **kwargs: Any) -> DeliveryResult:
            raise asyncio.CancelledError  # the job timed out or the worker was killed mid-send

    dying = DyingSender([])
    with pytest.raises(asyncio.CancelledError):
        await send_outbound(
            _ctx(sessionmaker, settings, box, clock, senders={"email": dying}), message_id=reply.id
        )
    healthy = RecordingSender([DeliveryResult("sent")])

    outcome = await send_outbound(
        _ctx(sessionmaker, settings, box, clock, senders={"email": healthy}), message_id=reply.id
    )

    assert outcome == "failed"
    assert healthy.sent == []
    await db_session.refresh(reply)
    assert reply.failure_reason is not None
    assert "outcome unknown" in reply.failure_reason


async def test_channel_without_adapter_fails_visibly(
    db_session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    box: SecretBox,
    clock: FrozenClock,
) -> None:
    reply = await _queued_reply(db_session, settings, box, clock)

    assert (
        await send_outbound(_ctx(sessionmaker, settings, box, clock), message_id=reply.id)
        == "failed"
    )

    await db_session.refresh(reply)
    assert reply.failure_reason is not None
    assert "email" in reply.failure_reason
