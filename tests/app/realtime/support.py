"""Live chat tests: the real app on uvicorn's websockets, reached by the `websockets`
client library, on a database of its own (real commits) and real Redis."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from app.config import (
    DatabaseSettings,
    RealtimeSettings,
    RedisSettings,
    SecuritySettings,
    Settings,
    StorageSettings,
)
from app.db.engine import SessionMaker, transaction
from app.main import create_app
from tests.conftest import CHANNEL_PREFIX, SECRET_KEY
from tests.factories.agents import make_agent
from tests.servers.live_app import live_app

SHOP = "https://shop.example"
TIMEOUT = 10.0


def live_settings(
    database_url: str,
    redis_url: str,
    data_dir: Path,
    *,
    prefix: str = CHANNEL_PREFIX,
    **realtime: Any,
) -> Settings:
    return Settings(
        env="test",
        database=DatabaseSettings(url=database_url, pool_size=4),
        redis=RedisSettings(url=redis_url, channel_prefix=prefix),
        security=SecuritySettings(secret_key=SECRET_KEY),
        storage=StorageSettings(data_dir=data_dir, max_attachment_bytes=1024 * 1024),
        realtime=RealtimeSettings(**{"heartbeat_seconds": 5.0, **realtime}),
    )


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    with live_app(create_app(settings)) as url:
        yield url


def ws_url(base: str, path: str, token: str) -> str:
    return base.replace("http://", "ws://") + f"{path}?token={token}&v=1"


@dataclass
class Peer:
    """One socket, reading frames in the background so none is missed while the test
    waits for another."""

    ws: ClientConnection
    frames: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    everything: list[dict[str, Any]] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        async for text in self.ws:
            frame = json.loads(text)
            self.everything.append(frame)
            await self.frames.put(frame)

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def expect(self, kind: str, *, within: float = TIMEOUT, **match: Any) -> dict[str, Any]:
        """The next frame of this type (and these values); other frames are skipped."""
        deadline = time.monotonic() + within
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {kind} {match} within {within}s; got {self.everything}")
            try:
                frame = await asyncio.wait_for(self.frames.get(), left)
            except TimeoutError:
                continue
            if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    def received(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [
            f
            for f in self.everything
            if f["type"] == kind and all(f.get(k) == v for k, v in match.items())
        ]

    async def close(self) -> None:
        await self.ws.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)


@asynccontextmanager
async def peer(url: str, *, origin: str | None = SHOP) -> AsyncIterator[Peer]:
    async with connect(url, origin=origin, open_timeout=TIMEOUT) as ws:  # type: ignore[arg-type]
        p = Peer(ws)
        p.reader = asyncio.create_task(p._read())
        try:
            yield p
        finally:
            p.reader.cancel()
            await asyncio.gather(p.reader, return_exceptions=True)


async def make_admin_token(
    sessionmaker: SessionMaker, *, role: str = "admin", **kw: Any
) -> tuple[int, str]:
    from app.auth.service import do_create_token

    async with transaction(sessionmaker) as session:
        agent = await make_agent(session, role=role, **kw)
        _, raw = await do_create_token(
            session,
            agent_id=agent.id,
            kind="personal",
            name="test",
            scopes=("read", "write"),
            expires_at=datetime.now(UTC) + timedelta(days=1),
        )
    return agent.id, raw


async def make_chat_inbox(http: httpx.AsyncClient, token: str, **settings: Any) -> dict[str, Any]:
    response = await http.post(
        "/api/v1/inboxes",
        json={
            "name": "Shop chat",
            "channel": "chat",
            "settings": {"allowed_origins": [SHOP], **settings},
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201, response.text
    inbox: dict[str, Any] = response.json()
    return inbox


async def visitor_session(
    http: httpx.AsyncClient, inbox_key: str, *, origin: str = SHOP, **body: Any
) -> dict[str, Any]:
    response = await http.post(
        "/api/v1/widget/sessions", json={"inbox": inbox_key, **body}, headers={"Origin": origin}
    )
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()
    return session
