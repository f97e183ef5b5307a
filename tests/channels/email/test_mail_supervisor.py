"""The mail supervisor under the process supervisor: its crash no longer ends mail import."""

from __future__ import annotations

import functools
from typing import cast

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.attachments.storage import AttachmentStore
from app.config import Settings
from app.db.engine import SessionMaker, transaction
from app.messages.models import Message
from app.security.crypto import SecretBox
from app.supervisor import Supervisor
from channels.email.poller import poller_component, run_mail_pollers
from tests.channels.email.mailflow import email_inbox, eventually, mail
from tests.conftest import FrozenClock
from tests.servers.dovecot import Account
from tests.servers.smtp import SmtpServer


class FailingFirst:
    """A sessionmaker whose first session cannot be had: the database was away."""

    def __init__(self, inner: SessionMaker) -> None:
        self.inner = inner
        self.failures = 1

    def __call__(self) -> AsyncSession:
        if self.failures:
            self.failures -= 1
            raise ConnectionRefusedError("the database went away")
        return self.inner()


@pytest.mark.committing
async def test_a_crash_of_the_mail_supervisor_is_restarted_and_mail_still_comes_in(
    committing_sessionmaker: SessionMaker,
    engine: AsyncEngine,
    mailbox: Account,
    smtp_server: SmtpServer,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    box = SecretBox(settings.security.secret_key)
    async with transaction(committing_sessionmaker) as session:
        inbox = email_inbox(mailbox, smtp_server, box)
        session.add(inbox)
    mailbox.deliver(mail("Still there?", message_id="<still@customer.test>"))
    supervisor = Supervisor("worker-test", min_backoff=0.2, max_backoff=0.2, stable_after=60)
    flaky = cast("SessionMaker", FailingFirst(committing_sessionmaker))
    supervisor.run(
        "mail-supervisor",
        functools.partial(
            run_mail_pollers,
            flaky,
            engine,
            store=AttachmentStore(settings.storage),
            box=box,
            clock=clock,
            supervisor=supervisor,
        ),
    )
    try:
        [state] = supervisor.components()

        async def imported() -> bool:
            async with committing_sessionmaker() as session:
                stmt = select(func.count()).select_from(Message)
                return bool(await session.scalar(stmt.where(Message.direction == "inbound")))

        await eventually(imported, seconds=15, what="importing the waiting mail")

        assert state.restarts == 1
        assert state.last_error == "ConnectionRefusedError: the database went away"
        assert supervisor.is_running(poller_component(inbox.id))
    finally:
        await supervisor.close()
