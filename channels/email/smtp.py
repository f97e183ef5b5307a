"""Sends an agent reply through the inbox's own SMTP server.

Every outcome becomes a `DeliveryResult`; the job decides what to do with it. The rule for
`retry`: the server said 4xx, or we never got an answer (refused connection, timeout, lost
connection), so a later try may succeed. A 5xx answer, bad settings or a message we cannot
build fail for good.

A connection lost after the message data went out is ambiguous (the server may have
queued it). We retry anyway: the Message-ID stays the same on every try when the job
passes a recorded one to `send_with_id`, so the receiving side can recognise a repeat.

A long-lived sender (the worker's) keeps its connections in an `SmtpPool`: one inbox's
replies and acknowledgements go out over connections opened and logged in once, at most
`per_server` at a time to one server (the others wait their turn), instead of a connect,
EHLO, STARTTLS, AUTH and QUIT for every message.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.errors import HeaderParseError
from secrets import token_hex
from typing import Any

import aiosmtplib

from app.ingest.types import DeliveryResult, OutboundMessage
from channels.email.compose import compose, domain_of, make_message_id

SECURITY_MODES = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
DEFAULT_TIMEOUT = 30.0  # seconds, for the connection and for each SMTP command
# Seconds for the whole delivery: below the worker's job_timeout (120 s), so a slow server
# ends in a retry we record rather than in a job arq cancels halfway through.
DEFAULT_DEADLINE = 90.0
QUIT_TIMEOUT = 5.0
MAX_REASON_LENGTH = 500

log = logging.getLogger(__name__)


class InvalidSettings(ValueError):
    """An inbox setting or secret is missing or unusable; the message names it."""


@dataclass(frozen=True)
class SmtpConfig:
    address: str
    host: str
    port: int
    security: str
    username: str | None
    password: str | None
    from_name: str | None

    def __repr__(self) -> str:  # keep the password out of logs and tracebacks
        return (
            f"SmtpConfig(address={self.address!r}, host={self.host!r}, port={self.port}, "
            f"security={self.security!r}, username={self.username!r})"
        )


def _text_setting(settings: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = settings.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidSettings(f"inbox setting {name} is missing")
        return None
    if not isinstance(value, str):
        raise InvalidSettings(f"inbox setting {name} must be text")
    return value.strip()


def _inbox_address(settings: dict[str, Any]) -> str:
    address = _text_setting(settings, "address", required=True)
    assert address is not None
    if "@" not in address:
        raise InvalidSettings(f"inbox setting address {address!r} is not an email address")
    return address


def _port(settings: dict[str, Any], security: str) -> int:
    value = settings.get("smtp_port")
    if value is None or value == "":
        return DEFAULT_PORTS[security]
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    # bool is an int subclass; `true` is not a port.
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise InvalidSettings(
            f"inbox setting smtp_port must be a number from 1 to 65535, not {value!r}"
        )
    return value


def parse_settings(inbox_settings: dict[str, Any], secrets: dict[str, Any]) -> SmtpConfig:
    """Check the inbox's SMTP settings. A missing `smtp_security` means STARTTLS (never
    plain text by accident); a missing port is the usual one for the security mode."""
    address = _inbox_address(inbox_settings)
    host = _text_setting(inbox_settings, "smtp_host", required=True)
    assert host is not None
    security = (
        _text_setting(inbox_settings, "smtp_security", required=False) or "starttls"
    ).lower()
    if security not in SECURITY_MODES:
        raise InvalidSettings(
            f"inbox setting smtp_security must be one of {', '.join(SECURITY_MODES)}, "
            f"not {security!r}"
        )
    port = _port(inbox_settings, security)
    username = _text_setting(inbox_settings, "smtp_username", required=False)
    password = secrets.get("smtp_password")
    if username is not None and not password:
        raise InvalidSettings("inbox secret smtp_password is missing (smtp_username is set)")
    if password is not None and not isinstance(password, str):
        raise InvalidSettings("inbox secret smtp_password must be text")
    from_name = _text_setting(inbox_settings, "from_name", required=False)
    return SmtpConfig(address, host, port, security, username, password, from_name)


def new_message_id(message_id: int, *, inbox_settings: dict[str, Any]) -> str:
    """A fresh Message-ID in the inbox's domain. The job records it before the first try
    and passes it to `SmtpSender.send_with_id` on every try."""
    address = _inbox_address(inbox_settings)
    try:
        domain = domain_of(address)
    except ValueError as exc:
        raise InvalidSettings(f"inbox setting address: {exc}") from exc
    return make_message_id(message_id=message_id, domain=domain, nonce=token_hex(8))


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _failed(reason: str, *, retry: bool, password: str | None = None) -> DeliveryResult:
    if password:
        reason = reason.replace(password, "***")
    reason = " ".join(reason.split())[:MAX_REASON_LENGTH] or "unknown error"
    return DeliveryResult("failed", failure_reason=reason, retry=retry)


def _server_answer(code: int, text: str) -> tuple[str, bool]:
    """(reason, retry) for an SMTP reply: only 5xx is permanent (RFC 5321 §4.2.1)."""
    return f"{code} {text}".strip(), not 500 <= code <= 599


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def classify(exc: Exception) -> tuple[str, bool]:
    """(failure reason, retry) for what aiosmtplib raised."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refusals = exc.recipients
        if not refusals:
            return "all recipients were refused", True
        reason, _ = _server_answer(refusals[0].code, refusals[0].message)
        return reason, any(not 500 <= r.code <= 599 for r in refusals)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _server_answer(exc.code, exc.message)
    if _caused_by(exc, ssl.SSLCertVerificationError):
        # Waiting will not make the certificate trusted; the settings (or the server) must
        # change, so tell the agent now rather than after every retry has failed.
        return str(exc), False
    if isinstance(exc, OSError):
        # Refused or lost connections, timeouts, TLS handshake failures (aiosmtplib's
        # disconnect and timeout errors are ConnectionError and TimeoutError too).
        return str(exc) or type(exc).__name__, True
    if isinstance(exc, aiosmtplib.SMTPException):
        # The server lacks something we need (STARTTLS, AUTH, SMTPUTF8): settings work.
        return exc.message, False
    return str(exc) or type(exc).__name__, False


def _render(
    message: OutboundMessage, *, config: SmtpConfig, message_id_header: str, now: datetime
) -> bytes:
    composed = compose(
        message,
        from_address=config.address,
        from_name=config.from_name,
        message_id_header=message_id_header,
        now=now,
    )
    return composed.as_bytes()


class SmtpPool:
    """Open, logged-in SMTP connections by inbox configuration, reused from one send to the
    next, and a bound on concurrent sends per server (host and port)."""

    def __init__(self, *, per_server: int = 4, idle_seconds: float = 30.0) -> None:
        self.per_server = per_server
        self.idle_seconds = idle_seconds  # below the usual server-side idle timeouts
        self._idle: dict[SmtpConfig, list[tuple[aiosmtplib.SMTP, float]]] = {}
        self._slots: dict[tuple[str, int], asyncio.Semaphore] = {}
        self.opened = 0  # connections made, for tests and benchmarks

    def slot(self, config: SmtpConfig) -> asyncio.Semaphore:
        key = (config.host, config.port)
        if key not in self._slots:
            self._slots[key] = asyncio.Semaphore(self.per_server)
        return self._slots[key]

    def take(self, config: SmtpConfig) -> aiosmtplib.SMTP | None:
        """The most recently used idle connection still open, closing stale ones."""
        idle = self._idle.get(config, [])
        now = time.monotonic()
        while idle:
            client, since = idle.pop()
            if client.is_connected and now - since < self.idle_seconds:
                return client
            client.close()
        return None

    def give(self, config: SmtpConfig, client: aiosmtplib.SMTP) -> None:
        self._idle.setdefault(config, []).append((client, time.monotonic()))

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for client, _ in idle:
                client.close()
        self._idle.clear()


class SmtpSender:
    """The email channel's `ChannelSender`."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        clock: Callable[[], datetime] = _utc_now,
        tls_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
        pool: SmtpPool | None = None,
    ) -> None:
        self._timeout = timeout
        self._deadline = deadline
        self._clock = clock
        self._tls_context = tls_context
        self._local_hostname = local_hostname
        self.pool = pool

    async def aclose(self) -> None:
        if self.pool is not None:
            await self.pool.aclose()

    def new_external_id(
        self, message: OutboundMessage, *, inbox_settings: dict[str, Any]
    ) -> str | None:
        try:
            return new_message_id(message.message_id, inbox_settings=inbox_settings)
        except InvalidSettings:
            return None  # `send` reports the bad setting

    async def send(
        self,
        message: OutboundMessage,
        *,
        inbox_settings: dict[str, Any],
        secrets: dict[str, Any],
        external_id: str | None = None,
    ) -> DeliveryResult:
        """Send with the Message-ID the job recorded, or a fresh one."""
        try:
            message_id_header = external_id or new_message_id(
                message.message_id, inbox_settings=inbox_settings
            )
        except InvalidSettings as exc:
            return _failed(str(exc), retry=False)
        return await self.send_with_id(
            message,
            inbox_settings=inbox_settings,
            secrets=secrets,
            message_id_header=message_id_header,
        )

    async def send_with_id(
        self,
        message: OutboundMessage,
        *,
        inbox_settings: dict[str, Any],
        secrets: dict[str, Any],
        message_id_header: str,
    ) -> DeliveryResult:
        """Send with the Message-ID the job recorded (from `new_message_id`) before its
        first try, so every try of one reply carries the same id."""
        try:
            config = parse_settings(inbox_settings, secrets)
        except InvalidSettings as exc:
            return _failed(str(exc), retry=False)
        if message.recipient.kind != "email":
            return _failed(f"cannot email a {message.recipient.kind} address", retry=False)

        try:
            data = await asyncio.to_thread(
                _render,
                message,
                config=config,
                message_id_header=message_id_header,
                now=self._clock(),
            )
        except FileNotFoundError as exc:
            # Name the attachment as the agent knows it, not our storage path.
            names = [a.filename for a in message.attachments if a.path == exc.filename]
            missing = names[0] if names else "an attachment"
            return _failed(f"the stored file of {missing} is missing", retry=False)
        except OSError as exc:
            return _failed(f"cannot read an attachment: {exc}", retry=True)
        except (ValueError, HeaderParseError) as exc:  # e.g. a recipient like a@b@c
            return _failed(f"cannot build the message: {exc}", retry=False)

        deadline = asyncio.timeout(self._deadline)
        recipient = message.recipient.address.strip()
        try:
            async with deadline:
                if self.pool is not None:
                    await self._deliver_pooled(self.pool, config, recipient=recipient, data=data)
                    return DeliveryResult("sent", external_id=message_id_header)
                client = await self._deliver(config, recipient=recipient, data=data)
        except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
            if deadline.expired():
                reason = f"{config.host}:{config.port} did not finish within {self._deadline:g} s"
                return _failed(reason, retry=True)
            reason, retry = classify(exc)
            return _failed(reason, retry=retry, password=config.password)
        # The server took the message: nothing after this line may report a failure.
        await self._say_goodbye(client)
        return DeliveryResult("sent", external_id=message_id_header)

    async def _deliver_pooled(
        self, pool: SmtpPool, config: SmtpConfig, *, recipient: str, data: bytes
    ) -> None:
        """Hand over the message on a pooled connection (a new one if none is idle) and give
        the connection back. One the server closed while it sat idle fails at its first
        command, before any data went out: the message is tried once more on a new one."""
        async with pool.slot(config):
            client = pool.take(config)
            if client is not None:
                try:
                    await self._hand_over(client, config, recipient=recipient, data=data)
                except aiosmtplib.SMTPServerDisconnected:
                    client = None
                else:
                    pool.give(config, client)
                    return
            client = await self._connect(config)
            pool.opened += 1
            await self._hand_over(client, config, recipient=recipient, data=data)
            pool.give(config, client)

    async def _hand_over(
        self, client: aiosmtplib.SMTP, config: SmtpConfig, *, recipient: str, data: bytes
    ) -> None:
        try:
            # Envelope: the inbox address, so bounces come back to the inbox. No per-command
            # timeout here: a big message or a slow content scan after the final "." may
            # take long, and giving up then risks a duplicate; the deadline bounds it.
            await client.sendmail(config.address, [recipient], data, timeout=None)
        except BaseException:
            # Not a polite QUIT: after a timeout or a cancellation it could wait again.
            client.close()
            raise

    async def _connect(self, config: SmtpConfig) -> aiosmtplib.SMTP:
        """A connected, logged-in client."""
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            use_tls=config.security == "ssl",
            # False, not None: None would upgrade opportunistically on "none" and, worse,
            # carry on in plain text when a "starttls" server stops offering it.
            start_tls=config.security == "starttls",
            timeout=self._timeout,
            tls_context=self._tls_context,
            local_hostname=self._local_hostname,
        )
        await client.connect()  # closes the connection itself when it fails
        try:
            if config.username is not None:
                await client.login(config.username, config.password or "")
        except BaseException:
            client.close()
            raise
        return client

    async def _deliver(self, config: SmtpConfig, *, recipient: str, data: bytes) -> aiosmtplib.SMTP:
        """Connect, log in and hand over the message; returns the still open client."""
        client = await self._connect(config)
        await self._hand_over(client, config, recipient=recipient, data=data)
        return client

    async def _say_goodbye(self, client: aiosmtplib.SMTP) -> None:
        try:
            await client.quit(timeout=min(self._timeout, QUIT_TIMEOUT))
        except (aiosmtplib.SMTPException, OSError) as exc:
            # The message is already accepted; a server that fumbles QUIT changes nothing.
            log.debug("SMTP QUIT failed after delivery: %s", exc)
        finally:
            client.close()
