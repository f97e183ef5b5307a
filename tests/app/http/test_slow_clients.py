"""Slow clients against the real server (uvicorn, as `relaydesk serve` runs it): a client
that trickles its headers is cut off at the header deadline however steadily it sends, and
connections past the cap are answered 503 at once, while normal clients are served."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from app.config import DatabaseSettings, Settings
from app.main import create_app
from tests.servers.live_app import live_app

HEADER_TIMEOUT = 1
MAX_CONNECTIONS = 40
SLOW_CLIENTS = 30
EXTRA_CLIENTS = 20
TRICKLE_SECONDS = 0.2
# How late a cut may come on a loaded machine (two cores shared by several test runs).
SLACK_SECONDS = 1.5
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: relaydesk.test\r\nUser-Agent: slow-" + b"o" * 200


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def _trickle(port: int) -> tuple[float, int]:
    """Send a request's headers one byte every TRICKLE_SECONDS; return how long the server
    kept the connection and how many bytes it took."""
    reader, writer = await _connect(port)
    started = time.monotonic()
    sent = 0
    try:
        for byte in REQUEST:
            writer.write(bytes([byte]))
            await writer.drain()
            sent += 1
            try:
                if await asyncio.wait_for(reader.read(1024), TRICKLE_SECONDS) == b"":
                    break  # the server closed the connection
            except TimeoutError:
                continue
    except ConnectionError:
        pass
    finally:
        writer.close()
    return time.monotonic() - started, sent


async def _get(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> bytes:
    """One request on the connection; returns the status line and reads the response."""
    reader, writer = connection
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: relaydesk.test\r\n\r\n")
    status = await asyncio.wait_for(reader.readline(), 5)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    await reader.readexactly(length)
    return status


async def _idle(port: int) -> bytes:
    """Connect, send nothing, return what the server sends before it closes."""
    reader, writer = await _connect(port)
    try:
        return await asyncio.wait_for(reader.read(), HEADER_TIMEOUT + SLACK_SECONDS + 1)
    except ConnectionError:
        return b""
    finally:
        writer.close()


async def test_slow_headers_are_cut_off_and_connections_over_the_cap_refused(
    settings: Settings, database_url: str
) -> None:
    limited = replace(
        settings,
        database=DatabaseSettings(url=database_url),
        http=replace(
            settings.http, header_timeout_seconds=HEADER_TIMEOUT, max_connections=MAX_CONNECTIONS
        ),
    )
    with live_app(create_app(limited)) as url:
        port = int(url.rsplit(":", 1)[1])
        slow = [asyncio.create_task(_trickle(port)) for _ in range(SLOW_CLIENTS)]
        await asyncio.sleep(TRICKLE_SECONDS * 2)

        # A normal client is served while the slow ones trickle; its kept-alive connection
        # takes one more place, and of the extra ones those past the cap are refused.
        kept = await _connect(port)
        served_during = await _get(kept)
        extra = await asyncio.gather(*(_idle(port) for _ in range(EXTRA_CLIENTS)))
        slow_results = await asyncio.gather(*slow)
        # Idle past the header deadline between requests, a kept-alive connection is still
        # served (the deadline runs from a request's first byte; idling is keep-alive's).
        served_again = await _get(kept)
        kept[1].close()
        served_after = await _get(await _connect(port))

    assert served_during.startswith(b"HTTP/1.1 200"), served_during
    refused = [answer for answer in extra if answer.startswith(b"HTTP/1.1 503")]
    assert len(refused) == SLOW_CLIENTS + 1 + EXTRA_CLIENTS - MAX_CONNECTIONS
    assert all(b"application/problem+json" in answer for answer in refused)
    # The ones that fit sent nothing and were cut at the header deadline, unanswered.
    fitted = MAX_CONNECTIONS - SLOW_CLIENTS - 1
    assert [answer for answer in extra if answer not in refused] == [b""] * fitted
    for held, sent in slow_results:
        assert HEADER_TIMEOUT - 0.1 <= held <= HEADER_TIMEOUT + SLACK_SECONDS, (held, sent)
        assert 3 <= sent < len(REQUEST)  # bytes kept arriving, and did not extend the deadline
    assert served_again.startswith(b"HTTP/1.1 200"), served_again
    assert served_after.startswith(b"HTTP/1.1 200"), served_after
