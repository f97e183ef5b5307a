"""Helpers for the email channel's end-to-end tests: mail to deliver, an inbox on the
test servers, a poller for it, and what the tests read back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.storage import AttachmentStore
from app.config import Settings
from app.db.engine import SessionMaker
from app.inboxes.models import Inbox
from app.messages.models import Message
from app.security.crypto import SecretBox
from app.tickets.models import Ticket
from channels.email.imap import ImapMailbox
from channels.email.poller import InboxPoller
from channels.email.smtp import SmtpSender
from tests.conftest import FrozenClock
from tests.servers.dovecot import Account
from tests.servers.smtp import SmtpServer

SUPPORT = "support@shop.test"


def mail(
    subject: str,
    body: str = "Hello, it does not work.",
    *,
    sender: str = "kim@customer.test",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    date: str = "Wed, 25 Nov 2026 10:00:00 +0000",
) -> bytes:
    lines = [
        f"From: Kim <{sender}>",
        f"To: {SUPPORT}",
        f"Subject: {subject}",
        f"Date: {date}",
        f"Message-ID: {message_id or f'<{abs(hash((subject, body, sender)))}@customer.test>'}",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
        "Content-Type: text/plain; charset=utf-8",
        "",
        body,
    ]
    return "\r\n".join(lines).encode()


def email_inbox(mailbox: Account, smtp_server: SmtpServer, box: SecretBox, **extra: Any) -> Inbox:
    """An email inbox on the test's dovecot account and SMTP server; `extra` settings."""
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


def poller_for(
    inbox_id: int, sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> InboxPoller:
    return InboxPoller(
        inbox_id,
        sessionmaker=sessionmaker,
        store=AttachmentStore(settings.storage),
        box=SecretBox(settings.security.secret_key),
        clock=clock,
    )


def like(poller: InboxPoller, variant: type[InboxPoller]) -> InboxPoller:
    """A poller of another class for the same inbox, with the same resources."""
    return variant(
        poller.inbox_id,
        sessionmaker=poller.sessionmaker,
        store=poller.store,
        box=poller.box,
        clock=poller.clock,
    )


async def sync(poller: InboxPoller) -> int:
    settings = await poller.load_settings()
    assert settings is not None
    async with ImapMailbox(poller.imap_config(settings)) as mailbox:
        return await poller.sync(mailbox, settings)


def job_ctx(sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock) -> dict[str, Any]:
    """What `send_outbound` finds in an arq worker's ctx."""
    return {
        "sessionmaker": sessionmaker,
        "clock": clock,
        "secret_box": SecretBox(settings.security.secret_key),
        "attachment_store": AttachmentStore(settings.storage),
        "senders": {"email": SmtpSender()},
    }


async def tickets(session: AsyncSession) -> list[Ticket]:
    return list((await session.scalars(select(Ticket).order_by(Ticket.id))).all())


async def outbound_queued(session: AsyncSession) -> list[Message]:
    stmt = select(Message).where(Message.direction == "outbound", Message.status == "queued")
    return list((await session.scalars(stmt)).all())


async def eventually(
    check: Callable[[], Awaitable[bool]], *, seconds: float, what: str, on_fail: str = ""
) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds}s\n{on_fail}")
        await asyncio.sleep(0.1)
