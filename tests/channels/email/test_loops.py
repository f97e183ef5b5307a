# ruff: noqa: E501  (raw RFC 5322 fixtures read best unwrapped)
"""Loop and noise protection end to end: auto-replies, bounces, our own mail coming back,
rate limits and robots answering robots (real dovecot IMAP in, real aiosmtpd SMTP out)."""

from __future__ import annotations

import email
from email.policy import default as default_policy

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.engine import SessionMaker
from app.inbound.models import InboundItem
from app.messages.jobs import send_outbound
from app.messages.models import Message
from app.tickets.models import Ticket
from channels.email.poller import InboxPoller
from tests.channels.email.mailflow import (
    SUPPORT,
    job_ctx,
    mail,
    outbound_queued,
    sync,
    tickets,
)
from tests.conftest import FrozenClock
from tests.servers.dovecot import Account
from tests.servers.smtp import SmtpServer


async def test_auto_reply_and_bounce_neither_reopen_nor_answer(
    poller: InboxPoller,
    mailbox: Account,
    db_session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    mailbox.deliver(mail("Help", message_id="<h1@customer.test>"))
    await sync(poller)
    [ticket] = await tickets(db_session)
    [ack] = await outbound_queued(db_session)
    await send_outbound(job_ctx(sessionmaker, settings, clock), message_id=ack.id)
    await db_session.refresh(ack)
    ticket.status = "pending"
    await db_session.commit()
    out_of_office = mail(
        "Out of office",
        "I am away.",
        sender="kim@customer.test",
        message_id="<ooo@customer.test>",
        headers={"Auto-Submitted": "auto-replied", "In-Reply-To": str(ack.external_id)},
    )
    bounce = (
        "From: Mail Delivery System <MAILER-DAEMON@customer.test>\r\nTo: support@shop.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce1@customer.test>\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.test\r\n\r\n"
        "Final-Recipient: rfc822; kim@customer.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n\r\n"
        f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {ack.external_id}\r\nSubject: ack\r\n\r\n--B--\r\n"
    ).encode()
    mailbox.deliver(out_of_office)
    mailbox.deliver(bounce)

    await sync(poller)

    await db_session.refresh(ticket)
    await db_session.refresh(ack)
    assert [t.id for t in await tickets(db_session)] == [ticket.id]
    assert ticket.status == "pending"
    assert await outbound_queued(db_session) == []
    assert ack.status == "failed"
    assert ack.failure_reason is not None
    assert "5.1.1" in ack.failure_reason


async def test_our_own_mail_coming_back_is_ignored(
    poller: InboxPoller,
    mailbox: Account,
    db_session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    clock: FrozenClock,
    smtp_server: SmtpServer,
) -> None:
    """Our acknowledgement relayed back into the mailbox under another sender (a list, a
    forward rule), and mail from our own address: neither is imported nor answered."""
    mailbox.deliver(mail("Question", message_id="<question@customer.test>"))
    await sync(poller)
    [ack] = await outbound_queued(db_session)
    await send_outbound(job_ctx(sessionmaker, settings, clock), message_id=ack.id)
    [sent] = smtp_server.messages
    relayed = sent.content.replace(f"From: {SUPPORT}".encode(), b"From: list@lists.test", 1)
    assert relayed != sent.content
    mailbox.deliver(relayed)
    mailbox.deliver(mail("Hi", sender=SUPPORT, message_id="<self@shop.test>"))

    await sync(poller)

    rows = (await db_session.scalars(select(InboundItem).order_by(InboundItem.id))).all()
    assert [(r.status, r.error) for r in rows[1:]] == [
        ("ignored", "one of our own replies came back (mail loop)"),
        ("ignored", "sent from this inbox's own address (mail loop)"),
    ]
    assert len(await tickets(db_session)) == 1
    assert await outbound_queued(db_session) == []
    inbound = await db_session.scalar(
        select(func.count()).select_from(Message).where(Message.direction == "inbound")
    )
    assert inbound == 1


async def test_a_mail_loop_is_cut_by_the_rate_limit(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    for n in range(12):  # a badly behaved bot that writes new mail in a loop, no loop headers
        mailbox.deliver(
            mail(
                f"Ticket {n}",
                f"Automatic message {n}",
                sender="bot@robots.test",
                message_id=f"<bot{n}@robots.test>",
            )
        )

    await sync(poller)

    statuses = (await db_session.scalars(select(InboundItem.status).order_by(InboundItem.id))).all()
    assert statuses.count("imported") == 5
    assert statuses.count("rate_limited") == 7
    assert len(await outbound_queued(db_session)) == 5  # acknowledgements stop with the loop


async def test_two_robots_answering_each_other_stop(
    poller: InboxPoller,
    mailbox: Account,
    smtp_server: SmtpServer,
    db_session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    """Our acknowledgement against the worst autoresponder: it answers every mail at once,
    with a new subject, no threading headers and no Auto-Submitted."""
    ctx = job_ctx(sessionmaker, settings, clock)
    mailbox.deliver(mail("Hello", sender="robot@bots.test", message_id="<robot0@bots.test>"))

    answered = 0
    for round_ in range(1, 30):
        clock.advance(seconds=5)
        await sync(poller)
        queued = await outbound_queued(db_session)
        if not queued:
            break
        for message in queued:
            assert await send_outbound(ctx, message_id=message.id) == "sent"
        for captured in smtp_server.messages[answered:]:  # the robot answers what it got
            ours = email.message_from_bytes(captured.content, policy=default_policy)
            mailbox.deliver(
                mail(
                    f"Thank you for your message {round_}",
                    f"We received: {ours['Subject']}",
                    sender="robot@bots.test",
                    message_id=f"<robot{round_}@bots.test>",
                )
            )
        answered = len(smtp_server.messages)
    else:
        pytest.fail("the two robots are still writing to each other after 30 rounds")

    statuses = (await db_session.scalars(select(InboundItem.status))).all()
    assert answered == 5  # one acknowledgement per message let through, then silence
    assert statuses.count("imported") == 5
    assert statuses.count("rate_limited") == 1
    assert await db_session.scalar(select(func.count()).select_from(Ticket)) == 5


async def test_automated_mail_opening_a_ticket_is_not_acknowledged(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    mailbox.deliver(
        mail(
            "Your order has shipped",
            sender="noreply@shop.example",
            message_id="<ship@shop.example>",
            headers={"Auto-Submitted": "auto-generated"},
        )
    )

    await sync(poller)

    assert len(await tickets(db_session)) == 1  # kept for an agent to see
    assert await outbound_queued(db_session) == []
