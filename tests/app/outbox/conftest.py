"""Fixtures for the relay: an arq Redis client on the test's Redis database, a ticket, and a
TCP proxy to Redis that tests stop and start to play an outage."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from arq.connections import ArqRedis
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.tickets.models import Ticket
from tests.conftest import REDIS_PORT, REDIS_URL
from tests.factories.contacts import make_contact


@pytest.fixture
async def arq_redis(redis: Redis, redis_db: int) -> AsyncIterator[ArqRedis]:
    """Shares the flushed database of the `redis` fixture."""
    client = ArqRedis.from_url(f"{REDIS_URL}/{redis_db}")
    yield client
    await client.aclose()


async def make_ticket(session: AsyncSession) -> Ticket:
    contact = await make_contact(session)
    ticket = Ticket(subject="Printer on fire", channel="email", contact_id=contact.id)
    session.add(ticket)
    await session.flush()
    return ticket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisProxy:
    """Forwards a local port to Redis while started; refuses connections while stopped."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for pipe in self._pipes:
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", REDIS_PORT)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            finally:
                dst.close()

        for task in (
            asyncio.create_task(pipe(reader, up_writer)),
            asyncio.create_task(pipe(up_reader, writer)),
        ):
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)


@pytest.fixture
async def redis_proxy() -> AsyncIterator[RedisProxy]:
    proxy = RedisProxy(free_port())
    yield proxy
    await proxy.stop()
