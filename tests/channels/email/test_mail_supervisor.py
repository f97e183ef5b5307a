"""The mail supervisor under the process supervisor: its crash no longer ends mail import."""

from __future__ import annotations

import asyncio
import functools
import time
from dataclasses import replace
from typing import cast

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.assets import BuiltAssets
from app.attachments.storage import AttachmentStore
from app.config import DatabaseSettings, Settings
from app.db.engine import SessionMaker, transaction
from app.main import create_app
from app.messages.models import Message
from app.security.crypto import SecretBox
from app.supervisor import Supervisor
from app.tickets.models import Ticket
from app.worker import create_worker
from channels.email.poller import poller_component, run_mail_pollers
from tests.asgi import running
from tests.channels.email.mailflow import email_inbox, eventually, mail
from tests.conftest import SECRET_KEY, FrozenClock
from tests.factories.agents import auth_headers, make_agent
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


async def _inbound_subjects(sessionmaker: SessionMaker) -> set[str]:
    async with sessionmaker() as session:
        stmt = select(Ticket.subject).join(Message, Message.ticket_id == Ticket.id)
        return set((await session.scalars(stmt.where(Message.direction == "inbound"))).all())


@pytest.mark.committing
@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")  # inside arq
async def test_inboxes_created_changed_and_deactivated_reach_the_worker_at_once(
    committing_sessionmaker: SessionMaker,
    settings: Settings,
    database_url: str,
    redis: Redis,
    mailbox: Account,
    smtp_server: SmtpServer,
    built_assets: BuiltAssets,
) -> None:
    """Without the notification, a new inbox waited for the 30-second rescan and a changed
    one for its poller's next IDLE timeout (a minute)."""
    settings = replace(settings, database=DatabaseSettings(url=database_url, pool_size=3))
    async with transaction(committing_sessionmaker) as session:
        admin = await auth_headers(session, await make_agent(session, role="admin"))
    mailbox.deliver(mail("Waiting since Monday", message_id="<waiting@customer.test>"))
    mailbox.create_mailbox("Archive")
    mailbox.deliver(mail("Filed away", message_id="<filed@customer.test>"), folder="Archive")
    body = {
        "name": "Support",
        "channel": "email",
        "settings": {
            **email_inbox(mailbox, smtp_server, SecretBox(SECRET_KEY)).settings,
            "imap_password": mailbox.password,
        },
    }
    worker = create_worker(settings, poll_delay=0.05)
    running_worker = asyncio.create_task(worker.async_run())
    app = create_app(
        settings, sessionmaker=committing_sessionmaker, redis=redis, assets=built_assets
    )
    try:
        async with running(app) as client:
            async with asyncio.timeout(10):
                while "supervisor" not in worker.ctx:  # noqa: ASYNC110 - arq's start-up
                    await asyncio.sleep(0.05)
            supervisor: Supervisor = worker.ctx["supervisor"]

            created = await client.post("/api/v1/inboxes", json=body, headers=admin)
            assert created.status_code == 201, created.text
            started = time.monotonic()
            await eventually(
                lambda: _has(committing_sessionmaker, "Waiting since Monday"),
                seconds=5,
                what="importing the mail waiting in a newly connected mailbox",
            )
            took = time.monotonic() - started
            assert took < 5

            inbox_id = created.json()["id"]
            changed = await client.patch(
                f"/api/v1/inboxes/{inbox_id}",
                json={"settings": {**body["settings"], "imap_folder": "Archive"}},
                headers=admin,
            )
            assert changed.status_code == 200, changed.text
            await eventually(
                lambda: _has(committing_sessionmaker, "Filed away"),
                seconds=5,
                what="the poller picking up the changed folder",
            )

            off = await client.patch(
                f"/api/v1/inboxes/{inbox_id}", json={"is_active": False}, headers=admin
            )
            assert off.status_code == 200, off.text

            async def stopped() -> bool:
                return not supervisor.is_running(poller_component(inbox_id))

            await eventually(stopped, seconds=2, what="the deactivated inbox's poller stopping")
    finally:
        running_worker.cancel()
        await worker.close()


async def _has(sessionmaker: SessionMaker, subject: str) -> bool:
    return subject in await _inbound_subjects(sessionmaker)
