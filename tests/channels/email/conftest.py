"""Real mail servers for the email channel's tests.

- `dovecot`: one private IMAP server per pytest process (per xdist worker).
- `mailbox`: a fresh user on it for each test, so tests never share a mailbox.
- `dovecot_tls` / `tls_mailbox`: the same with STARTTLS and implicit TLS (self-signed
  certificate), started only when a test asks for it.
- `smtp_server`: a capturing SMTP server per test; `make_smtp_server(auth=...)` for
  variants (AUTH required).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

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

    def make(*, auth: tuple[str, str] | None = None) -> SmtpServer:
        server = SmtpServer(auth=auth)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server(make_smtp_server: Callable[..., SmtpServer]) -> SmtpServer:
    return make_smtp_server()
