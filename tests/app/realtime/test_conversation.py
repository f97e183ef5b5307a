"""A visitor and an agent talk over real sockets: every message arrives once, in order,
acknowledged with its stored id and seq; a reconnecting client resumes exactly what it
missed; REST replies reach the visitor like socket replies."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from app.db.engine import SessionMaker
from app.messages.models import Message
from tests.app.realtime.support import (
    SHOP,
    make_admin_token,
    make_chat_inbox,
    peer,
    visitor_session,
    ws_url,
)


async def test_visitor_and_agent_talk_and_resume(
    server: str, live_sessionmaker: SessionMaker
) -> None:
    agent_id, token = await make_admin_token(live_sessionmaker, name="Grace Hopper")
    async with httpx.AsyncClient(base_url=server) as http:
        inbox = await make_chat_inbox(http, token)
        config = await http.get("/api/v1/widget/config", params={"inbox": inbox["public_key"]})
        assert config.status_code == 200, config.text
        assert config.json()["online"] is False

        refused = await http.post(
            "/api/v1/widget/sessions",
            json={"inbox": inbox["public_key"]},
            headers={"Origin": "https://evil.example"},
        )
        assert refused.status_code == 403, refused.text
        session = await visitor_session(http, inbox["public_key"])
        assert session["conversation"] is None

        async with peer(ws_url(server, "/ws/agent", token), origin=None) as agent:
            hello = await agent.expect("hello")
            assert hello["v"] == 1
            assert hello["presence"] == "online"
            online = await http.get("/api/v1/widget/config", params={"inbox": inbox["public_key"]})
            assert online.json()["online"] is True

            async with peer(ws_url(server, "/ws/widget", session["token"])) as visitor:
                assert (await visitor.expect("hello"))["conversation"] is None
                await visitor.send(type="message.send", client_id="c1", body="Where is my order?")
                ack = await visitor.expect("message.ack", client_id="c1")
                await visitor.send(type="message.send", client_id="c1", body="Where is my order?")
                again = await visitor.expect("message.ack", client_id="c1")
                assert again == ack
                ticket_id = ack["ticket_id"]

                heard = await agent.expect("message.new", ticket_id=ticket_id)
                assert (heard["seq"], heard["message_id"]) == (ack["seq"], ack["message_id"])
                assert heard["body"] == "Where is my order?"
                assert heard["author"]["type"] == "contact"
                # The agent's console has it: the visitor's message shows as delivered.
                await visitor.expect(
                    "message.status", message_id=ack["message_id"], status="delivered"
                )

                await agent.send(
                    type="message.send", client_id="a1", ticket_id=ticket_id, body="On its way!"
                )
                reply_ack = await agent.expect("message.ack", client_id="a1")
                reply = await visitor.expect("message.new", message_id=reply_ack["message_id"])
                assert reply["body"] == "On its way!"
                assert reply["author"] == {
                    "type": "agent", "id": agent_id, "name": "Grace Hopper", "avatar_url": None,
                }  # fmt: skip
                assert reply["seq"] == reply_ack["seq"]
                # The visitor's socket has it: the reply is delivered (no email needed).
                await visitor.expect(
                    "message.status", message_id=reply["message_id"], status="delivered"
                )

                rest = await http.post(
                    f"/api/v1/tickets/{ticket_id}/messages",
                    json={"body": "Tracking number 42"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert rest.status_code == 201, rest.text
                assert rest.json()["status"] == "sent"
                by_rest = await visitor.expect("message.new", message_id=rest.json()["id"])
                assert by_rest["body"] == "Tracking number 42"
                await visitor.expect(
                    "message.status", message_id=by_rest["message_id"], status="delivered"
                )
                note = await http.post(
                    f"/api/v1/tickets/{ticket_id}/messages",
                    json={"body": "VIP customer", "internal": True},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert note.status_code == 201
                await agent.expect("message.new", message_id=note.json()["id"], internal=True)
                skipped = await visitor.expect("skip", ticket_id=ticket_id)
                assert skipped["seq"] > by_rest["seq"]

                # Every seq of the conversation reached the visitor once, in order.
                live = [
                    f["seq"]
                    for f in visitor.everything
                    if f.get("ticket_id") == ticket_id and f["type"] in {"message.new", "skip"}
                ]
                assert live == sorted(set(live))
                assert live[-1] == skipped["seq"]

            # Reconnect and resume from the first message: exactly what came after, in order.
            async with peer(ws_url(server, "/ws/widget", session["token"])) as again_visitor:
                hello = await again_visitor.expect("hello")
                assert hello["conversation"] == {"ticket_id": ticket_id, "last_seq": skipped["seq"]}
                await again_visitor.send(type="resume", since=ack["seq"])
                done = await again_visitor.expect("resume.done")
                resumed = [
                    f
                    for f in again_visitor.everything
                    if f.get("ticket_id") == ticket_id
                    and f["type"] in {"message.new", "skip", "message.status"}
                ]
                assert [f["seq"] for f in resumed] == list(
                    range(ack["seq"] + 1, done["last_seq"] + 1)
                )
                bodies = [f["body"] for f in resumed if f["type"] == "message.new"]
                assert bodies == ["On its way!", "Tracking number 42"]  # not the note
                assert done == {
                    "type": "resume.done", "ticket_id": ticket_id, "since": ack["seq"],
                    "last_seq": skipped["seq"], "v": 1,
                }  # fmt: skip

    async with live_sessionmaker() as db:
        stored = await db.scalar(
            select(func.count()).select_from(Message).where(Message.ticket_id == ticket_id)
        )
    assert stored == 4  # the visitor's message once, two replies, the note
    assert SHOP
