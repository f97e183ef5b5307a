"""Opening a ticket writes its rows in one statement, and its events still reach this
node's sockets when (and only when) the transaction commits."""

from __future__ import annotations

from datetime import UTC, datetime

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditLog
from app.contacts.models import Contact
from app.db.engine import SessionMaker
from app.messages.models import Message
from app.outbox.models import OutboxEvent
from app.realtime.local import install_local_delivery
from app.realtime.render import Event
from app.tickets.events import EventActor, TicketEvent
from app.tickets.lifecycle import NewMessage, NewTicket, open_ticket
from app.tickets.models import Ticket
from tests.app.tickets.test_api import NEW_TICKET
from tests.factories.agents import auth_headers, make_agent

WRITTEN_TABLES = ("tickets", "messages", "ticket_events", "audit_log", "outbox_events")


def _writes(statements: list[str]) -> list[str]:
    """The statements that insert into one of the tables a ticket's opening writes."""
    return [s for s in statements if any(f"INSERT INTO {t} " in s for t in WRITTEN_TABLES)]


async def test_an_api_create_writes_ticket_message_timeline_audit_and_outbox_at_once(
    client: AsyncClient, db_session: AsyncSession, statements: list[str]
) -> None:
    admin = await make_agent(db_session, role="admin")
    headers = await auth_headers(db_session, admin)
    await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)  # the contact
    statements.clear()

    response = await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)

    assert response.status_code == 201, response.text
    [write] = _writes(statements)
    assert write.lstrip().startswith("WITH ticket AS (INSERT INTO tickets")
    # Auth, contact, ids and that write; the rest are the hooks' (SLA, routing).
    assert len(statements) <= 12, "\n".join(statements)
    ticket_id = response.json()["id"]
    ticket = await db_session.get(Ticket, ticket_id)
    assert ticket is not None
    assert (ticket.number, ticket.last_seq) == (response.json()["number"], 2)
    [message] = (
        await db_session.scalars(select(Message).where(Message.ticket_id == ticket_id))
    ).all()
    assert (message.seq, message.body_text) == (2, NEW_TICKET["body"])
    timeline = (
        await db_session.execute(
            select(TicketEvent.seq, TicketEvent.type, TicketEvent.actor_id)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.seq)
        )
    ).all()
    assert timeline == [(1, "ticket.created", admin.id), (2, "message.created", admin.id)]
    outbox = (
        await db_session.execute(
            select(OutboxEvent.seq, OutboxEvent.topic, OutboxEvent.payload)
            .where(OutboxEvent.ticket_id == ticket_id)
            .order_by(OutboxEvent.seq)
        )
    ).all()
    assert [(seq, topic) for seq, topic, _ in outbox] == [
        (1, "ticket.created"),
        (2, "message.created"),
    ]
    assert outbox[0].payload["ticket"]["number"] == ticket.number
    assert outbox[1].payload["message_id"] == message.id
    [audit] = (
        await db_session.scalars(select(AuditLog).where(AuditLog.entity_id == ticket_id))
    ).all()
    assert (audit.action, audit.actor_id, audit.entity_type) == (
        "ticket.create",
        admin.id,
        "ticket",
    )


async def _open(session: AsyncSession, contact_id: int, subject: str) -> Ticket:
    ticket, _ = await open_ticket(
        session,
        NewTicket(subject=subject, channel="api", contact_id=contact_id),
        first_message=NewMessage(
            direction="inbound", author_type="contact", body_text="Hello", status="received",
            author_contact_id=contact_id,
        ),
        actor=EventActor.contact(contact_id),
        now=datetime.now(UTC),
    )  # fmt: skip
    return ticket


async def test_the_events_reach_this_node_at_commit_and_not_from_a_rolled_back_savepoint(
    sessionmaker: SessionMaker,
) -> None:
    heard: list[Event] = []
    install_local_delivery(sessionmaker, heard.extend)
    async with sessionmaker() as session:
        contact = Contact(name="Pat", email="pat@customer.test")
        session.add(contact)
        await session.flush()
        kept = await _open(session, contact.id, "Kept")
        savepoint = await session.begin_nested()
        await _open(session, contact.id, "Rolled back")
        await savepoint.rollback()
        assert heard == []  # nothing before the commit
        await session.commit()

    assert [(e.ticket_id, e.seq, e.topic) for e in heard] == [
        (kept.id, 1, "ticket.created"),
        (kept.id, 2, "message.created"),
    ]
    assert heard[0].payload["ticket"]["subject"] == "Kept"
