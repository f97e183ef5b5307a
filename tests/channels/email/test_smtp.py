"""SmtpSender against a real SMTP server (aiosmtpd on a loopback port, in its own thread).

The server is defined in this module (`local_smtp`) because these tests script its answers
per recipient, to DATA, to AUTH and to QUIT.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.ingest.types import DeliveryResult, OutboundAttachment, OutboundMessage, SenderIdentity
from channels.email.smtp import SmtpSender, new_message_id

INBOX_ADDRESS = "support@example.com"
CUSTOMER = "customer@example.org"
USERNAME = "agent-mailer"
PASSWORD = "s3cret-Pa55"
NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


# --- The local SMTP server --------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    login: str | None

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class LocalSmtp:
    """What the server received, and how it answers (change the sets during a test)."""

    host: str
    port: int
    received: list[Received] = field(default_factory=list)
    temporary_rcpt: set[str] = field(default_factory=set)  # answered 451
    permanent_rcpt: set[str] = field(default_factory=set)  # answered 550
    data_reply: str | None = None  # e.g. "554 ..." instead of accepting the data
    quit_reply: str | None = None  # instead of "221 Bye"
    quit_delay: float = 0.0  # seconds before answering QUIT
    credentials: tuple[str, str] = (USERNAME, PASSWORD)

    def settings(self, **overrides: Any) -> dict[str, Any]:
        return loopback_settings(self.port, **overrides)


class _Handler:
    def __init__(self, state: LocalSmtp) -> None:
        self.state = state

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.state.temporary_rcpt:
            return "451 4.2.0 Mailbox busy, try again later"
        if address in self.state.permanent_rcpt:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.state.data_reply:
            return self.state.data_reply
        content = envelope.original_content
        assert isinstance(content, bytes)
        login = session.login_data
        self.state.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                content=content,
                login=login.decode() if isinstance(login, bytes) else None,
            )
        )
        return "250 2.0.0 Message accepted for delivery"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.state.quit_delay)
        return self.state.quit_reply or "221 Bye"


def _authenticator(state: LocalSmtp) -> Callable[..., AuthResult]:
    def authenticate(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        if (login, password) == state.credentials:
            return AuthResult(success=True, auth_data=auth_data)
        # A careless server that echoes what it got: the sender must not pass it on.
        return AuthResult(
            success=False,
            handled=False,
            message=f"535 5.7.8 Authentication credentials invalid ({password})",
        )

    return authenticate


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def start_local_smtp() -> Iterator[Callable[..., LocalSmtp]]:
    """Start a server; keyword arguments go to aiosmtpd (`ssl_context`, `tls_context`)."""
    controllers: list[Controller] = []

    def start(**smtp_kwargs: Any) -> LocalSmtp:
        state = LocalSmtp(host="127.0.0.1", port=free_port())
        controller = Controller(
            _Handler(state),
            hostname=state.host,
            port=state.port,
            authenticator=_authenticator(state),
            auth_require_tls=False,
            **smtp_kwargs,
        )
        controller.start()
        controllers.append(controller)
        return state

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def local_smtp(start_local_smtp: Callable[..., LocalSmtp]) -> LocalSmtp:
    return start_local_smtp()


@dataclass(frozen=True)
class Certificate:
    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert_path))


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 that the client trusts explicitly."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relaydesk-test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("smtp-tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_path, key_path)


# --- Helpers ----------------------------------------------------------------------------


def loopback_settings(port: int, **overrides: Any) -> dict[str, Any]:
    settings = {"address": INBOX_ADDRESS, "smtp_host": "127.0.0.1", "smtp_port": port}
    return {**settings, "smtp_security": "none", "smtp_username": None, **overrides}


def outbound(**overrides: Any) -> OutboundMessage:
    fields: dict[str, Any] = {
        "message_id": 42,
        "ticket_id": 3,
        "ticket_number": 1042,
        "channel": "email",
        "inbox_id": 1,
        "recipient": SenderIdentity("email", CUSTOMER),
        "subject": "Printer on fire",
        "text": "Hello,\nwe are on it.\n",
        "html": None,
    }
    fields.update(overrides)
    return OutboundMessage(**fields)


def sender(**kwargs: Any) -> SmtpSender:
    kwargs.setdefault("clock", lambda: NOW)
    kwargs.setdefault("timeout", 5.0)
    return SmtpSender(**kwargs)


async def send(
    message: OutboundMessage,
    settings: dict[str, Any],
    secrets: dict[str, Any] | None = None,
    **sender_kwargs: Any,
) -> DeliveryResult:
    return await sender(**sender_kwargs).send(
        message, inbox_settings=settings, secrets=secrets or {}
    )


def assert_permanent(result: DeliveryResult, *, reason: str) -> None:
    assert result.status == "failed"
    assert result.retry is False
    assert result.failure_reason is not None
    assert reason in result.failure_reason, result.failure_reason


def assert_temporary(result: DeliveryResult) -> None:
    assert result.status == "failed"
    assert result.retry is True
    assert result.failure_reason


# --- Delivery and headers ---------------------------------------------------------------


async def test_a_reply_arrives_with_its_headers(local_smtp: LocalSmtp) -> None:
    thread = ("<first@mail.example.org>", "<second@mail.example.org>")
    result = await send(outbound(thread_external_ids=thread), local_smtp.settings())

    assert result.status == "sent"
    assert result.retry is False
    assert result.external_id is not None
    assert re.fullmatch(r"<relaydesk\.42\.[0-9a-f]{16}@example\.com>", result.external_id)
    (received,) = local_smtp.received
    assert received.mail_from == INBOX_ADDRESS
    assert received.rcpt_tos == [CUSTOMER]
    message = received.parsed()
    assert message["Message-ID"] == result.external_id
    assert message["From"] == INBOX_ADDRESS
    assert message["To"] == CUSTOMER
    assert message["Subject"] == "Re: Printer on fire [#1042]"
    assert message["In-Reply-To"] == "<second@mail.example.org>"
    assert message["References"].split() == list(thread)
    assert message["X-Relaydesk-Ticket"] == "1042"
    assert message["Date"].datetime == NOW
    assert message["Auto-Submitted"] is None


async def test_send_with_id_uses_the_recorded_id_on_every_try(local_smtp: LocalSmtp) -> None:
    settings = local_smtp.settings()
    recorded = new_message_id(42, inbox_settings=settings)
    for _ in range(2):
        result = await sender().send_with_id(
            outbound(), inbox_settings=settings, secrets={}, message_id_header=recorded
        )
        assert result == DeliveryResult("sent", external_id=recorded)
    assert [r.parsed()["Message-ID"] for r in local_smtp.received] == [recorded, recorded]


async def test_the_subject_is_not_tagged_twice_on_a_second_reply(local_smtp: LocalSmtp) -> None:
    await send(outbound(), local_smtp.settings())
    first = local_smtp.received[0].parsed()
    await send(outbound(subject=first["Subject"]), local_smtp.settings())
    second = local_smtp.received[1].parsed()
    assert second["Subject"] == first["Subject"] == "Re: Printer on fire [#1042]"


async def test_only_automatic_mail_is_marked_auto_submitted(local_smtp: LocalSmtp) -> None:
    await send(outbound(automated=True), local_smtp.settings())
    await send(outbound(automated=False), local_smtp.settings())
    automatic, human = (r.parsed() for r in local_smtp.received)
    assert automatic["Auto-Submitted"] == "auto-replied"
    assert automatic["X-Auto-Response-Suppress"] == "All"
    assert human["Auto-Submitted"] is None
    assert human["X-Auto-Response-Suppress"] is None


async def test_text_html_and_an_attachment_arrive_intact(
    local_smtp: LocalSmtp, tmp_path: Path
) -> None:
    blob = bytes(range(256)) * 64 + b"\r\n.\r\n\n.\r\nend"  # a lone dot line must survive
    (tmp_path / "stored").write_bytes(blob)
    attachment = OutboundAttachment(
        "Übersicht März.pdf", "application/pdf", str(tmp_path / "stored")
    )
    message = outbound(
        text="Grüße,\nsiehe Anhang.\n",
        html="<p>Grüße, siehe <b>Anhang</b>.</p>",
        attachments=(attachment,),
    )
    result = await send(message, local_smtp.settings())

    assert result.status == "sent"
    parsed = local_smtp.received[0].parsed()
    assert parsed.get_content_type() == "multipart/mixed"
    alternative = next(parsed.iter_parts())
    assert alternative.get_content_type() == "multipart/alternative"
    plain, html = alternative.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert plain.get_content().replace("\r\n", "\n") == "Grüße,\nsiehe Anhang.\n"
    assert html.get_content_type() == "text/html"
    assert "<b>Anhang</b>" in html.get_content()
    (part,) = parsed.iter_attachments()
    assert part.get_filename() == "Übersicht März.pdf"
    assert part.get_content_type() == "application/pdf"
    assert part.get_payload(decode=True) == blob


async def test_non_ascii_from_name_and_subject_are_encoded(local_smtp: LocalSmtp) -> None:
    settings = local_smtp.settings(from_name="Kundendienst Müller")
    await send(outbound(subject="Grüße aus Köln"), settings)

    content = local_smtp.received[0].content
    content.decode("ascii")  # the whole message is 7-bit
    headers = content.split(b"\r\n\r\n", 1)[0]
    assert b"=?utf-8?" in headers
    parsed = local_smtp.received[0].parsed()
    assert parsed["Subject"] == "Re: Grüße aus Köln [#1042]"
    (address,) = parsed["From"].addresses
    assert (address.display_name, address.addr_spec) == ("Kundendienst Müller", INBOX_ADDRESS)


@pytest.mark.parametrize(
    ("quit_reply", "quit_delay"), [("554 5.0.0 Something odd", 0.0), (None, 10.0)]
)
async def test_a_fumbled_quit_after_acceptance_is_still_sent(
    local_smtp: LocalSmtp, quit_reply: str | None, quit_delay: float
) -> None:
    local_smtp.quit_reply, local_smtp.quit_delay = quit_reply, quit_delay
    started = time.monotonic()
    result = await send(outbound(), local_smtp.settings(), timeout=0.5)
    assert time.monotonic() - started < 3
    assert result.status == "sent"
    assert len(local_smtp.received) == 1


# --- Authentication ---------------------------------------------------------------------


async def test_login_with_the_right_password(local_smtp: LocalSmtp) -> None:
    settings = local_smtp.settings(smtp_username=USERNAME)
    result = await send(outbound(), settings, {"smtp_password": PASSWORD})
    assert result.status == "sent"
    assert local_smtp.received[0].login == USERNAME


async def test_a_wrong_password_fails_for_good_without_showing_it(local_smtp: LocalSmtp) -> None:
    wrong = "not-the-Pa55word"
    settings = local_smtp.settings(smtp_username=USERNAME)
    result = await send(outbound(), settings, {"smtp_password": wrong})

    assert_permanent(result, reason="535 5.7.8 Authentication credentials invalid")
    assert result.failure_reason is not None
    assert result.failure_reason.startswith("535 ")
    assert wrong not in result.failure_reason
    assert local_smtp.received == []


# --- Server refusals --------------------------------------------------------------------


async def test_a_4xx_on_rcpt_is_retried(local_smtp: LocalSmtp) -> None:
    local_smtp.temporary_rcpt.add(CUSTOMER)
    result = await send(outbound(), local_smtp.settings())
    assert_temporary(result)
    assert result.failure_reason == "451 4.2.0 Mailbox busy, try again later"
    assert local_smtp.received == []

    local_smtp.temporary_rcpt.clear()  # the next try goes through
    assert (await send(outbound(), local_smtp.settings())).status == "sent"


async def test_a_5xx_on_rcpt_fails_with_the_servers_answer(local_smtp: LocalSmtp) -> None:
    local_smtp.permanent_rcpt.add(CUSTOMER)
    result = await send(outbound(), local_smtp.settings())
    assert_permanent(result, reason="550 5.1.1 No such user here")
    assert local_smtp.received == []


@pytest.mark.parametrize(
    ("reply", "retry"),
    [("554 5.6.0 Message rejected as spam", False), ("452 4.3.1 Insufficient storage", True)],
)
async def test_a_refusal_of_the_data(local_smtp: LocalSmtp, reply: str, retry: bool) -> None:
    local_smtp.data_reply = reply
    result = await send(outbound(), local_smtp.settings())
    assert result.status == "failed"
    assert result.retry is retry
    assert result.failure_reason == reply


# --- Connections ------------------------------------------------------------------------


async def test_a_closed_port_is_retried_quickly() -> None:
    started = time.monotonic()
    result = await send(outbound(), loopback_settings(free_port()))
    assert time.monotonic() - started < 2
    assert_temporary(result)
    assert "Error connecting to 127.0.0.1" in (result.failure_reason or "")


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never says a word."""
    writers: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    yield port
    for writer in writers:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_server_that_never_answers_times_out_and_is_retried(silent_server: int) -> None:
    started = time.monotonic()
    result = await send(outbound(), loopback_settings(silent_server), timeout=0.3)
    assert time.monotonic() - started < 3
    assert_temporary(result)
    assert "Timed out" in (result.failure_reason or "")


async def test_the_whole_delivery_has_a_deadline(silent_server: int) -> None:
    result = await send(outbound(), loopback_settings(silent_server), timeout=10.0, deadline=0.3)
    assert_temporary(result)
    assert result.failure_reason == f"127.0.0.1:{silent_server} did not finish within 0.3 s"


async def test_starttls_then_login(
    start_local_smtp: Callable[..., LocalSmtp], certificate: Certificate
) -> None:
    server = start_local_smtp(tls_context=certificate.server_context())
    settings = server.settings(smtp_security="starttls", smtp_username=USERNAME)
    result = await send(
        outbound(), settings, {"smtp_password": PASSWORD}, tls_context=certificate.client_context()
    )
    assert result.status == "sent", result.failure_reason
    assert server.received[0].login == USERNAME


async def test_implicit_tls(
    start_local_smtp: Callable[..., LocalSmtp], certificate: Certificate
) -> None:
    server = start_local_smtp(ssl_context=certificate.server_context())
    settings = server.settings(smtp_security="ssl")
    result = await send(outbound(), settings, tls_context=certificate.client_context())
    assert result.status == "sent", result.failure_reason
    assert len(server.received) == 1


@pytest.mark.parametrize("security", ["ssl", "starttls"])
async def test_an_untrusted_certificate_fails_for_good(
    start_local_smtp: Callable[..., LocalSmtp], certificate: Certificate, security: str
) -> None:
    context_kwarg = "ssl_context" if security == "ssl" else "tls_context"
    server = start_local_smtp(**{context_kwarg: certificate.server_context()})
    settings = server.settings(smtp_security=security, smtp_username=USERNAME)
    result = await send(outbound(), settings, {"smtp_password": PASSWORD})
    assert_permanent(result, reason="CERTIFICATE_VERIFY_FAILED")
    assert server.received == []


async def test_starttls_required_but_not_offered_fails_for_good(local_smtp: LocalSmtp) -> None:
    result = await send(outbound(), local_smtp.settings(smtp_security="starttls"))
    assert_permanent(result, reason="STARTTLS")
    assert local_smtp.received == []


# --- Settings and content the sender refuses before connecting --------------------------


@pytest.mark.parametrize(
    ("overrides", "secrets", "named"),
    [
        ({"smtp_host": None}, {}, "smtp_host"),
        ({"smtp_host": "  "}, {}, "smtp_host"),
        ({"smtp_port": "abc"}, {}, "smtp_port"),
        ({"smtp_port": 0}, {}, "smtp_port"),
        ({"smtp_port": 70000}, {}, "smtp_port"),
        ({"smtp_port": True}, {}, "smtp_port"),
        ({"smtp_security": "tls"}, {}, "smtp_security"),
        ({"address": None}, {}, "address"),
        ({"address": "not-an-address"}, {}, "address"),
        ({"smtp_username": USERNAME}, {}, "smtp_password"),
        ({"from_name": 12}, {}, "from_name"),
    ],
)
async def test_invalid_settings_fail_for_good_naming_the_setting(
    local_smtp: LocalSmtp, overrides: dict[str, Any], secrets: dict[str, Any], named: str
) -> None:
    result = await send(outbound(), local_smtp.settings(**overrides), secrets)
    assert_permanent(result, reason=named)
    assert local_smtp.received == []


async def test_a_port_given_as_text_is_accepted(local_smtp: LocalSmtp) -> None:
    result = await send(outbound(), local_smtp.settings(smtp_port=str(local_smtp.port)))
    assert result.status == "sent"


async def test_a_missing_attachment_file_fails_for_good(
    local_smtp: LocalSmtp, tmp_path: Path
) -> None:
    attachment = OutboundAttachment("gone.pdf", "application/pdf", str(tmp_path / "gone"))
    result = await send(outbound(attachments=(attachment,)), local_smtp.settings())
    assert_permanent(result, reason="the stored file of gone.pdf is missing")
    assert str(tmp_path) not in (result.failure_reason or "")
    assert local_smtp.received == []


@pytest.mark.parametrize(
    "address",
    ["customer@example.org>\r\nRCPT TO:<x@y.z", "a@b@c"],
    ids=["header injection", "two at signs"],
)
async def test_a_recipient_that_is_not_an_email_address(
    local_smtp: LocalSmtp, address: str
) -> None:
    message = outbound(recipient=SenderIdentity("email", address))
    result = await send(message, local_smtp.settings())
    assert_permanent(result, reason="cannot build the message")
    assert local_smtp.received == []
