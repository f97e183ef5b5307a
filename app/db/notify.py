"""LISTEN to a PostgreSQL channel on a connection of its own.

The connection is opened beside the engine's pool, not taken from it: every long-running
task of a worker (the relay, the mail supervisor, routing, the SLA scheduler) listens for
as long as it runs, and a pool sized for the jobs would otherwise be held by listeners.

Our triggers (migration 0014) NOTIFY inside the writing transaction; PostgreSQL delivers
the notification when that transaction commits and never for one rolled back, so a
listener is told exactly about committed changes. Notifications are a wake-up call, not a
queue: one sent while no listener was connected is lost, so every listener also looks
for work when it starts and on a slow poll.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncEngine


class ListenerLost(ConnectionError):
    """The listening connection closed; notifications sent meanwhile are lost."""


class Listener:
    """`async with Listener(engine, channel) as listener:` then `await listener.wait(5)`."""

    def __init__(self, engine: AsyncEngine, channel: str) -> None:
        self.engine = engine
        self.channel = channel
        self._driver: Any = None  # the asyncpg connection
        self._payloads: list[str] = []
        self._arrived = asyncio.Event()
        self._lost = False

    async def __aenter__(self) -> Listener:
        url = self.engine.url.set(drivername="postgresql")
        self._driver = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            self._driver.add_termination_listener(self._on_lost)
            await self._driver.add_listener(self.channel, self._on_notify)
        except BaseException:
            self._driver.terminate()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._driver is not None
        if self._lost:
            self._driver.terminate()
            return
        self._driver.remove_termination_listener(self._on_lost)
        await self._driver.remove_listener(self.channel, self._on_notify)
        await self._driver.close()

    def _on_notify(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self._payloads.append(payload)
        self._arrived.set()

    def _on_lost(self, connection: Any) -> None:
        self._lost = True
        self._arrived.set()

    def take(self) -> list[str]:
        """The payloads received since the last call (and forget them)."""
        payloads, self._payloads = self._payloads, []
        self._arrived.clear()
        return payloads

    async def wait(self, seconds: float) -> bool:
        """Until a notification arrives (True) or `seconds` pass (False); returns
        at once if one arrived since the last `take`."""
        try:
            async with asyncio.timeout(seconds):
                await self._arrived.wait()
        except TimeoutError:
            return False
        if self._lost:
            raise ListenerLost(f"the connection listening on {self.channel} closed")
        return True
