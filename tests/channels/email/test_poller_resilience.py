"""The email channel when things go wrong for real: the IMAP server goes away, the worker
process is killed with SIGKILL mid-import, two robots answer each other."""

from __future__ import annotations

import asyncio
import email
import signal
import time
from collections.abc import Awaitable, Callable
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.storage import AttachmentStore
from app.config import Settings
from app.db.engine import SessionMaker, transaction
from app.inboxes.models import Inbox
from app.mail.models import InboundEmail, MailboxState
from app.messages.jobs import send_outbound
from app.messages.models import Message
from app.security.crypto import SecretBox
from app.tickets.models import Ticket
from channels.email.poller import InboxPoller
from channels.email.smtp import SmtpSender
from tests.app.test_cli import RELAYDESK
from tests.channels.email.test_poller import SUPPORT, mail, outbound_queued, sync
from tests.conftest import FrozenClock
from tests.servers.dovecot import Account, Dovecot
from tests.servers.smtp import SmtpServer


def email_inbox(mailbox: Account, smtp_server: SmtpServer, box: SecretBox, **extra: Any) -> Inbox:
    return Inbox(
        name="Support",
        channel="email",
        settings={
            "address": SUPPORT,
            "imap_host": mailbox.host,
            "imap_port": mailbox.port,
            "imap_security": "none",
            "imap_username": mailbox.address,
            "imap_folder": "INBOX",
            "smtp_host": smtp_server.host,
            "smtp_port": smtp_server.port,
            "smtp_security": "none",
            **extra,
        },
        secrets_encrypted=box.seal({"imap_password": mailbox.password}),
    )


async def eventually(
    check: Callable[[], Awaitable[bool]], *, seconds: float, what: str, on_fail: str = ""
) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds}s\n{on_fail}")
        await asyncio.sleep(0.1)


async def count(sessionmaker: SessionMaker, stmt: Any) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(stmt) or 0)


INBOUND = select(func.count()).select_from(Message).where(Message.direction == "inbound")


@pytest.mark.committing
async def test_the_poller_reconnects_after_the_server_went_away(
    committing_sessionmaker: SessionMaker,
    dovecot: Dovecot,
    mailbox: Account,
    smtp_server: SmtpServer,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    box = SecretBox(settings.security.secret_key)
    async with transaction(committing_sessionmaker) as session:
        inbox = email_inbox(mailbox, smtp_server, box)
        session.add(inbox)
    poller = InboxPoller(
        inbox.id,
        sessionmaker=committing_sessionmaker,
        store=AttachmentStore(settings.storage),
        box=box,
        clock=clock,
    )
    task = asyncio.create_task(poller.run())
    try:
        mailbox.deliver(mail("Before the outage", message_id="<before@customer.test>"))
        await eventually(
            lambda: _imported(committing_sessionmaker, 1), seconds=10, what="the first import"
        )

        with dovecot.outage():
            await eventually(
                lambda: _last_error(committing_sessionmaker, inbox.id),
                seconds=10,
                what="recording the lost connection",
            )
        mailbox.deliver(mail("After the outage", message_id="<after@customer.test>"))

        # Backoff starts at a second and doubles: the poller is back within a few seconds.
        await eventually(
            lambda: _imported(committing_sessionmaker, 2), seconds=15, what="the reconnect"
        )
        assert not task.done()
        async with committing_sessionmaker() as session:
            state = await session.get(MailboxState, inbox.id)
            assert state is not None
            assert state.last_error is None  # cleared by the next good batch
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def _imported(sessionmaker: SessionMaker, expected: int) -> bool:
    return await count(sessionmaker, INBOUND) >= expected


async def _last_error(sessionmaker: SessionMaker, inbox_id: int) -> bool:
    async with sessionmaker() as session:
        return bool(
            await session.scalar(
                select(MailboxState.last_error).where(MailboxState.inbox_id == inbox_id)
            )
        )


@pytest.mark.committing
async def test_a_worker_killed_mid_import_resumes_and_imports_each_message_once(
    committing_sessionmaker: SessionMaker,
    mailbox: Account,
    smtp_server: SmtpServer,
    settings: Settings,
    relaydesk_env: dict[str, str],
    tmp_path: Path,
) -> None:
    total = 400
    box = SecretBox(settings.security.secret_key)
    async with transaction(committing_sessionmaker) as session:
        session.add(email_inbox(mailbox, smtp_server, box, rate_limit_messages=1000))
    for n in range(total):
        mailbox.deliver(
            mail(f"Question {n}", sender=f"c{n % 50}@customer.test", message_id=f"<k{n}@c.test>")
        )

    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = await asyncio.create_subprocess_exec(
            RELAYDESK, "worker", env=relaydesk_env, stdout=out, stderr=out
        )
        try:
            await eventually(
                lambda: _imported(committing_sessionmaker, 20),
                seconds=60,
                what="the worker importing mail",
                on_fail=log.read_text(),
            )
        finally:
            worker.send_signal(signal.SIGKILL)  # no cleanup, no unlock: the machine died
            await worker.wait()
    killed_at = await count(committing_sessionmaker, INBOUND)
    assert killed_at < total, "the worker finished before it was killed; deliver more mail"

    # `relaydesk dev` runs the same pollers: the restart is a developer's laptop.
    with log.open("a") as out:
        dev = await asyncio.create_subprocess_exec(
            RELAYDESK, "dev", "--port", "0", env=relaydesk_env, stdout=out, stderr=out
        )
        try:
            await eventually(
                lambda: _imported(committing_sessionmaker, total),
                seconds=120,
                what="importing the rest after the restart",
                on_fail=log.read_text(),
            )
            await asyncio.sleep(1)  # anything imported twice would show up now
        finally:
            dev.send_signal(signal.SIGINT)
            async with asyncio.timeout(20):
                await dev.wait()

    async with committing_sessionmaker() as session:
        ids = (
            await session.scalars(select(Message.external_id).where(Message.direction == "inbound"))
        ).all()
        statuses = (await session.scalars(select(InboundEmail.status))).all()
    assert sorted(ids) == sorted(f"<k{n}@c.test>" for n in range(total))
    assert statuses == ["imported"] * total
    assert "Traceback" not in log.read_text()
    for uid in (1, total // 2, total):
        assert "\\Seen" in mailbox.server.flags(mailbox.address, uid)


async def test_two_robots_answering_each_other_stop(
    mailbox: Account,
    smtp_server: SmtpServer,
    db_session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    """Our acknowledgement against the worst autoresponder: it answers every mail at once,
    with a new subject, no threading headers and no Auto-Submitted."""
    box = SecretBox(settings.security.secret_key)
    inbox = email_inbox(
        mailbox,
        smtp_server,
        box,
        auto_acknowledge=True,
        rate_limit_messages=5,
        rate_limit_minutes=10,
    )
    db_session.add(inbox)
    await db_session.commit()
    poller = InboxPoller(
        inbox.id,
        sessionmaker=sessionmaker,
        store=AttachmentStore(settings.storage),
        box=box,
        clock=clock,
    )
    ctx: Any = {
        "sessionmaker": sessionmaker,
        "clock": clock,
        "secret_box": box,
        "attachment_store": AttachmentStore(settings.storage),
        "senders": {"email": SmtpSender()},
    }
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

    statuses = (await db_session.scalars(select(InboundEmail.status))).all()
    assert answered == 5  # one acknowledgement per message let through, then silence
    assert statuses.count("imported") == 5
    assert statuses.count("rate_limited") == 1
    assert await db_session.scalar(select(func.count()).select_from(Ticket)) == 5
