"""Real mail servers for the email channel's tests.

- `dovecot`: one private IMAP server per pytest process (per xdist worker).
- `mailbox`: a fresh user on it for each test, so tests never share a mailbox.
- `dovecot_tls` / `tls_mailbox`: the same with STARTTLS and implicit TLS (self-signed
  certificate), started only when a test asks for it.
- `smtp_server`: a capturing SMTP server per test; `make_smtp_server(auth=...,
  answer_delay=...)` for variants (AUTH required, slow to answer).
- `inbox` / `poller`: an email inbox on those two (acknowledging new tickets, at most five
  messages a sender in ten minutes) and the poller that imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.engine import SessionMaker
from app.inboxes.models import Inbox
from app.security.crypto import SecretBox
from channels.email.poller import InboxPoller
from tests.channels.email.mailflow import email_inbox, poller_for
from tests.conftest import FrozenClock
from tests.servers.dovecot import Account, Dovecot
from tests.servers.smtp import SmtpServer


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    with Dovecot() as server:
        yield server


@pytest.fixture(scope="session")
def dovecot_tls() -> Iterator[Dovecot]:
    with Dovecot(tls=True) as server:
        yield server


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Account:
    return dovecot.new_account()


@pytest.fixture
def tls_mailbox(dovecot_tls: Dovecot) -> Account:
    return dovecot_tls.new_account()


@pytest.fixture
def make_smtp_server() -> Iterator[Callable[..., SmtpServer]]:
    servers: list[SmtpServer] = []

    def make(*, auth: tuple[str, str] | None = None, answer_delay: float = 0.0) -> SmtpServer:
        server = SmtpServer(auth=auth, answer_delay=answer_delay)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server(make_smtp_server: Callable[..., SmtpServer]) -> SmtpServer:
    return make_smtp_server()


@pytest.fixture
async def inbox(
    db_session: AsyncSession, mailbox: Account, smtp_server: SmtpServer, settings: Settings
) -> Inbox:
    box = SecretBox(settings.security.secret_key)
    row = email_inbox(
        mailbox,
        smtp_server,
        box,
        auto_acknowledge=True,
        rate_limit_messages=5,
        rate_limit_minutes=10,
    )
    db_session.add(row)
    await db_session.commit()
    return row


@pytest.fixture
def poller(
    inbox: Inbox, sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> InboxPoller:
    return poller_for(inbox.id, sessionmaker, settings, clock)
