"""What makes a chat feel live: typing both ways, who else has the ticket open (the
collision warning), read receipts, files, and agent presence stored for routing."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from app.agents.models import Agent
from app.db.engine import SessionMaker
from app.inboxes.channels import CHANNEL_NAMES
from app.messages.models import Message
from app.realtime.models import AgentConnection
from app.routing.models import RoutingSettings
from app.tickets.events import TicketEvent
from tests.app.realtime.support import (
    SHOP,
    make_admin_token,
    make_chat_inbox,
    peer,
    visitor_session,
    ws_url,
)


async def _presence(sessionmaker: SessionMaker, agent_id: int) -> tuple[str, list[str]]:
    async with sessionmaker() as session:
        presence = await session.scalar(select(Agent.presence).where(Agent.id == agent_id))
        rows = (
            await session.scalars(
                select(AgentConnection.status).where(AgentConnection.agent_id == agent_id)
            )
        ).all()
    assert presence is not None
    return presence, sorted(rows)


async def _eventually(check: object, *, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition did not hold in time")
        await asyncio.sleep(0.05)


async def test_typing_viewers_read_receipts_and_files(
    server: str, live_sessionmaker: SessionMaker
) -> None:
    grace_id, grace = await make_admin_token(live_sessionmaker, name="Grace")
    alan_id, alan = await make_admin_token(live_sessionmaker, name="Alan")
    async with httpx.AsyncClient(base_url=server) as http:
        inbox = await make_chat_inbox(
            http, grace, attachment_types=["image/png"], max_attachment_bytes=1000
        )
        session = await visitor_session(http, inbox["public_key"])
        other = await visitor_session(http, inbox["public_key"])
        token = session["token"]

        too_big = await http.post(
            "/api/v1/widget/attachments",
            params={"token": token},
            files={"file": ("big.png", b"x" * 1001, "image/png")},
            headers={"Origin": SHOP},
        )
        assert too_big.status_code == 422
        assert too_big.json()["errors"][0]["field"] == "file"
        wrong_type = await http.post(
            "/api/v1/widget/attachments",
            params={"token": token},
            files={"file": ("run.exe", b"MZ", "application/x-msdownload")},
            headers={"Origin": SHOP},
        )
        assert wrong_type.status_code == 422
        uploaded = await http.post(
            "/api/v1/widget/attachments",
            params={"token": token},
            files={"file": ("shot.png", b"\x89PNG fake", "image/png")},
            headers={"Origin": SHOP},
        )
        assert uploaded.status_code == 201, uploaded.text

        async with (
            peer(ws_url(server, "/ws/agent", grace), origin=None) as g,
            peer(ws_url(server, "/ws/agent", alan), origin=None) as a,
            peer(ws_url(server, "/ws/widget", token)) as v,
        ):
            for p in (g, a, v):
                await p.expect("hello")
            await v.send(type="typing", active=True)  # nothing to tell before a message
            await v.send(
                type="message.send",
                client_id="c1",
                body="See the screenshot",
                attachment_ids=[uploaded.json()["id"]],
            )
            ack = await v.expect("message.ack")
            ticket_id = ack["ticket_id"]
            seen = await g.expect("message.new", ticket_id=ticket_id)
            [file] = seen["attachments"]
            assert (file["filename"], file["size"]) == ("shot.png", 9)
            assert (
                await http.get(file["url"], headers={"Authorization": f"Bearer {grace}"})
            ).content == b"\x89PNG fake"
            mine = await http.get(
                f"/api/v1/widget/attachments/{file['id']}", params={"token": token}
            )
            assert mine.content == b"\x89PNG fake"
            theirs = await http.get(
                f"/api/v1/widget/attachments/{file['id']}", params={"token": other["token"]}
            )
            assert theirs.status_code == 404

            # Collision warning: both agents open the ticket; Grace types.
            await g.send(type="viewing", ticket_id=ticket_id, active=True)
            await a.send(type="viewing", ticket_id=ticket_id, active=True)
            both = await g.expect(
                "viewers", ticket_id=ticket_id,
                agents=[{"id": grace_id, "name": "Grace", "typing": False},
                        {"id": alan_id, "name": "Alan", "typing": False}],
            )  # fmt: skip
            assert both
            await g.send(type="typing", ticket_id=ticket_id, active=True)
            typing = await v.expect("typing", ticket_id=ticket_id)
            assert typing["author"]["name"] == "Grace"
            await a.expect("typing", ticket_id=ticket_id, active=True)
            await a.expect(
                "viewers", ticket_id=ticket_id,
                agents=[{"id": grace_id, "name": "Grace", "typing": True},
                        {"id": alan_id, "name": "Alan", "typing": False}],
            )  # fmt: skip
            await g.send(type="typing", ticket_id=ticket_id, active=True, internal=True)
            await v.send(type="typing", active=True)
            from_visitor = await g.expect("typing", ticket_id=ticket_id)
            assert from_visitor["author"]["type"] == "contact"

            # A reply reaches the widget, which says when the visitor has read it.
            await g.send(type="message.send", client_id="r1", ticket_id=ticket_id, body="Got it")
            reply = await g.expect("message.ack", client_id="r1")
            shown = await v.expect("message.new", message_id=reply["message_id"])
            assert shown["status"] == "sent"
            await v.send(type="read", seq=shown["seq"])
            await g.expect("message.status", message_id=reply["message_id"], status="read")
            await v.expect("message.status", message_id=reply["message_id"], status="read")
            # The internal typing of a note never reached the visitor.
            assert len(v.received("typing")) == 1

            # Alan leaves: Grace sees the viewers list shrink.
            await a.close()
            await g.expect(
                "viewers",
                ticket_id=ticket_id,
                agents=[{"id": grace_id, "name": "Grace", "typing": True}],
            )


async def _set_grace(sessionmaker: SessionMaker, seconds: int) -> None:
    async with sessionmaker() as session, session.begin():
        stmt = insert(RoutingSettings).values(id=1, offline_grace_seconds=seconds)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["id"], set_={"offline_grace_seconds": seconds}
            )
        )


async def test_presence_follows_sockets_and_the_agents_choice_and_is_stored(
    server: str, live_sessionmaker: SessionMaker
) -> None:
    agent_id, token = await make_admin_token(live_sessionmaker)
    _, watcher_token = await make_admin_token(live_sessionmaker)
    assert await _presence(live_sessionmaker, agent_id) == ("offline", [])
    async with peer(ws_url(server, "/ws/agent", watcher_token), origin=None) as watcher:
        await watcher.expect("hello")
        await _set_grace(live_sessionmaker, 60)
        try:
            async with (
                peer(ws_url(server, "/ws/agent", token), origin=None) as first,
                peer(ws_url(server, "/ws/agent", token), origin=None) as second,
            ):
                await first.expect("hello")
                await second.expect("hello")
                assert await _presence(live_sessionmaker, agent_id) == (
                    "online", ["online", "online"],
                )  # fmt: skip
                await watcher.expect("presence", agent_id=agent_id, status="online")
                # The choice is the agent's, not the socket's: it holds on every socket.
                await first.send(type="presence.set", status="away")
                await watcher.expect("presence", agent_id=agent_id, status="away")
                assert await _presence(live_sessionmaker, agent_id) == ("away", ["away", "away"])
                await second.send(type="presence.set", status="busy")
                assert (await second.expect("error"))["detail"].startswith("status:")
                # Per channel, the same shape as PUT /agents/me/presence: email back online.
                await second.send(type="presence.set", channels={"email": "online"})
                email_only = {c: "online" if c == "email" else "away" for c in CHANNEL_NAMES}
                await watcher.expect(
                    "presence", agent_id=agent_id, status="away", channels=email_only
                )
                await second.send(type="presence.set", channels={"sms": "away"})
                assert (await second.expect("error"))["detail"].startswith("channels.sms:")
                await first.close()

                async def one_socket() -> bool:
                    return await _presence(live_sessionmaker, agent_id) == ("away", ["away"])

                await _eventually(one_socket)

            async def grace_running() -> bool:
                async with live_sessionmaker() as session:
                    gone = await session.scalar(
                        select(Agent.disconnected_at).where(Agent.id == agent_id)
                    )
                return gone is not None

            # The last socket closed: the choice holds through the grace period.
            await _eventually(grace_running)
            assert await _presence(live_sessionmaker, agent_id) == ("away", [])
        finally:
            await _set_grace(live_sessionmaker, 0)
        # Back within the grace, as chosen; then gone with no grace: offline at once.
        async with peer(ws_url(server, "/ws/agent", token), origin=None) as again:
            hello = await again.expect("hello")
            assert hello["presence"] == "away"
            assert hello["channels"] == email_only
        await watcher.expect("presence", agent_id=agent_id, status="offline")

    async def offline() -> bool:
        return await _presence(live_sessionmaker, agent_id) == ("offline", [])

    await _eventually(offline)


async def test_the_visitor_sees_when_agents_have_their_messages_and_read_them(
    server: str, live_sessionmaker: SessionMaker
) -> None:
    agent_id, token = await make_admin_token(live_sessionmaker, name="Grace")
    async with httpx.AsyncClient(base_url=server) as http:
        inbox = await make_chat_inbox(http, token)
        session = await visitor_session(http, inbox["public_key"])
        async with (
            peer(ws_url(server, "/ws/widget", session["token"])) as visitor,
            peer(ws_url(server, "/ws/agent", token), origin=None) as agent,
        ):
            await visitor.expect("hello")
            await agent.expect("hello")
            await visitor.send(type="message.send", client_id="c1", body="Hello?")
            first = await visitor.expect("message.ack", client_id="c1")
            ticket_id = first["ticket_id"]
            await agent.expect("message.new", message_id=first["message_id"])
            delivered = await visitor.expect(
                "message.status", message_id=first["message_id"], status="delivered"
            )
            assert delivered["seq"] > first["seq"]

            # The agent opens the ticket: what the visitor wrote is read, and what they
            # write while it is open is read as it arrives (never only delivered).
            await agent.send(type="viewing", ticket_id=ticket_id, active=True)
            await visitor.expect("message.status", message_id=first["message_id"], status="read")
            await visitor.send(type="message.send", client_id="c2", body="Are you there?")
            second = await visitor.expect("message.ack", client_id="c2")
            await visitor.expect("message.status", message_id=second["message_id"], status="read")
            assert not visitor.received(
                "message.status", message_id=second["message_id"], status="delivered"
            )

            # Closed again; a client that shows the conversation says `read` up to a seq.
            await agent.send(type="viewing", ticket_id=ticket_id, active=False)
            await visitor.send(type="message.send", client_id="c3", body="One more thing")
            third = await visitor.expect("message.ack", client_id="c3")
            await visitor.expect(
                "message.status", message_id=third["message_id"], status="delivered"
            )
            await agent.send(type="read", ticket_id=ticket_id, seq=third["seq"])
            await visitor.expect("message.status", message_id=third["message_id"], status="read")
            await agent.send(type="read", ticket_id=ticket_id + 1000, seq=1)
            assert (await agent.expect("error"))["code"] == "ticket_not_found"
            await agent.send(type="read", ticket_id=ticket_id, seq="all")
            assert (await agent.expect("error"))["detail"].startswith("seq:")

        # Stored: a reload shows the same states (resume replays them, message.new has them).
        async with peer(ws_url(server, "/ws/widget", session["token"])) as again:
            await again.expect("hello")
            await again.send(type="resume", since=0)
            await again.expect("resume.done")
            shown = {f["message_id"]: f["status"] for f in again.received("message.new")}
            assert shown == {
                first["message_id"]: "read",
                second["message_id"]: "read",
                third["message_id"]: "read",
            }
    async with live_sessionmaker() as db:
        rows = (
            await db.execute(
                select(Message.status, Message.read_at.is_not(None)).where(
                    Message.ticket_id == ticket_id
                )
            )
        ).all()
        readers = (
            await db.scalars(
                select(TicketEvent.actor_id).where(
                    TicketEvent.ticket_id == ticket_id,
                    TicketEvent.type == "message.status_changed",
                    TicketEvent.data["status"].astext == "read",
                )
            )
        ).all()
    assert sorted(rows) == [("read", True)] * 3
    assert set(readers) == {agent_id}
