"""Every lifecycle operation, checked the Zulip way: read the ticket, act, apply the events
after the old seq to the old state, and compare with a fresh read."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.attachments.storage import AttachmentStore
from app.audit.models import AuditLog
from app.config import Settings
from app.inboxes.models import Inbox
from app.ingest.service import ingest
from app.ingest.types import InboundMessage, SenderIdentity, ThreadHints
from app.messages.service import do_add_system_reply, do_record_delivery
from app.outbox.models import OutboxEvent
from app.tickets.events import TicketEvent
from app.tickets.hooks import LifecycleHooks, MessageAppended, TicketChanged, install_hooks
from app.tickets.models import Ticket
from tests.app.tickets.timeline import EMPTY, apply_events, assert_events_replay, read_state
from tests.conftest import FrozenClock
from tests.factories.agents import auth_headers, make_agent, make_team

NEW_TICKET = {
    "subject": "Printer on fire",
    "body": "It is very warm here.",
    "contact": {"email": "pat@customer.test", "name": "Pat"},
}


@pytest.fixture
async def admin(db_session: AsyncSession) -> Agent:
    return await make_agent(db_session, role="admin")


@pytest.fixture
async def headers(db_session: AsyncSession, admin: Agent) -> dict[str, str]:
    return await auth_headers(db_session, admin)


async def _create(client: AsyncClient, headers: dict[str, str], **fields: Any) -> int:
    response = await client.post("/api/v1/tickets", json={**NEW_TICKET, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    ticket_id: int = response.json()["id"]
    return ticket_id


async def _email_ticket(
    client: AsyncClient, db_session: AsyncSession, headers: dict[str, str]
) -> int:
    inbox = Inbox(name="Mail", channel="email", settings={})
    db_session.add(inbox)
    await db_session.flush()
    ticket_id = await _create(client, headers)
    ticket = await db_session.get(Ticket, ticket_id)
    assert ticket is not None
    ticket.inbox_id, ticket.channel = inbox.id, "email"  # as if it had come in by mail
    await db_session.flush()
    return ticket_id


async def test_create_replays_from_nothing(client: AsyncClient, headers: dict[str, str]) -> None:
    ticket_id = await _create(client, headers, tags=["vip"], priority="high")

    events = await assert_events_replay(client, {**EMPTY, "id": ticket_id}, headers)

    assert [e["type"] for e in events] == ["ticket.created", "message.created"]
    assert events[0]["actor"]["type"] == "agent"


async def test_field_changes_replay(
    client: AsyncClient, headers: dict[str, str], db_session: AsyncSession
) -> None:
    team = await make_team(db_session)
    ticket_id = await _create(client, headers)
    before = await read_state(client, ticket_id, headers)

    for change in (
        {"status": "pending"},
        {"priority": "urgent", "tags": ["outage", "vip"]},
        {"team_id": team.id, "assignee_id": None, "custom_fields": {"order": "A-1"}},
        {"status": "solved"},
        {"status": "open"},
        {"priority": "urgent"},  # no change: no event
    ):
        response = await client.patch(f"/api/v1/tickets/{ticket_id}", json=change, headers=headers)
        assert response.is_success, response.text

    events = await assert_events_replay(client, before, headers)
    assert [e["type"] for e in events] == ["ticket.updated"] * 5
    assert events[3]["data"]["changes"]["status"] == {"from": "pending", "to": "solved"}
    assert events[3]["data"]["changes"]["solved_at"]["to"] is not None


async def test_first_reply_opens_the_ticket_with_an_event_and_an_audit_row(
    client: AsyncClient, headers: dict[str, str], admin: Agent, db_session: AsyncSession
) -> None:
    ticket_id = await _create(client, headers)
    before = await read_state(client, ticket_id, headers)

    note = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages",
        json={"body": "hm", "internal": True},
        headers=headers,
    )
    reply = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages", json={"body": "On it"}, headers=headers
    )
    assert note.status_code == reply.status_code == 201

    events = await assert_events_replay(client, before, headers)
    assert [e["type"] for e in events] == ["message.created", "message.created", "ticket.updated"]
    changes = events[2]["data"]["changes"]
    assert changes["status"] == {"from": "new", "to": "open"}
    assert changes["first_responded_at"]["to"] is not None
    audited = (
        await db_session.execute(
            select(AuditLog.action, AuditLog.after).where(
                AuditLog.entity_id == ticket_id, AuditLog.actor_id == admin.id
            )
        )
    ).all()
    assert ("ticket.update", {"status": "open"}) in audited


async def test_a_customer_writing_again_reopens_a_pending_ticket(
    client: AsyncClient,
    headers: dict[str, str],
    db_session: AsyncSession,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    ticket_id = await _email_ticket(client, db_session, headers)
    await client.patch(f"/api/v1/tickets/{ticket_id}", json={"status": "pending"}, headers=headers)
    ticket = await db_session.get(Ticket, ticket_id)
    assert ticket is not None
    before = await read_state(client, ticket_id, headers)

    await ingest(
        db_session,
        InboundMessage(
            channel="email",
            inbox_id=ticket.inbox_id,
            sender=(SenderIdentity("email", "pat@customer.test"),),
            external_id="<again@customer.test>",
            text="Still warm",
            thread=ThreadHints(ticket_number=ticket.number),
        ),
        store=AttachmentStore(settings.storage),
        now=clock(),
    )

    events = await assert_events_replay(client, before, headers)
    assert [e["type"] for e in events] == ["message.created", "ticket.updated"]
    assert events[1]["actor"]["type"] == "contact"
    assert events[1]["data"]["changes"]["status"] == {"from": "pending", "to": "open"}


async def test_delivery_states_and_system_replies_replay(
    client: AsyncClient, headers: dict[str, str], db_session: AsyncSession, clock: FrozenClock
) -> None:
    ticket_id = await _email_ticket(client, db_session, headers)
    before = await read_state(client, ticket_id, headers)
    reply = (
        await client.post(
            f"/api/v1/tickets/{ticket_id}/messages", json={"body": "Hi"}, headers=headers
        )
    ).json()
    assert reply["status"] == "queued"
    ticket = await db_session.get(Ticket, ticket_id)
    assert ticket is not None
    await do_add_system_reply(db_session, ticket, body="We got it", now=clock())
    await do_record_delivery(db_session, message_id=reply["id"], status="sent", now=clock())
    await do_record_delivery(
        db_session, message_id=reply["id"], status="sent", now=clock()
    )  # no-op
    await do_record_delivery(
        db_session, message_id=reply["id"], status="failed", failure_reason="550", now=clock()
    )

    events = await assert_events_replay(client, before, headers)
    assert [e["type"] for e in events] == [
        "message.created",
        "ticket.updated",
        "message.created",
        "message.status_changed",
        "message.status_changed",
    ]
    assert events[2]["actor"]["type"] == "system"


async def test_bulk_update_replays_per_ticket(client: AsyncClient, headers: dict[str, str]) -> None:
    ids = [await _create(client, headers) for _ in range(2)]
    befores = [await read_state(client, i, headers) for i in ids]

    response = await client.post(
        "/api/v1/tickets/bulk",
        json={"ids": ids, "changes": {"priority": "low", "add_tags": ["billing"]}},
        headers=headers,
    )
    assert response.is_success, response.text

    for before in befores:
        events = await assert_events_replay(client, before, headers)
        assert [e["type"] for e in events] == ["ticket.updated"]


async def test_merge_replays_on_both_tickets(client: AsyncClient, headers: dict[str, str]) -> None:
    source_id = await _create(client, headers, tags=["a"])
    into_id = await _create(client, headers, tags=["b"])
    await client.post(
        f"/api/v1/tickets/{source_id}/messages",
        json={"body": "x", "internal": True},
        headers=headers,
    )
    source_before = await read_state(client, source_id, headers)
    into_before = await read_state(client, into_id, headers)

    response = await client.post(
        f"/api/v1/tickets/{source_id}/merge", json={"into_id": into_id}, headers=headers
    )
    assert response.is_success, response.text

    source_events = await assert_events_replay(client, source_before, headers)
    into_events = await assert_events_replay(client, into_before, headers)
    assert [e["type"] for e in source_events] == ["ticket.merged"]
    assert source_events[0]["data"]["changes"]["merged_into_id"] == {"from": None, "to": into_id}
    assert [e["type"] for e in into_events] == ["message.moved", "message.moved", "ticket.merged"]
    assert all(e["data"]["moved_from"] == source_id for e in into_events[:2])


async def test_contact_merge_moves_tickets_with_events(
    client: AsyncClient, headers: dict[str, str]
) -> None:
    mine = await _create(client, headers)
    other = await _create(client, headers, contact={"email": "pat@home.test"})
    other_ticket = (await client.get(f"/api/v1/tickets/{other}", headers=headers)).json()
    target = (await client.get(f"/api/v1/tickets/{mine}", headers=headers)).json()["contact_id"]
    before = await read_state(client, other, headers)

    response = await client.post(
        f"/api/v1/contacts/{other_ticket['contact_id']}/merge",
        json={"into_id": target},
        headers=headers,
    )
    assert response.is_success, response.text

    events = await assert_events_replay(client, before, headers)
    assert [e["type"] for e in events] == ["ticket.updated"]
    assert events[0]["data"]["changes"]["contact_id"]["to"] == target


async def test_events_are_in_the_outbox_too_and_paged(
    client: AsyncClient, headers: dict[str, str], db_session: AsyncSession
) -> None:
    ticket_id = await _create(client, headers)
    await client.patch(f"/api/v1/tickets/{ticket_id}", json={"priority": "low"}, headers=headers)

    outbox = (
        await db_session.execute(
            select(OutboxEvent.seq, OutboxEvent.topic)
            .where(OutboxEvent.ticket_id == ticket_id)
            .order_by(OutboxEvent.seq)
        )
    ).all()
    timeline = (
        await db_session.execute(
            select(TicketEvent.seq, TicketEvent.type)
            .where(TicketEvent.ticket_id == ticket_id)
            .order_by(TicketEvent.seq)
        )
    ).all()
    assert (
        outbox == timeline == [(1, "ticket.created"), (2, "message.created"), (3, "ticket.updated")]
    )
    page = (
        await client.get(f"/api/v1/tickets/{ticket_id}/events?since=1&limit=1", headers=headers)
    ).json()
    assert [e["seq"] for e in page["items"]] == [2]
    assert page["next_since"] == 2
    assert set(page["items"][0]) == {"seq", "type", "at", "actor", "data"}


async def test_events_need_the_same_permission_as_the_ticket(
    client: AsyncClient, headers: dict[str, str], db_session: AsyncSession
) -> None:
    ticket_id = await _create(client, headers)
    outsider = await auth_headers(db_session, await make_agent(db_session, role="agent"))

    response = await client.get(f"/api/v1/tickets/{ticket_id}/events", headers=outsider)
    assert response.status_code == 404
    bad = await client.get(f"/api/v1/tickets/{ticket_id}/events?since=-1", headers=headers)
    assert bad.status_code in {400, 422}


async def test_hooks_run_for_changes_and_messages(
    client: AsyncClient, headers: dict[str, str], sessionmaker: Any
) -> None:
    seen: list[tuple[str, int]] = []

    async def on_change(session: AsyncSession, change: TicketChanged) -> None:
        seen.append((change.event_type, change.seq))
        # Hooks run in the transaction, after the change is written.
        stored = await session.scalar(
            select(func.count()).where(
                TicketEvent.ticket_id == change.ticket.id, TicketEvent.seq == change.seq
            )
        )
        assert stored == 1

    async def on_message(session: AsyncSession, appended: MessageAppended) -> None:
        seen.append(("message", appended.seq))

    install_hooks(sessionmaker, LifecycleHooks([on_change], [on_message]))
    ticket_id = await _create(client, headers)
    await client.patch(f"/api/v1/tickets/{ticket_id}", json={"status": "pending"}, headers=headers)

    assert seen == [("ticket.created", 1), ("message", 2), ("ticket.updated", 3)]


def test_apply_events_refuses_a_gap() -> None:
    with pytest.raises(AssertionError, match="without gaps"):
        apply_events({**EMPTY, "id": 1}, [{"seq": 2, "type": "ticket.updated", "data": {}}])
