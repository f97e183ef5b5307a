"""A visitor's message on a known conversation (app.chat.quick): what it costs the
database, and that it stores what the full path (ingest and the lifecycle) would.

The socket handler runs in the test's event loop on a committing database, with the
composition root's hooks; no background loop runs, so every statement counted is the
message's own.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy import Connection, delete, event, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.attachments.storage import AttachmentStore
from app.chat.models import ChatVisitor
from app.chat.port import ChatSettings
from app.config import Settings
from app.db.engine import SessionMaker, transaction
from app.db.rules_cache import RULES, listen_for_rule_changes
from app.inboxes.models import Inbox
from app.main import CHAT_ADAPTER, build_lifecycle_hooks
from app.messages.models import Message
from app.outbox.models import OutboxEvent
from app.realtime.frames import FrameError
from app.realtime.hub import Hub
from app.realtime.runtime import Realtime
from app.realtime.sockets import VisitorSocket
from app.realtime.visitor import VisitorSession
from app.security.crypto import SecretBox
from app.sla.models import SlaPolicy
from app.tickets.events import EventActor, TicketEvent
from app.tickets.hooks import install_hooks
from app.tickets.lifecycle import NewMessage, append_message, change_ticket
from app.tickets.models import Ticket
from routing.sla.recompute import recompute_ticket
from tests.conftest import FrozenClock
from tests.factories.agents import make_agent


@contextmanager
def round_trips(engine: AsyncEngine) -> Iterator[list[str]]:
    """What reaches PostgreSQL, one entry a round trip: each statement, and BEGIN,
    COMMIT and ROLLBACK of a connection that is not in autocommit (in autocommit asyncpg
    sends none of them). A statement is one round trip once its prepared form is cached
    on the connection, which the tests' warm-up messages see to (a fresh connection
    prepares each statement text once more)."""
    seen: list[str] = []

    def statement(conn: Connection, cursor: Any, text: str, *args: Any) -> None:
        seen.append(" ".join(text.split())[:90])

    def transactional(name: str) -> Any:
        def listener(conn: Connection, *args: Any) -> None:
            if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
                seen.append(name)

        return listener

    listeners = [
        ("before_cursor_execute", statement),
        ("begin", transactional("BEGIN")),
        ("commit", transactional("COMMIT")),
        ("rollback", transactional("ROLLBACK")),
    ]
    for name, fn in listeners:
        event.listen(engine.sync_engine, name, fn)
    try:
        yield seen
    finally:
        for name, fn in listeners:
            event.remove(engine.sync_engine, name, fn)


@dataclass
class Chat:
    realtime: Realtime
    sessionmaker: SessionMaker
    engine: AsyncEngine
    inbox: Inbox
    visitor: ChatVisitor
    clock: FrozenClock

    def socket(self) -> tuple[VisitorSocket, VisitorSession]:
        sock = VisitorSocket(
            self.realtime.new_id(),
            address="127.0.0.1",
            visitor_id=self.visitor.id,
            visitor_key=self.visitor.key,
            inbox_id=self.inbox.id,
        )
        settings = ChatSettings(allowed_origins=("*",))
        return sock, VisitorSession(self.realtime, sock, settings=settings)

    async def send(
        self, client_id: str, body: str = "hello", *, on: VisitorSession | None = None
    ) -> dict[str, Any]:
        """The visitor sends; returns the frame the socket answered with."""
        session = on or self.main
        try:
            await session.handle({"type": "message.send", "client_id": client_id, "body": body})
        except FrameError as exc:  # as the socket's loop answers it (app.realtime.runtime)
            return {"type": "error", "code": exc.code, "client_id": exc.client_id}
        return json.loads(session.sock.queue.get_nowait())  # type: ignore[arg-type]

    @property
    def main(self) -> VisitorSession:
        return self._main

    async def start(self) -> None:
        _, self._main = self.socket()

    async def ticket(self, ticket_id: int) -> Ticket:
        async with self.sessionmaker() as session:
            found = await session.get(Ticket, ticket_id)
            assert found is not None
            return found

    async def events(self, ticket_id: int) -> list[tuple[int, str]]:
        async with self.sessionmaker() as session:
            rows = await session.execute(
                select(TicketEvent.seq, TicketEvent.type)
                .where(TicketEvent.ticket_id == ticket_id)
                .order_by(TicketEvent.seq)
            )
            return [(r[0], r[1]) for r in rows]

    async def agent_reply(self, ticket_id: int, agent_id: int) -> None:
        async with transaction(self.sessionmaker) as session:
            ticket = await session.get(Ticket, ticket_id, with_for_update=True)
            assert ticket is not None
            reply = NewMessage(
                direction="outbound",
                author_type="agent",
                author_agent_id=agent_id,
                body_text="How can I help?",
                status="sent",
            )
            await append_message(
                session, ticket, reply, actor=EventActor.agent(agent_id), now=self.clock()
            )


@pytest.fixture
async def chat(
    committing_sessionmaker: SessionMaker,
    engine: AsyncEngine,
    redis: Redis,
    settings: Settings,
    clock: FrozenClock,
) -> Chat:
    install_hooks(committing_sessionmaker, build_lifecycle_hooks(settings))
    realtime = Realtime(
        settings=settings,
        sessionmaker=committing_sessionmaker,
        hub=Hub(committing_sessionmaker, redis, prefix=settings.redis.channel_prefix),
        chat=CHAT_ADAPTER,
        box=SecretBox(settings.security.secret_key),
        store=AttachmentStore(settings.storage),
        clock=clock,
    )
    async with transaction(committing_sessionmaker) as session:
        inbox = Inbox(name="Shop chat", channel="chat", settings={"allowed_origins": ["*"]})
        session.add(inbox)
        await session.flush()
        visitor = ChatVisitor(inbox_id=inbox.id, name="Vera")
        session.add(visitor)
    chat = Chat(realtime, committing_sessionmaker, engine, inbox, visitor, clock)
    await chat.start()
    return chat


async def _conversation(chat: Chat) -> int:
    """The visitor's first message opens the conversation (the full path); the second
    warms the quick path (prepared statements, the rules cache)."""
    opened = await chat.send("c-open", "My order is late")
    assert opened["type"] == "message.ack", opened
    chat.clock.advance(seconds=5)
    warm = await chat.send("c-warm", "order 1234")
    assert warm["type"] == "message.ack", warm
    assert warm["seq"] == opened["seq"] + 1
    ticket_id: int = opened["ticket_id"]
    return ticket_id


def _policy(minutes: int, name: str = "Chat") -> SlaPolicy:
    return SlaPolicy(
        name=name,
        conditions={},
        pauses={},
        actions={},
        targets=[
            {"metric": metric, "priority": priority, "minutes": minutes,
             "business_hours": False}
            for metric in ("first_response", "next_response")
            for priority in ("low", "normal", "high", "urgent")
        ],
    )  # fmt: skip


@pytest.mark.parametrize("with_sla", [False, True], ids=["no-sla-policy", "sla-policy"])
async def test_a_message_on_a_known_conversation_costs_at_most_three_round_trips(
    chat: Chat, with_sla: bool
) -> None:
    if with_sla:
        async with transaction(chat.sessionmaker) as session:
            session.add(_policy(30))
    ticket_id = await _conversation(chat)
    before = await chat.ticket(ticket_id)
    chat.clock.advance(seconds=5)
    chat.realtime.hub.queue = asyncio.Queue()  # what this message hands to the hub

    with round_trips(chat.engine) as trips:
        ack = await chat.send("c-3", "it was due on Monday")

    assert ack["type"] == "message.ack", ack
    assert len(trips) <= 3, trips
    assert len(trips) == 2, trips  # one read, one write: no BEGIN or COMMIT at all
    assert ack["seq"] == before.last_seq + 1
    ticket = await chat.ticket(ticket_id)
    assert (ticket.last_seq, ticket.updated_at, ticket.status) == (
        ack["seq"], chat.clock(), before.status,
    )  # fmt: skip
    async with chat.sessionmaker() as session:
        message = await session.get(Message, ack["message_id"])
        assert message is not None
        outbox = (
            await session.scalars(
                select(OutboxEvent).where(
                    OutboxEvent.ticket_id == ticket_id, OutboxEvent.seq == ack["seq"]
                )
            )
        ).all()
    assert (message.ticket_id, message.seq, message.direction, message.author_type) == (
        ticket_id, ack["seq"], "inbound", "contact",
    )  # fmt: skip
    assert (message.author_contact_id, message.status, message.body_text) == (
        ticket.contact_id, "received", "it was due on Monday",
    )  # fmt: skip
    assert message.external_id == f"widget:{chat.visitor.key}:c-3"
    assert message.channel_data == {"client_id": "c-3", "automated": False}
    assert message.created_at == chat.clock()
    expected = {
        "message_id": message.id, "ticket_id": ticket_id, "seq": ack["seq"],
        "direction": "inbound", "internal": False, "status": "received",
        "author_type": "contact",
    }  # fmt: skip
    assert [(o.topic, o.payload) for o in outbox] == [("message.created", expected)]
    assert (await chat.events(ticket_id))[-1] == (ack["seq"], "message.created")
    # The node's sockets hear of it at once, as after a commit of the full path.
    handed = chat.realtime.hub.queue.get_nowait()
    assert (handed.topic, handed.ticket_id, handed.seq, handed.payload) == (
        "message.created", ticket_id, ack["seq"], expected,
    )  # fmt: skip
    if with_sla:
        # Nobody answered yet: the first response is due 30 minutes after the ticket opened.
        assert ticket.sla_due_at == ticket.created_at + timedelta(minutes=30)


async def test_a_resend_is_answered_with_the_stored_message_and_stores_nothing(
    chat: Chat,
) -> None:
    ticket_id = await _conversation(chat)
    first = await chat.send("c-again", "are you there?")
    events = await chat.events(ticket_id)

    with round_trips(chat.engine) as trips:
        again = await chat.send("c-again", "are you there?")

    assert again == first
    assert len(trips) == 1, trips  # the read finds it stored
    assert await chat.events(ticket_id) == events
    async with chat.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).where(Message.external_id.like("%:c-again"))
        )
    assert count == 1


async def test_messages_racing_are_each_stored_once_in_seq_order(chat: Chat) -> None:
    ticket_id = await _conversation(chat)
    tabs = [chat.socket()[1] for _ in range(3)]
    for tab in tabs:
        chat.realtime.hub.follow(tab.sock, ticket_id, seen=0)
    # Three tabs write at once; two of them send the same client id (a resend racing).
    frames = await asyncio.gather(
        *(
            chat.send(client_id, on=tab)
            for client_id, tab in zip(["r1", "r2", "r2"], tabs, strict=True)
        )
    )
    assert all(f["type"] == "message.ack" for f in frames), frames
    assert frames[1]["message_id"] == frames[2]["message_id"]
    assert frames[0]["seq"] != frames[1]["seq"]
    events = await chat.events(ticket_id)
    assert [seq for seq, _ in events] == list(range(1, len(events) + 1))  # no hole
    ticket = await chat.ticket(ticket_id)
    assert ticket.last_seq == len(events)
    async with chat.sessionmaker() as session:
        stored = (
            await session.execute(
                select(Message.external_id, Message.seq).where(Message.ticket_id == ticket_id)
            )
        ).all()
    assert sorted(e for e, _ in stored if e.endswith((":r1", ":r2"))) == [
        f"widget:{chat.visitor.key}:r1",
        f"widget:{chat.visitor.key}:r2",
    ]


async def test_a_pending_conversation_reopens_through_the_full_path(chat: Chat) -> None:
    ticket_id = await _conversation(chat)
    async with transaction(chat.sessionmaker) as session:
        ticket = await session.get(Ticket, ticket_id, with_for_update=True)
        assert ticket is not None
        await change_ticket(
            session, ticket, {"status": "pending"}, actor=EventActor("system"), now=chat.clock()
        )

    ack = await chat.send("c-back", "still waiting")

    assert ack["type"] == "message.ack", ack
    ticket = await chat.ticket(ticket_id)
    assert ticket.status == "open"
    assert (await chat.events(ticket_id))[-2:] == [
        (ack["seq"], "message.created"),
        (ack["seq"] + 1, "ticket.updated"),
    ]


async def test_a_closed_conversation_makes_the_next_message_open_a_new_one(chat: Chat) -> None:
    ticket_id = await _conversation(chat)
    async with transaction(chat.sessionmaker) as session:
        ticket = await session.get(Ticket, ticket_id, with_for_update=True)
        assert ticket is not None
        await change_ticket(
            session, ticket, {"status": "closed"}, actor=EventActor("system"), now=chat.clock()
        )

    ack = await chat.send("c-new", "another question")

    assert ack["type"] == "message.ack", ack
    assert ack["ticket_id"] != ticket_id
    assert ack["ticket_id"] in chat.main.sock.tickets


async def test_a_blocked_visitor_is_refused(chat: Chat) -> None:
    await _conversation(chat)
    async with transaction(chat.sessionmaker) as session:
        await session.execute(
            update(ChatVisitor).where(ChatVisitor.id == chat.visitor.id).values(is_blocked=True)
        )

    refused = await chat.send("c-blocked")

    assert (refused["type"], refused["code"]) == ("error", "not_allowed")


async def test_the_next_response_is_due_after_the_customer_writes_again(chat: Chat) -> None:
    async with transaction(chat.sessionmaker) as session:
        session.add(_policy(30))
        agent = await make_agent(session)
    ticket_id = await _conversation(chat)
    chat.clock.advance(minutes=2)
    await chat.agent_reply(ticket_id, agent.id)
    chat.clock.advance(minutes=3)
    wrote_at = chat.clock()

    with round_trips(chat.engine) as trips:
        ack = await chat.send("c-next", "thanks, and the invoice?")

    assert ack["type"] == "message.ack", ack
    assert len(trips) == 2, trips
    ticket = await chat.ticket(ticket_id)
    assert ticket.sla_due_at == wrote_at + timedelta(minutes=30)
    targets = {t["metric"]: t for t in (ticket.sla or {})["targets"]}
    assert targets["first_response"]["status"] == "met"
    assert targets["next_response"]["started_at"] == wrote_at.isoformat()
    # The full path's recomputation finds nothing to change.
    stored = (ticket.sla, ticket.sla_due_at, ticket.sla_next_event_at, ticket.sla_fired)
    async with transaction(chat.sessionmaker) as session:
        locked = await session.get(Ticket, ticket_id, with_for_update=True)
        assert locked is not None
        await recompute_ticket(session, locked, now=chat.clock())
    again = await chat.ticket(ticket_id)
    assert (again.sla, again.sla_due_at, again.sla_next_event_at, again.sla_fired) == stored


async def test_a_policy_change_is_seen_by_the_next_message(chat: Chat) -> None:
    async with transaction(chat.sessionmaker) as session:
        session.add(_policy(30))
    ticket_id = await _conversation(chat)
    created_at = (await chat.ticket(ticket_id)).created_at
    assert (await chat.ticket(ticket_id)).sla_due_at == created_at + timedelta(minutes=30)

    # Changed in this process (the admin API's way): the commit forgets the cache.
    async with transaction(chat.sessionmaker) as session:
        await session.execute(update(SlaPolicy).values(targets=_policy(20).targets))
    await chat.send("c-after-api")
    assert (await chat.ticket(ticket_id)).sla_due_at == created_at + timedelta(minutes=20)

    # Changed by another process: its NOTIFY reaches this one's listener.
    listening = asyncio.create_task(listen_for_rule_changes(chat.engine))
    try:
        generation = RULES.generation
        await _until(lambda: RULES.generation > generation)  # listening now
        generation = RULES.generation
        url = chat.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        other = await asyncpg.connect(url)
        try:
            await other.execute(
                "UPDATE sla_policies SET targets = $1::jsonb", json.dumps(_policy(10).targets)
            )
        finally:
            await other.close()
        await _until(lambda: RULES.generation > generation)
        await chat.send("c-after-notify")
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
    assert (await chat.ticket(ticket_id)).sla_due_at == created_at + timedelta(minutes=10)


async def _until(condition: Any, within: float = 5.0) -> None:
    for _ in range(int(within / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within {within} s")


async def test_a_conversation_gone_meanwhile_makes_the_message_open_a_new_one(chat: Chat) -> None:
    ticket_id = await _conversation(chat)
    async with transaction(chat.sessionmaker) as session:
        await session.execute(delete(Ticket).where(Ticket.id == ticket_id))

    ack = await chat.send("c-gone", "hello again")

    assert ack["type"] == "message.ack", ack
    assert ack["ticket_id"] != ticket_id
    assert ack["ticket_id"] in chat.main.sock.tickets
