"""The worker's pooled SmtpSender against a real aiosmtpd server: connections kept open
between sends, a bound on sends in flight per server, a connection the server dropped."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from app.ingest.types import SenderIdentity
from channels.email.smtp import SmtpPool, SmtpSender
from tests.channels.email.test_smtp import loopback_settings, outbound
from tests.servers.smtp import SmtpServer, _Handler


@pytest.fixture
def slow_server() -> Iterator[SmtpServer]:
    with SmtpServer(answer_delay=0.2) as server:
        yield server


async def send_to(sender: SmtpSender, server: SmtpServer, n: int) -> str:
    message = outbound(message_id=n, recipient=SenderIdentity("email", f"c{n}@customer.test"))
    result = await sender.send(message, inbox_settings=loopback_settings(server.port), secrets={})
    return result.status


async def test_one_connection_carries_one_send_after_another() -> None:
    pool = SmtpPool()
    sender = SmtpSender(pool=pool, timeout=5.0)
    with SmtpServer() as server:
        try:
            assert [await send_to(sender, server, n) for n in range(5)] == ["sent"] * 5
        finally:
            await sender.aclose()
        assert pool.opened == 1
        assert sorted(m.rcpt_tos for m in server.messages) == [
            (f"c{n}@customer.test",) for n in range(5)
        ]


async def test_sends_to_one_server_are_bounded_and_all_arrive(slow_server: SmtpServer) -> None:
    pool = SmtpPool(per_server=2)
    sender = SmtpSender(pool=pool, timeout=5.0)
    started = time.monotonic()
    try:
        results = await asyncio.gather(*(send_to(sender, slow_server, n) for n in range(6)))
    finally:
        await sender.aclose()
    assert results == ["sent"] * 6
    assert len(slow_server.messages) == 6
    assert pool.opened == 2  # two at a time, each connection reused
    assert time.monotonic() - started >= 3 * 0.2  # six answers, two at a time


async def test_a_connection_the_server_dropped_is_replaced() -> None:
    pool = SmtpPool()
    sender = SmtpSender(pool=pool, timeout=5.0)
    server = SmtpServer()
    server.start()
    try:
        assert await send_to(sender, server, 1) == "sent"
        server.stop()  # drops the idle connection; a new server comes up on the same port
        server._controller = Controller(_Handler(server), hostname=server.host, port=server.port)
        server.start()
        await asyncio.sleep(0.1)
        assert await send_to(sender, server, 2) == "sent"
        assert len(server.messages) == 2
    finally:
        server.stop()
        await sender.aclose()
    assert pool.opened == 2
