from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditLog
from app.contacts.models import Contact
from app.tickets.models import Ticket
from tests.factories.agents import auth_headers, make_agent
from tests.factories.contacts import make_account, make_contact


async def _headers(session: AsyncSession, role: str = "agent") -> dict[str, str]:
    return await auth_headers(session, await make_agent(session, role=role))


async def test_create_read_update_an_account(client: AsyncClient, db_session: AsyncSession) -> None:
    agent = await make_agent(db_session)
    headers = await auth_headers(db_session, agent)

    created = await client.post(
        "/api/v1/accounts",
        json={
            "name": "Acme Corp",
            "domains": ["Acme.test", "acme.test", "acme-mail.test"],
            "tier": "enterprise",
            "custom_fields": {"crm_id": "A-1", "region": "eu"},
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    account = created.json()
    assert account["domains"] == ["acme.test", "acme-mail.test"]
    fetched = await client.get(f"/api/v1/accounts/{account['id']}", headers=headers)
    assert fetched.json() == account

    updated = await client.patch(
        f"/api/v1/accounts/{account['id']}",
        json={"name": "Acme Inc", "tier": None, "custom_fields": {"region": None, "seats": 40}},
        headers=headers,
    )

    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert (body["name"], body["tier"]) == ("Acme Inc", None)
    assert body["domains"] == ["acme.test", "acme-mail.test"]
    assert body["custom_fields"] == {"crm_id": "A-1", "seats": 40}
    audit = (
        await db_session.scalars(
            select(AuditLog).where(
                AuditLog.entity_id == account["id"], AuditLog.action == "account.updated"
            )
        )
    ).one()
    assert audit.actor_id == agent.id
    assert audit.before == {
        "name": "Acme Corp",
        "tier": "enterprise",
        "custom_fields": {"crm_id": "A-1", "region": "eu"},
    }
    assert audit.after["name"] == "Acme Inc"


async def test_list_searches_name_fragment_or_exact_domain(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _headers(db_session)
    globex = await make_account(db_session, name="Globex Corporation", domains=["globex.test"])
    initech = await make_account(db_session, name="Initech", domains=["initech.test"])

    async def ids(q: str) -> list[int]:
        response = await client.get("/api/v1/accounts", params={"q": q}, headers=headers)
        assert response.status_code == 200, response.text
        return [a["id"] for a in response.json()["items"]]

    assert await ids("globex corp") == [globex.id]
    assert await ids("INITECH.test") == [initech.id]
    assert await ids("initech.tes") == []
    assert await ids("_") == []


async def test_account_pages_cover_every_account_once(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _headers(db_session)
    made = [(await make_account(db_session, name=f"Paged {n}")).id for n in range(5)]

    seen: list[int] = []
    params: dict[str, Any] = {"q": "Paged", "limit": 2}
    while True:
        page = (await client.get("/api/v1/accounts", params=params, headers=headers)).json()
        seen += [a["id"] for a in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]

    assert seen == sorted(made, reverse=True)


async def test_a_domain_belongs_to_one_account(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _headers(db_session)
    owner = await make_account(db_session, domains=["taken.test"])
    other = await make_account(db_session, domains=["other.test"])

    created = await client.post(
        "/api/v1/accounts", json={"name": "Copycat", "domains": ["TAKEN.test"]}, headers=headers
    )
    patched = await client.patch(
        f"/api/v1/accounts/{other.id}", json={"domains": ["taken.test"]}, headers=headers
    )
    kept = await client.patch(
        f"/api/v1/accounts/{owner.id}",
        json={"domains": ["taken.test", "more.test"]},
        headers=headers,
    )

    for response in (created, patched):
        assert response.status_code == 409
        assert response.json()["detail"].startswith("domains:")
        assert str(owner.id) in response.json()["detail"]
    assert kept.status_code == 200, kept.text


async def test_account_validation_errors_name_the_field(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _headers(db_session)
    account = await make_account(db_session)

    for method, url, body, field in [
        ("post", "/api/v1/accounts", {"domains": []}, "name"),
        ("post", "/api/v1/accounts", {"name": ""}, "name"),
        ("post", "/api/v1/accounts", {"name": "A", "domains": ["not a domain"]}, "domains"),
        ("post", "/api/v1/accounts", {"name": "A", "website": "x"}, "website"),
        ("patch", f"/api/v1/accounts/{account.id}", {"tier": ""}, "tier"),
        ("patch", f"/api/v1/accounts/{account.id}", {"name": None}, "name"),
        ("post", "/api/v1/accounts", {"name": "A", "custom_fields": {"k\x00": 1}}, "custom_fields"),
    ]:
        response = await client.request(method, url, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        fields = {e["field"] for e in response.json()["errors"]}
        # A missing field is reported on the body ("data") with its name in the message.
        named = any(f.startswith(field) for f in fields) or f"`{field}`" in response.text
        assert named, (body, response.json())


async def test_delete_needs_a_supervisor_and_keeps_the_contacts(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    agent_headers = await _headers(db_session, role="agent")
    supervisor_headers = await _headers(db_session, role="supervisor")
    account = await make_account(db_session, domains=["leaving.test"])
    contact = await make_contact(db_session, email="sam@leaving.test")
    assert contact.account_id == account.id
    ticket = Ticket(subject="Hi", channel="api", contact_id=contact.id, account_id=account.id)
    db_session.add(ticket)
    await db_session.flush()

    forbidden = await client.delete(f"/api/v1/accounts/{account.id}", headers=agent_headers)
    deleted = await client.delete(f"/api/v1/accounts/{account.id}", headers=supervisor_headers)

    assert forbidden.status_code == 403
    assert deleted.status_code == 204, deleted.text
    assert (
        await client.get(f"/api/v1/accounts/{account.id}", headers=agent_headers)
    ).status_code == 404
    kept = await client.get(f"/api/v1/contacts/{contact.id}", headers=agent_headers)
    assert kept.status_code == 200
    assert kept.json()["account_id"] is None
    await db_session.refresh(ticket)
    assert ticket.account_id is None


async def test_account_contacts_are_paginated_and_exclude_merged_ones(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _headers(db_session, role="supervisor")
    account = await make_account(db_session)
    members = [(await make_contact(db_session, account_id=account.id)).id for _ in range(3)]
    await make_contact(db_session)
    merged = await client.post(
        f"/api/v1/contacts/{members[0]}/merge", json={"into_id": members[1]}, headers=headers
    )
    assert merged.status_code == 200, merged.text

    first = await client.get(
        f"/api/v1/accounts/{account.id}/contacts", params={"limit": 1}, headers=headers
    )
    second = await client.get(
        f"/api/v1/accounts/{account.id}/contacts",
        params={"limit": 1, "cursor": first.json()["next_cursor"]},
        headers=headers,
    )

    assert [c["id"] for c in first.json()["items"]] == [members[2]]
    assert [c["id"] for c in second.json()["items"]] == [members[1]]
    assert second.json()["next_cursor"] is None
    assert (await db_session.get(Contact, members[0])) is not None


async def test_unknown_account_is_404(client: AsyncClient, db_session: AsyncSession) -> None:
    headers = await _headers(db_session, role="admin")

    for url in ("/api/v1/accounts/987654321", f"/api/v1/accounts/{2**70}"):
        responses = [
            await client.get(url, headers=headers),
            await client.patch(url, json={"name": "x"}, headers=headers),
            await client.delete(url, headers=headers),
            await client.get(f"{url}/contacts", headers=headers),
        ]

        assert [r.status_code for r in responses] == [404, 404, 404, 404]
