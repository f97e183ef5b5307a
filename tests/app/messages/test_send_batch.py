"""Many queued replies in one job (`send_outbound_batch`, what the relay enqueues for the
replies of one pass): each sent once, concurrently, each failure recorded on its own
reply, and the retry sending only what is still queued."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from arq import Retry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.ingest.types import DeliveryResult, OutboundMessage
from app.messages.jobs import send_outbound_batch
from app.messages.models import Message
from app.outbox.models import OutboxEvent
from app.outbox.service import MESSAGE_STATUS_CHANGED
from app.tickets.events import TicketEvent
from app.tickets.models import Ticket
from tests.app.messages.sending import Sending


@dataclass
class ScriptedSender:
    """Answers each reply (by its recipient) from its own script; counts sends in flight."""

    scripts: dict[str, list[DeliveryResult]]
    sent: list[str] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    def new_external_id(self, message: OutboundMessage, *, inbox_settings: dict[str, Any]) -> str:
        return f"<reply-{message.message_id}@us.test>"

    async def send(self, message: OutboundMessage, **kwargs: Any) -> DeliveryResult:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(0.01)  # all of the batch's sends are out at once
        self.in_flight -= 1
        self.sent.append(message.recipient.address)
        result = self.scripts[message.recipient.address].pop(0)
        if result.status == "sent":
            return DeliveryResult("sent", external_id=kwargs["external_id"])
        return result


SENT = DeliveryResult("sent")


async def statuses(session: AsyncSession, replies: list[Message]) -> list[tuple[str, str | None]]:
    session.expunge_all()
    rows = await session.scalars(
        select(Message).where(Message.id.in_([r.id for r in replies])).order_by(Message.id)
    )
    return [(m.status, m.failure_reason) for m in rows]


async def test_a_batch_sends_each_reply_once_and_concurrently(
    sending: Sending,
    db_session: AsyncSession,
) -> None:
    replies = await sending.replies(count=6, per_ticket=2)
    sender = ScriptedSender({f"lee{n}@customer.test": [SENT, SENT] for n in range(3)})
    ctx = sending.ctx(senders={"email": sender})
    ids = [r.id for r in replies]

    assert await send_outbound_batch(ctx, message_ids=[*ids, ids[0]]) == {"sent": 6}
    assert await send_outbound_batch(ctx, message_ids=ids) == {"skipped": 6}

    assert sorted(sender.sent) == sorted(f"lee{n}@customer.test" for n in range(3) for _ in "ab")
    assert sender.most_in_flight == 6
    assert await statuses(db_session, replies) == [("sent", None)] * 6
    external_ids = await db_session.scalars(
        select(Message.external_id).where(Message.id.in_(ids)).order_by(Message.id)
    )
    assert list(external_ids) == [f"<reply-{i}@us.test>" for i in ids]
    # Each reply's status change is one timeline event with its own seq on its ticket,
    # and one outbox row.
    changes = (
        await db_session.execute(
            select(TicketEvent.ticket_id, TicketEvent.seq, TicketEvent.data["message_id"])
            .where(TicketEvent.type == MESSAGE_STATUS_CHANGED)
            .order_by(TicketEvent.ticket_id, TicketEvent.seq)
        )
    ).all()
    assert sorted(int(m) for _, _, m in changes) == sorted(ids)
    by_ticket: dict[int, list[int]] = {}
    for ticket_id, seq, _ in changes:
        by_ticket.setdefault(ticket_id, []).append(seq)
    assert all(seqs == list(range(seqs[0], seqs[0] + 2)) for seqs in by_ticket.values())
    outbox = await db_session.scalars(
        select(OutboxEvent.seq).where(OutboxEvent.topic == MESSAGE_STATUS_CHANGED)
    )
    assert len(list(outbox)) == 6


async def test_each_failure_is_recorded_on_its_reply_and_only_those_queued_are_retried(
    sending: Sending,
    db_session: AsyncSession,
) -> None:
    replies = await sending.replies(count=3)
    sender = ScriptedSender(
        {
            "lee0@customer.test": [SENT],
            "lee1@customer.test": [
                DeliveryResult("failed", failure_reason="421 try later", retry=True),
                SENT,
            ],
            "lee2@customer.test": [DeliveryResult("failed", failure_reason="550 no such user")],
        }
    )
    ctx = sending.ctx(senders={"email": sender}, job_try=1)
    ids = [r.id for r in replies]

    with pytest.raises(Retry):
        await send_outbound_batch(ctx, message_ids=ids)
    assert await statuses(db_session, replies) == [
        ("sent", None),
        ("queued", None),
        ("failed", "550 no such user"),
    ]

    assert await send_outbound_batch({**ctx, "job_try": 2}, message_ids=ids) == {
        "skipped": 2,
        "sent": 1,
    }
    assert await statuses(db_session, replies) == [("sent", None)] * 2 + [
        ("failed", "550 no such user")
    ]
    assert sender.sent.count("lee1@customer.test") == 2
    assert len(sender.sent) == 4
    retried = await db_session.get(Message, ids[1])
    assert retried is not None
    attempts = [*retried.channel_data["attempts"], retried.channel_data["attempt"]]
    assert [(a["outcome"], a["external_id"]) for a in attempts] == [
        ("temporary_failure", f"<reply-{ids[1]}@us.test>"),
        ("sent", f"<reply-{ids[1]}@us.test>"),  # one Message-ID across tries
    ]


async def test_a_reply_that_cannot_be_sent_fails_alone(
    sending: Sending,
    db_session: AsyncSession,
) -> None:
    replies = await sending.replies(count=2)
    # The second reply's ticket lost its inbox (an admin deleted it, say).
    ticket = await db_session.get(Ticket, replies[1].ticket_id)
    assert ticket is not None
    ticket.inbox_id = None
    await db_session.commit()
    sender = ScriptedSender({"lee0@customer.test": [SENT]})
    ctx = sending.ctx(senders={"email": sender})

    assert await send_outbound_batch(ctx, message_ids=[r.id for r in replies]) == {
        "sent": 1,
        "failed": 1,
    }

    assert await statuses(db_session, replies) == [
        ("sent", None),
        ("failed", "the ticket has no inbox to send from"),
    ]
