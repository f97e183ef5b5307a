"""A real SMTP server (aiosmtpd) on a free loopback port that captures what it receives.

Runs in aiosmtpd's own thread and event loop, so a test's loop can talk to it like to any
remote server. Failures can be scripted per recipient to exercise a sender's error handling.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from tests.servers import free_port

TEMPORARY = "451 4.3.0 Temporary failure, try again later (test)"
PERMANENT = "550 5.1.1 Mailbox unavailable (test)"
_ERROR_REPLY = re.compile(r"[45][0-9][0-9]( .*)?")


@dataclass(frozen=True)
class Captured:
    """One accepted message: the envelope and the content bytes as received (CRLF kept)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    login: str | None


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_MAIL(
        self,
        server: Any,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if self._server.auth is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: Any,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self._server._rcpt_failures.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        for rcpt in envelope.rcpt_tos:
            reply = self._server._data_failures.get(rcpt.lower())
            if reply is not None:
                return reply
        assert envelope.original_content is not None
        auth_data = session.auth_data
        login = None
        if session.authenticated and isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode()
        with self._server._lock:
            self._server.messages.append(
                Captured(
                    mail_from=envelope.mail_from or "",
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    content=envelope.original_content,
                    login=login,
                )
            )
        # Taken, but the answer is slow: a client that stops waiting (or dies) now cannot
        # know that the message arrived.
        await asyncio.sleep(self._server.answer_delay)
        return "250 2.0.0 Message accepted (test)"


class SmtpServer:
    """Use as a context manager or call `start()` / `stop()`.

    With `auth=(user, password)` every MAIL needs AUTH PLAIN/LOGIN first; plain-text auth is
    allowed because the connection never leaves the loopback interface. `answer_delay`
    seconds pass between taking a message and answering its DATA.
    """

    def __init__(self, *, auth: tuple[str, str] | None = None, answer_delay: float = 0.0) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.auth = auth
        self.answer_delay = answer_delay
        self.messages: list[Captured] = []
        self._lock = threading.Lock()
        self._rcpt_failures: dict[str, str] = {}
        self._data_failures: dict[str, str] = {}
        kwargs: dict[str, Any] = {}
        if auth is not None:
            # AUTH is enforced in handle_MAIL rather than with aiosmtpd's auth_required,
            # which warns about plain-text auth; on loopback that is what we want.
            kwargs.update(auth_require_tls=False, authenticator=self._authenticate)
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)
        self._started = False

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._controller.start()
        self._started = True

    def stop(self) -> None:
        if self._started:
            self._started = False
            self._controller.stop()

    def fail_rcpt(self, recipient: str, reply: str = TEMPORARY) -> None:
        """Answer `RCPT TO:<recipient>` with `reply` (a 4xx or 5xx line) instead of 250."""
        self._rcpt_failures[recipient.lower()] = _checked(reply)

    def fail_data(self, recipient: str, reply: str = PERMANENT) -> None:
        """Answer the end of DATA with `reply` when `recipient` is among the accepted RCPTs."""
        self._data_failures[recipient.lower()] = _checked(reply)

    def _authenticate(
        self,
        server: Any,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        assert self.auth is not None
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = self.auth
        ok = auth_data.login.decode() == user and auth_data.password.decode() == password
        # handled=False: aiosmtpd answers 535 itself on a failure.
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def _checked(reply: str) -> str:
    if not _ERROR_REPLY.fullmatch(reply):
        raise ValueError(f"not a 4xx/5xx SMTP reply: {reply!r}")
    return reply
