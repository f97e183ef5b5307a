"""Helpers for the outbound job's tests: a recording adapter standing in for a channel (the
real adapters are tested against real servers in tests/channels/), a queued reply and the
job context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.storage import AttachmentStore
from app.auth.actor import Actor
from app.config import Settings
from app.db.engine import SessionMaker
from app.inboxes.models import Inbox
from app.ingest.service import ingest
from app.ingest.types import DeliveryResult, InboundMessage, OutboundMessage, SenderIdentity
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


async def queued_reply(
    db_session: AsyncSession, settings: Settings, box: SecretBox, clock: FrozenClock
) -> Message:
    """An agent's reply on an email ticket, committed as `queued`."""
    [reply] = await queued_replies(db_session, settings, box, clock, count=1)
    return reply


async def queued_replies(
    db_session: AsyncSession,
    settings: Settings,
    box: SecretBox,
    clock: FrozenClock,
    *,
    count: int,
    per_ticket: int = 1,
) -> list[Message]:
    """`count` agent replies, `per_ticket` on each email ticket (customers lee0@, lee1@,
    ...), committed as `queued`."""
    inbox = Inbox(
        name="Mail",
        channel="email",
        settings={"address": "help@us.test"},
        secrets_encrypted=box.seal({"smtp_password": "pw"}),
    )
    db_session.add(inbox)
    await db_session.flush()
    store = AttachmentStore(settings.storage)
    agent = await make_agent(db_session, role="admin")
    actor = Actor(
        agent_id=agent.id, role="admin", team_ids=frozenset(), scopes=frozenset({"read", "write"})
    )
    replies = []
    for n in range(0, count, per_ticket):
        suffix = "" if count == 1 else str(n // per_ticket)
        inbound = InboundMessage(
            channel="email",
            inbox_id=inbox.id,
            sender=(SenderIdentity("email", f"lee{suffix}@customer.test"),),
            external_id=f"<first{suffix}@customer.test>",
            subject="Broken",
            text="It broke",
        )
        result = await ingest(db_session, inbound, store=store, now=clock())
        for _ in range(min(per_ticket, count - n)):
            reply = await do_add_message(
                db_session, actor, result.ticket.id, body="Fixed", internal=False, now=clock()
            )
            replies.append(reply)
    await db_session.commit()
    assert {reply.status for reply in replies} == {"queued"}
    return replies


def job_ctx(
    sessionmaker: SessionMaker, settings: Settings, box: SecretBox, clock: FrozenClock, **extra: Any
) -> dict[str, Any]:
    return {
        "sessionmaker": sessionmaker,
        "clock": clock,
        "secret_box": box,
        "attachment_store": AttachmentStore(settings.storage),
        **extra,
    }


@dataclass
class Sending:
    """What a test of the send jobs needs: queued replies to send and a worker's job context."""

    db_session: AsyncSession
    sessionmaker: SessionMaker
    settings: Settings
    box: SecretBox
    clock: FrozenClock

    async def reply(self) -> Message:
        return await queued_reply(self.db_session, self.settings, self.box, self.clock)

    async def replies(self, *, count: int, per_ticket: int = 1) -> list[Message]:
        return await queued_replies(
            self.db_session, self.settings, self.box, self.clock, count=count, per_ticket=per_ticket
        )

    def ctx(self, **extra: Any) -> dict[str, Any]:
        return job_ctx(self.sessionmaker, self.settings, self.box, self.clock, **extra)
