from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditLog
from app.contacts.identities import Identity, resolve_contact
from app.contacts.models import Contact, ContactIdentity
from app.messages.models import Message
from app.outbox.models import OutboxEvent
from app.outbox.service import CONTACT_MERGED
from app.tickets.models import Ticket
from tests.factories.agents import auth_headers, make_agent
from tests.factories.contacts import make_account, make_contact


async def _ticket_with_message(
    session: AsyncSession, contact: Contact, *, account_id: int | None = None
) -> tuple[Ticket, Message]:
    ticket = Ticket(subject="Help", channel="api", contact_id=contact.id, account_id=account_id)
    session.add(ticket)
    await session.flush()
    message = Message(
        ticket_id=ticket.id,
        seq=1,
        direction="inbound",
        author_type="contact",
        author_contact_id=contact.id,
        status="received",
        body_text="It is broken",
    )
    session.add(message)
    await session.flush()
    return ticket, message


async def test_merge_moves_everything_and_leaves_the_source_empty(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    supervisor = await make_agent(db_session, role="supervisor")
    headers = await auth_headers(db_session, supervisor)
    account = await make_account(db_session)
    other_account = await make_account(db_session)
    source = await make_contact(
        db_session, email="old@example.test", name="Old Name", phone="+33 1 23 45 67 89"
    )
    target = await make_contact(db_session, email="new@example.test", account_id=account.id)
    source.locale = "fr"
    source.custom_fields = {"plan": "gold", "tier": "b"}
    target.custom_fields = {"tier": "a"}
    await db_session.flush()
    unlinked, message = await _ticket_with_message(db_session, source)
    linked, _ = await _ticket_with_message(db_session, source, account_id=other_account.id)
    identity_ids = {i.id for i in source.identities}

    response = await client.post(
        f"/api/v1/contacts/{source.id}/merge", json={"into_id": target.id}, headers=headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == target.id
    assert body["emails"] == ["new@example.test", "old@example.test"]
    assert (body["name"], body["phone"], body["locale"]) == ("Old Name", "+33123456789", "fr")
    assert body["account_id"] == account.id
    assert body["custom_fields"] == {"plan": "gold", "tier": "a"}
    owners = (
        await db_session.scalars(
            select(ContactIdentity.contact_id).where(ContactIdentity.id.in_(identity_ids))
        )
    ).all()
    assert set(owners) == {target.id}
    assert len(owners) == len(identity_ids)
    tickets = {
        t.id: t
        for t in await db_session.scalars(
            select(Ticket)
            .where(Ticket.id.in_([unlinked.id, linked.id]))
            .execution_options(populate_existing=True)
        )
    }
    assert {t.contact_id for t in tickets.values()} == {target.id}
    assert tickets[unlinked.id].account_id == account.id
    assert tickets[linked.id].account_id == other_account.id
    moved = await db_session.scalar(
        select(Message).where(Message.id == message.id).execution_options(populate_existing=True)
    )
    assert moved is not None
    assert moved.author_contact_id == target.id
    assert moved.body_text == "It is broken"

    merged = await client.get(f"/api/v1/contacts/{source.id}", headers=headers)
    assert merged.status_code == 200
    assert merged.json()["merged_into_id"] == target.id
    assert merged.json()["identities"] == []
    listed = await client.get("/api/v1/contacts", params={"q": "Old Name"}, headers=headers)
    assert [c["id"] for c in listed.json()["items"]] == [target.id]
    by_email = await client.get(
        "/api/v1/contacts", params={"q": "old@example.test"}, headers=headers
    )
    assert [c["id"] for c in by_email.json()["items"]] == [target.id]

    audit = (
        await db_session.scalars(select(AuditLog).where(AuditLog.action == "contact.merged"))
    ).one()
    assert (audit.actor_id, audit.entity_id) == (supervisor.id, target.id)
    assert audit.after["merged_contact_id"] == source.id
    assert audit.after["ticket_ids"] == sorted([unlinked.id, linked.id])
    assert audit.after["message_count"] == 2
    event = (
        await db_session.scalars(select(OutboxEvent).where(OutboxEvent.topic == CONTACT_MERGED))
    ).one()
    assert event.payload["source_id"] == source.id
    assert event.payload["target_id"] == target.id


async def test_a_merged_contact_refuses_changes_and_new_mail_reaches_the_target(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    source = await make_contact(db_session, email="gone@example.test")
    target = await make_contact(db_session)
    await client.post(
        f"/api/v1/contacts/{source.id}/merge", json={"into_id": target.id}, headers=headers
    )

    patched = await client.patch(
        f"/api/v1/contacts/{source.id}", json={"name": "x"}, headers=headers
    )
    resolved, created = await resolve_contact(
        db_session, [Identity.of("email", "GONE@example.test")]
    )

    assert patched.status_code == 409
    assert patched.json()["code"] == "contact_merged"
    assert (resolved.id, created) == (target.id, False)


async def test_merge_into_itself_or_a_merged_contact_is_refused(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="supervisor"))
    a = await make_contact(db_session)
    b = await make_contact(db_session)
    c = await make_contact(db_session)
    first = await client.post(
        f"/api/v1/contacts/{a.id}/merge", json={"into_id": b.id}, headers=headers
    )
    assert first.status_code == 200, first.text

    itself = await client.post(
        f"/api/v1/contacts/{c.id}/merge", json={"into_id": c.id}, headers=headers
    )
    into_merged = await client.post(
        f"/api/v1/contacts/{c.id}/merge", json={"into_id": a.id}, headers=headers
    )
    merged_again = await client.post(
        f"/api/v1/contacts/{a.id}/merge", json={"into_id": c.id}, headers=headers
    )
    into_unknown = await client.post(
        f"/api/v1/contacts/{c.id}/merge", json={"into_id": 987654321}, headers=headers
    )
    no_target = await client.post(f"/api/v1/contacts/{c.id}/merge", json={}, headers=headers)

    assert itself.status_code == 422
    assert itself.json()["errors"][0]["field"] == "into_id"
    assert into_merged.status_code == 409
    assert f"merged into contact {b.id}" in into_merged.json()["detail"]
    assert merged_again.status_code == 409
    assert into_unknown.status_code == 422
    assert into_unknown.json()["errors"][0]["field"] == "into_id"
    assert no_target.status_code == 422
    assert "into_id" in no_target.json()["detail"]


async def test_merging_a_target_onwards_repoints_earlier_merges(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="supervisor"))
    a = await make_contact(db_session)
    b = await make_contact(db_session)
    c = await make_contact(db_session)

    await client.post(f"/api/v1/contacts/{a.id}/merge", json={"into_id": b.id}, headers=headers)
    await client.post(f"/api/v1/contacts/{b.id}/merge", json={"into_id": c.id}, headers=headers)

    first = await client.get(f"/api/v1/contacts/{a.id}", headers=headers)
    assert first.json()["merged_into_id"] == c.id
    deleted = await client.delete(f"/api/v1/contacts/{c.id}", headers=headers)
    assert deleted.status_code == 204, deleted.text
    assert (await client.get(f"/api/v1/contacts/{a.id}", headers=headers)).status_code == 404


async def test_an_agent_may_not_merge_or_delete(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="agent"))
    a = await make_contact(db_session)
    b = await make_contact(db_session)

    merge = await client.post(
        f"/api/v1/contacts/{a.id}/merge", json={"into_id": b.id}, headers=headers
    )
    delete = await client.delete(f"/api/v1/contacts/{a.id}", headers=headers)

    assert merge.status_code == 403
    assert delete.status_code == 403
    assert (await client.get(f"/api/v1/contacts/{a.id}", headers=headers)).json()[
        "merged_into_id"
    ] is None
