"""The email channel when things go wrong for real: the IMAP server goes away, the worker
process is killed with SIGKILL mid-import, two robots answer each other."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.config import Settings
from app.db.engine import SessionMaker, transaction
from app.inbound.models import InboundItem
from app.mail.models import MailboxState
from app.messages.models import Message
from app.security.crypto import SecretBox
from tests.channels.email.mailflow import (
    email_inbox,
    eventually,
    mail,
    poller_for,
)
from tests.conftest import RELAYDESK, FrozenClock
from tests.servers.dovecot import Account, Dovecot
from tests.servers.smtp import SmtpServer


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
    poller = poller_for(inbox.id, committing_sessionmaker, settings, clock)
    task = asyncio.create_task(poller.run())
    try:
        mailbox.deliver(mail("Before the outage", message_id="<before@customer.test>"))
        await eventually(
            lambda: _imported(committing_sessionmaker, 1), seconds=10, what="the first import"
        )

        with dovecot.outage():
            await eventually(
                lambda: _last_error(committing_sessionmaker, inbox.id),
                # Generous: on a machine whose CPUs are busy, noticing the dropped IDLE
                # connection and failing the first reconnect has taken over 10 s.
                seconds=30,
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
            try:
                async with asyncio.timeout(20):
                    await dev.wait()
            except TimeoutError:
                # Never leave it behind: a stray `relaydesk dev` keeps polling this Redis
                # and takes the jobs later tests wait for.
                dev.kill()
                await dev.wait()
                raise

    async with committing_sessionmaker() as session:
        ids = (
            await session.scalars(select(Message.external_id).where(Message.direction == "inbound"))
        ).all()
        statuses = (await session.scalars(select(InboundItem.status))).all()
    assert sorted(ids) == sorted(f"<k{n}@c.test>" for n in range(total))
    assert statuses == ["imported"] * total
    assert "Traceback" not in log.read_text()
    for uid in (1, total // 2, total):
        assert "\\Seen" in mailbox.server.flags(mailbox.address, uid)
