"""The IMAP transport against a real dovecot: UIDs, exact bytes, flags, moves, IDLE, failures."""

from __future__ import annotations

import asyncio
import ssl
import time
import traceback
from collections.abc import AsyncIterator
from typing import Any, Literal

import pytest

from channels.email.imap import (
    FetchedMessage,
    ImapConfig,
    ImapError,
    ImapMailbox,
    _mailbox_arg,
    _uid_set,
)
from tests.servers import free_port
from tests.servers.dovecot import Account, Dovecot


def config(
    account: Account,
    *,
    folder: str = "INBOX",
    security: Literal["ssl", "starttls", "none"] = "none",
    port: int | None = None,
    password: str | None = None,
    timeout: float = 5.0,
) -> ImapConfig:
    return ImapConfig(
        host=account.host,
        port=account.port if port is None else port,
        security=security,
        username=account.address,
        password=account.password if password is None else password,
        folder=folder,
        timeout=timeout,
    )


def message(n: int, body: bytes = b"") -> bytes:
    return (
        b"From: Customer <customer@example.test>\r\n"
        b"To: support@example.test\r\n"
        b"Subject: message " + str(n).encode() + b"\r\n"
        b"Message-ID: <" + str(n).encode() + b"@example.test>\r\n"
        b"\r\n" + (body or b"Hello " + str(n).encode() + b"\r\n")
    )


async def collect(iterator: AsyncIterator[FetchedMessage]) -> list[FetchedMessage]:
    return [item async for item in iterator]


async def all_uids(account: Account, folder: str = "INBOX") -> list[int]:
    async with ImapMailbox(config(account, folder=folder)) as box:
        return await box.uids_after(0)


# -- UIDVALIDITY and UIDs ------------------------------------------------------------------


async def test_uidvalidity_is_stable_across_reconnects_and_changes_on_recreate(
    mailbox: Account,
) -> None:
    mailbox.deliver(message(1))
    async with ImapMailbox(config(mailbox)) as box:
        first = box.uidvalidity
        assert box.uidnext == 2
    async with ImapMailbox(config(mailbox)) as box:
        assert box.uidvalidity == first
    mailbox.recreate_mailbox()
    async with ImapMailbox(config(mailbox)) as box:
        assert box.uidvalidity != first
        assert await box.uids_after(0) == []


async def test_uidvalidity_of_another_folder_changes_on_recreate(mailbox: Account) -> None:
    mailbox.create_mailbox("Support")
    async with ImapMailbox(config(mailbox, folder="Support")) as box:
        first = box.uidvalidity
    mailbox.recreate_mailbox("Support")
    async with ImapMailbox(config(mailbox, folder="Support")) as box:
        assert box.uidvalidity != first


async def test_uids_after_returns_only_new_uids(mailbox: Account) -> None:
    async with ImapMailbox(config(mailbox)) as box:
        assert await box.uids_after(0) == []
        for n in range(1, 4):
            mailbox.deliver(message(n))
        assert await box.uids_after(0) == [1, 2, 3]
        assert await box.uids_after(2) == [3]
        # "4:*" matches UID 3 (the highest) on the wire; it must not come back.
        assert await box.uids_after(3) == []
        assert await box.uids_after(100) == []
        mailbox.deliver(message(4))
        assert await box.uids_after(3) == [4]


# -- fetching ------------------------------------------------------------------------------


async def test_fetch_returns_the_delivered_bytes_exactly(mailbox: Account) -> None:
    raws = [
        message(1),
        # 8-bit content that is not valid UTF-8 next to UTF-8, undeclared.
        message(2, "Grüße, café — ".encode() + b"latin-1: \xe9\xe8\xff\r\n"),
        # A 20,000-character line, never folded.
        message(3, b"x" * 20_000 + b"\r\nend\r\n"),
        # Content that looks like IMAP protocol: a literal marker, a tagged reply, a FETCH.
        message(4, b"see {12}\r\n* 1 FETCH (UID 99 BODY[] {3}\r\nA001 OK done\r\n)\r\n.\r\n"),
    ]
    for raw in raws:
        mailbox.deliver(raw)
    async with ImapMailbox(config(mailbox)) as box:
        fetched = await collect(box.fetch(await box.uids_after(0)))
    assert [item.uid for item in fetched] == [1, 2, 3, 4]
    for item, raw in zip(fetched, raws, strict=True):
        assert item.raw == raw
    assert "\\Seen" not in mailbox.server.flags(mailbox.address, 1)


async def test_fetch_streams_in_batches(mailbox: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    raws = [message(n, b"body %d\r\n" % n * (n % 7 + 1)) for n in range(1, 121)]
    for raw in raws:
        mailbox.deliver(raw)
    async with ImapMailbox(config(mailbox)) as box:
        sent: list[str] = []
        uid_command = box._client.uid

        def spy(command: str, *args: str) -> Any:
            sent.append(f"{command} {args[0]}")
            return uid_command(command, *args)

        monkeypatch.setattr(box._client, "uid", spy)
        uids = await box.uids_after(0)
        stream = box.fetch(uids, batch=50)
        first = await anext(stream)
        assert first.uid == 1
        assert sent == ["FETCH 1:50"]  # nothing beyond the first batch yet
        rest = await collect(stream)
    assert sent == ["FETCH 1:50", "FETCH 51:100", "FETCH 101:120"]
    assert [first.raw] + [item.raw for item in rest] == raws


async def test_fetch_skips_uids_that_no_longer_exist(mailbox: Account) -> None:
    for n in range(1, 4):
        mailbox.deliver(message(n))
    async with ImapMailbox(config(mailbox)) as box:
        await box.delete([2])
        fetched = await collect(box.fetch([1, 2, 3, 50]))
    assert [item.uid for item in fetched] == [1, 3]


def test_uid_sets_are_compact() -> None:
    assert _uid_set([1, 2, 3, 7, 9, 10]) == "1:3,7,9:10"
    assert _uid_set([5]) == "5"
    assert _uid_set([3, 1, 2, 2]) == "1:3"


# -- flags, move, delete -------------------------------------------------------------------


async def test_mark_seen(mailbox: Account) -> None:
    mailbox.deliver(message(1))
    mailbox.deliver(message(2))
    async with ImapMailbox(config(mailbox)) as box:
        await box.mark_seen([2])
    assert "\\Seen" in mailbox.server.flags(mailbox.address, 2)
    assert "\\Seen" not in mailbox.server.flags(mailbox.address, 1)


@pytest.mark.parametrize("with_move", [True, False], ids=["MOVE", "COPY+EXPUNGE"])
async def test_move_creates_the_folder_and_moves(mailbox: Account, with_move: bool) -> None:
    folder = "Erledigt & Grüße"  # quoting, "&" and modified UTF-7 on the wire
    for n in range(1, 4):
        mailbox.deliver(message(n))
    async with ImapMailbox(config(mailbox)) as box:
        assert box.supports_move
        if not with_move:
            box._capabilities.discard("MOVE")
        await box.move([2], folder)
        mailbox.deliver(message(4))
        assert await box.uids_after(3) == [4]
        await box.move([4], folder)  # the folder exists now
        assert await box.uids_after(0) == [1, 3]
    assert folder in mailbox.server.mailboxes(mailbox.address)
    assert await all_uids(mailbox) == [1, 3]
    async with ImapMailbox(config(mailbox, folder=folder)) as archive:
        moved = await collect(archive.fetch(await archive.uids_after(0)))
    assert [item.raw for item in moved] == [message(2), message(4)]


async def test_acting_on_each_message_while_streaming(mailbox: Account) -> None:
    """The poller's pattern: fetch in batches and move or flag each message as it comes."""
    for n in range(1, 6):
        mailbox.deliver(message(n))
    async with ImapMailbox(config(mailbox)) as box:
        seen: list[int] = []
        async for item in box.fetch(await box.uids_after(0), batch=2):
            seen.append(item.uid)
            if item.uid % 2:
                await box.move([item.uid], "Done")
            else:
                await box.mark_seen([item.uid])
        assert seen == [1, 2, 3, 4, 5]
        assert await box.uids_after(0) == [2, 4]
    assert await all_uids(mailbox, "Done") == [1, 2, 3]
    assert "\\Seen" in mailbox.server.flags(mailbox.address, 4)


async def test_delete_removes_only_those_messages(mailbox: Account) -> None:
    for n in range(1, 6):
        mailbox.deliver(message(n))
    async with ImapMailbox(config(mailbox)) as box:
        await box.delete([2, 4, 5])
        assert await box.uids_after(0) == [1, 3]
    assert await all_uids(mailbox) == [1, 3]


async def test_invalid_uids_are_refused(mailbox: Account) -> None:
    async with ImapMailbox(config(mailbox)) as box:
        with pytest.raises(ValueError, match="UID"):
            await box.mark_seen([0])
        with pytest.raises(ValueError, match="UID"):
            await box.delete([])
        with pytest.raises(ValueError, match="UID"):
            await collect(box.fetch([1, -3]))


def test_folder_names_are_quoted_modified_utf7() -> None:
    assert _mailbox_arg("INBOX") == '"INBOX"'
    assert _mailbox_arg("A & B") == '"A &- B"'
    assert _mailbox_arg("Grüße") == '"Gr&APwA3w-e"'
    assert _mailbox_arg('say "hi"\\') == '"say \\"hi\\"\\\\"'
    with pytest.raises(ImapError):
        _mailbox_arg("two\r\nlines")


# -- waiting for changes -------------------------------------------------------------------


async def test_wait_for_changes_wakes_up_on_delivery(mailbox: Account) -> None:
    async with ImapMailbox(config(mailbox)) as box:
        assert box.supports_idle
        assert await box.uids_after(0) == []

        async def deliver_soon() -> None:
            await asyncio.sleep(0.3)
            await asyncio.to_thread(mailbox.deliver, message(1))

        delivery = asyncio.create_task(deliver_soon())
        started = time.monotonic()
        assert await box.wait_for_changes(10) is True
        assert time.monotonic() - started < 2.3
        await delivery
        # The connection is usable after IDLE.
        assert await box.uids_after(0) == [1]
        (fetched,) = await collect(box.fetch([1]))
        assert fetched.raw == message(1)


async def test_wait_for_changes_times_out_and_stays_usable(mailbox: Account) -> None:
    async with ImapMailbox(config(mailbox)) as box:
        started = time.monotonic()
        assert await box.wait_for_changes(0.5) is False
        assert 0.4 < time.monotonic() - started < 2
        mailbox.deliver(message(1))
        assert await box.uids_after(0) == [1]
        await box.mark_seen([1])
        assert await box.wait_for_changes(0.2) is False


async def test_wait_for_changes_reports_mail_that_arrived_before_the_wait(
    mailbox: Account,
) -> None:
    async with ImapMailbox(config(mailbox)) as box:
        assert await box.uids_after(0) == []
        mailbox.deliver(message(1))
        # The server announces the message on this command's reply, before any IDLE.
        await box.uids_after(5)
        started = time.monotonic()
        assert await box.wait_for_changes(10) is True
        assert time.monotonic() - started < 1
        assert await box.uids_after(0) == [1]
        assert await box.wait_for_changes(0.2) is False


async def test_wait_for_changes_without_idle_sleeps(mailbox: Account) -> None:
    async with ImapMailbox(config(mailbox)) as box:
        box._capabilities.discard("IDLE")
        assert not box.supports_idle
        started = time.monotonic()
        assert await box.wait_for_changes(0.3) is False
        assert time.monotonic() - started >= 0.3
        mailbox.deliver(message(1))
        assert await box.uids_after(0) == [1]


# -- failures ------------------------------------------------------------------------------


async def test_wrong_password_raises_without_the_password() -> None:
    # A server of its own: dovecot delays every later login from 127.0.0.1 after a failure.
    with Dovecot() as server:
        mailbox = server.new_account()
        wrong = "Wr0ng-" + mailbox.password
        with pytest.raises(ImapError) as raised:
            async with ImapMailbox(config(mailbox, password=wrong)):
                pass
    text = "".join(traceback.format_exception(raised.value))
    assert "login" in str(raised.value).lower()
    assert mailbox.address in str(raised.value)
    assert wrong not in text
    assert wrong not in repr(config(mailbox, password=wrong))


async def test_closed_port_raises_quickly(mailbox: Account) -> None:
    started = time.monotonic()
    with pytest.raises(ImapError, match="cannot connect"):
        async with ImapMailbox(config(mailbox, port=free_port())):
            pass
    assert time.monotonic() - started < 2


async def test_silent_server_times_out() -> None:
    async def never_greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(never_greet, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        silent = ImapConfig("127.0.0.1", port, "none", "u@example.test", "pw", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(ImapError, match="greeting"):
            async with ImapMailbox(silent):
                pass
        assert time.monotonic() - started < 2
    finally:
        server.close()
        await server.wait_closed()


async def test_missing_folder_raises(mailbox: Account) -> None:
    with pytest.raises(ImapError, match="SELECT"):
        async with ImapMailbox(config(mailbox, folder="Nope")):
            pass


async def test_closed_mailbox_refuses_commands(mailbox: Account) -> None:
    box = ImapMailbox(config(mailbox))
    async with box:
        pass
    with pytest.raises(ImapError, match="not open"):
        await box.uids_after(0)


# -- TLS -----------------------------------------------------------------------------------


def trusting(tls_mailbox: Account) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(tls_mailbox.server.cert_path))
    return context


async def test_implicit_tls(tls_mailbox: Account) -> None:
    tls_mailbox.deliver(message(1))
    cfg = config(tls_mailbox, security="ssl", port=tls_mailbox.server.imaps_port)
    async with ImapMailbox(cfg, ssl_context=trusting(tls_mailbox)) as box:
        assert box._client.protocol.transport.get_extra_info("ssl_object") is not None
        (fetched,) = await collect(box.fetch(await box.uids_after(0)))
    assert fetched.raw == message(1)


async def test_starttls_upgrades_the_connection(tls_mailbox: Account) -> None:
    tls_mailbox.deliver(message(1))
    async with ImapMailbox(
        config(tls_mailbox, security="starttls"), ssl_context=trusting(tls_mailbox)
    ) as box:
        assert box._client.protocol.transport.get_extra_info("ssl_object") is not None
        assert "STARTTLS" not in box.capabilities  # re-read after the handshake
        (fetched,) = await collect(box.fetch(await box.uids_after(0)))
        assert fetched.raw == message(1)
        assert await box.wait_for_changes(0.2) is False


async def test_untrusted_certificate_is_refused(tls_mailbox: Account) -> None:
    for cfg in (
        config(tls_mailbox, security="ssl", port=tls_mailbox.server.imaps_port),
        config(tls_mailbox, security="starttls"),
    ):
        with pytest.raises(ImapError, match="certificate verify failed"):
            async with ImapMailbox(cfg):
                pass


async def test_starttls_is_never_downgraded_to_plain_text(mailbox: Account) -> None:
    with pytest.raises(ImapError, match="does not offer STARTTLS"):
        async with ImapMailbox(config(mailbox, security="starttls")):
            pass
