"""The test servers themselves work: what is delivered is visible over IMAP, what is sent is
captured, and scripted SMTP failures are answered as asked.

The fixtures live in tests/channels/email/conftest.py (where the email tests use them) and are
imported here by name, which ruff reads as redefinitions.
"""
# ruff: noqa: F811

from __future__ import annotations

import re
from collections.abc import Callable

import aiosmtplib
import pytest
from aioimaplib import aioimaplib

from tests.channels.email.conftest import (  # noqa: F401 - fixtures, used by name
    dovecot,
    mailbox,
    make_smtp_server,
    smtp_server,
)
from tests.servers.dovecot import Account, Dovecot, DovecotError
from tests.servers.smtp import PERMANENT, TEMPORARY, SmtpServer

MESSAGE = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: hi\r\n\r\nhello\r\n"


async def test_delivered_message_is_visible_over_imap(mailbox: Account) -> None:
    mailbox.deliver(MESSAGE)
    client = aioimaplib.IMAP4(mailbox.host, mailbox.port, timeout=5)
    await client.wait_hello_from_server()
    assert (await client.login(mailbox.address, mailbox.password)).result == "OK"
    selected = await client.select("INBOX")
    assert b"1 EXISTS" in selected.lines
    fetched = await client.fetch("1", "(BODY.PEEK[])")
    assert fetched.result == "OK"
    assert bytes(fetched.lines[1]) == MESSAGE
    await client.logout()


async def test_each_mailbox_is_a_fresh_user(dovecot: Dovecot) -> None:
    first, second = dovecot.new_account(), dovecot.new_account()
    assert first.address != second.address
    first.deliver(MESSAGE)
    client = aioimaplib.IMAP4(second.host, second.port, timeout=5)
    await client.wait_hello_from_server()
    await client.login(second.address, second.password)
    assert b"0 EXISTS" in (await client.select("INBOX")).lines
    await client.logout()


def test_recreate_changes_uidvalidity(mailbox: Account) -> None:
    mailbox.deliver(MESSAGE)
    before = mailbox.server.uidvalidity(mailbox.address)
    mailbox.recreate_mailbox()
    assert mailbox.server.uidvalidity(mailbox.address) != before
    mailbox.create_mailbox("Archive")
    mailbox.deliver(MESSAGE, "Archive")
    before = mailbox.server.uidvalidity(mailbox.address, "Archive")
    mailbox.recreate_mailbox("Archive")
    assert mailbox.server.uidvalidity(mailbox.address, "Archive") != before


def test_doveadm_failure_is_loud(mailbox: Account) -> None:
    with pytest.raises(DovecotError, match="save"):
        mailbox.deliver(MESSAGE, "No such folder")


async def test_smtp_captures_envelope_and_exact_bytes(smtp_server: SmtpServer) -> None:
    content = MESSAGE + b"..a line that starts with a dot\r\n"
    await aiosmtplib.send(
        content,
        sender="a@example.test",
        recipients=["b@example.test", "c@example.test"],
        hostname=smtp_server.host,
        port=smtp_server.port,
    )
    (captured,) = smtp_server.messages
    assert captured.mail_from == "a@example.test"
    assert captured.rcpt_tos == ("b@example.test", "c@example.test")
    assert captured.content == content
    assert captured.login is None


async def test_smtp_auth_required(make_smtp_server: Callable[..., SmtpServer]) -> None:
    server = make_smtp_server(auth=("agent", "s3cret"))
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        await aiosmtplib.send(
            MESSAGE,
            sender="a@example.test",
            recipients=["b@example.test"],
            hostname=server.host,
            port=server.port,
        )
    assert refused.value.code == 530
    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        await aiosmtplib.send(
            MESSAGE,
            sender="a@example.test",
            recipients=["b@example.test"],
            hostname=server.host,
            port=server.port,
            username="agent",
            password="wrong",
        )
    await aiosmtplib.send(
        MESSAGE,
        sender="a@example.test",
        recipients=["b@example.test"],
        hostname=server.host,
        port=server.port,
        username="agent",
        password="s3cret",
    )
    (captured,) = server.messages
    assert captured.login == "agent"


async def test_smtp_scripted_failures(smtp_server: SmtpServer) -> None:
    smtp_server.fail_rcpt("busy@example.test", TEMPORARY)
    smtp_server.fail_rcpt("gone@example.test", PERMANENT)
    smtp_server.fail_data("spam@example.test", "554 5.7.1 Rejected as spam (test)")
    for rcpt, code in (("busy@example.test", 451), ("gone@example.test", 550)):
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await aiosmtplib.send(
                MESSAGE,
                sender="a@example.test",
                recipients=[rcpt],
                hostname=smtp_server.host,
                port=smtp_server.port,
            )
        assert refused.value.recipients[0].code == code
    with pytest.raises(aiosmtplib.SMTPDataError) as data_error:
        await aiosmtplib.send(
            MESSAGE,
            sender="a@example.test",
            recipients=["spam@example.test"],
            hostname=smtp_server.host,
            port=smtp_server.port,
        )
    assert data_error.value.code == 554
    assert smtp_server.messages == []
    with pytest.raises(ValueError, match="4xx/5xx"):
        smtp_server.fail_rcpt("x@example.test", "250 fine")


def test_dovecot_start_failure_shows_the_log(monkeypatch: pytest.MonkeyPatch) -> None:
    server = Dovecot()
    # A config dovecot refuses: the error must carry dovecot's own words.
    monkeypatch.setattr(server, "_config", lambda: "protocols = imap\nno_such_setting = 1\n")
    with pytest.raises(DovecotError, match=re.compile("no_such_setting", re.IGNORECASE)):
        server.start()
