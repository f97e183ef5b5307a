"""Per client address: a cap on open sockets and on frames a second, across sockets."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import connect

from app.db.engine import SessionMaker
from tests.app.realtime.support import (
    live_settings,
    make_admin_token,
    make_chat_inbox,
    peer,
    serving,
    visitor_session,
    ws_url,
)
from tests.conftest import REDIS_URL


@pytest.fixture(scope="module")
def server(
    live_database: str, redis_db: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    data = tmp_path_factory.mktemp("limits") / "data"
    settings = live_settings(
        live_database,
        f"{REDIS_URL}/{redis_db}",
        data,
        max_sockets_per_address=2,
        frames_per_address_per_second=2,
    )
    with serving(settings) as url:
        yield url


async def test_sockets_and_frames_per_address_are_limited(
    server: str, live_sessionmaker: SessionMaker
) -> None:
    _, token = await make_admin_token(live_sessionmaker)
    async with httpx.AsyncClient(base_url=server) as http:
        inbox = await make_chat_inbox(http, token)
        visitors = [await visitor_session(http, inbox["public_key"]) for _ in range(3)]
    async with (
        peer(ws_url(server, "/ws/widget", visitors[0]["token"])) as first,
        peer(ws_url(server, "/ws/widget", visitors[1]["token"])) as second,
    ):
        await first.expect("hello")
        await second.expect("hello")
        url = ws_url(server, "/ws/widget", visitors[2]["token"])
        async with connect(url, origin="https://shop.example") as third:  # type: ignore[arg-type]
            assert json.loads(await third.recv())["code"] == "rate_limited"
            await third.wait_closed()
        assert third.close_code == 4429

        # Two frames a second (a burst of ten) for the address, whichever socket sends.
        for _ in range(6):
            await second.send(type="ping")
        for _ in range(6):
            await second.expect("pong")
        for _ in range(6):
            await first.send(type="ping")
        limited = await first.expect("error", code="rate_limited")
        assert limited["detail"].startswith("too many frames")
        assert len(first.received("pong")) <= 5
