"""Hostile and broken clients: each bad frame is answered with an error code (never
dropped), a visitor token reaches only its own conversation, tokens and origins are
checked on connect, and floods are rate limited."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.asyncio.client import connect

from app.db.engine import SessionMaker
from tests.app.realtime.support import (
    make_admin_token,
    make_chat_inbox,
    peer,
    visitor_session,
    ws_url,
)


async def test_bad_frames_get_error_codes_and_tokens_reach_only_their_conversation(
    server: str, live_sessionmaker: SessionMaker
) -> None:
    _, token = await make_admin_token(live_sessionmaker)
    async with httpx.AsyncClient(base_url=server) as http:
        inbox = await make_chat_inbox(http, token, rate_limit_per_minute=3)
        alice = await visitor_session(http, inbox["public_key"])
        mallory = await visitor_session(http, inbox["public_key"])

    async with peer(ws_url(server, "/ws/widget", alice["token"])) as a:
        await a.expect("hello")
        await a.send(type="message.send", client_id="a1", body="my secret order 123")
        alice_ticket = (await a.expect("message.ack"))["ticket_id"]

    async with peer(ws_url(server, "/ws/widget", mallory["token"])) as m:
        await m.expect("hello")
        await m.ws.send("not json")
        assert (await m.expect("error"))["code"] == "bad_frame"
        await m.ws.send(json.dumps([1, 2]))
        assert (await m.expect("error"))["code"] == "bad_frame"
        await m.send(type="message.send", client_id=7, body="x")
        error = await m.expect("error")
        assert (error["code"], error["detail"].split(":")[0]) == ("bad_frame", "client_id")
        await m.ws.send(
            json.dumps({"type": "message.send", "client_id": "big", "body": "x" * 70_000})
        )
        assert (await m.expect("error"))["code"] == "frame_too_large"
        await m.send(type="launch.missiles")
        assert (await m.expect("error"))["code"] == "unknown_type"
        await m.ws.send(b"\x00binary")
        assert (await m.expect("error"))["code"] == "bad_frame"

        # Alice's conversation is not Mallory's to read, by id or by resume.
        await m.send(type="resume", ticket_id=alice_ticket, since=0)
        assert (await m.expect("error"))["code"] == "not_allowed"
        await m.send(type="resume", since=0)
        done = await m.expect("resume.done")
        assert done["ticket_id"] is None
        assert not m.received("message.new")

        # Three messages a minute: the fourth is refused with its client id, not dropped.
        for n in range(3):
            await m.send(type="message.send", client_id=f"m{n}", body=f"hello {n}")
            ack = await m.expect("message.ack", client_id=f"m{n}")
        assert ack["ticket_id"] != alice_ticket
        await m.send(type="message.send", client_id="m3", body="hello 3")
        limited = await m.expect("error", client_id="m3")
        assert limited["code"] == "rate_limited"
        await m.send(type="ping")
        assert (await m.expect("pong"))["v"] == 1


@pytest.mark.parametrize(
    ("path", "token", "origin", "code"),
    [
        ("/ws/widget", "v1.forged.0000", "https://shop.example", "not_authenticated"),
        ("/ws/agent", "rd_not-a-token", None, "not_authenticated"),
    ],
)
async def test_a_bad_token_is_refused_on_connect(
    server: str, path: str, token: str, origin: str | None, code: str
) -> None:
    async with connect(ws_url(server, path, token), origin=origin) as ws:  # type: ignore[arg-type]
        frame = json.loads(await ws.recv())
        assert frame["code"] == code
        await ws.wait_closed()
    assert ws.close_code == 4001


async def test_a_site_not_allowed_cannot_open_the_widget_socket(
    server: str, live_sessionmaker: SessionMaker
) -> None:
    _, token = await make_admin_token(live_sessionmaker)
    async with httpx.AsyncClient(base_url=server) as http:
        inbox = await make_chat_inbox(http, token)
        visitor = await visitor_session(http, inbox["public_key"])
    url = ws_url(server, "/ws/widget", visitor["token"])
    async with connect(url, origin="https://evil.example") as ws:  # type: ignore[arg-type]
        assert json.loads(await ws.recv())["code"] == "forbidden"
        await ws.wait_closed()
    assert ws.close_code == 4003
