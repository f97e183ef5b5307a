from __future__ import annotations

from typing import Any, get_args

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditLog
from app.contacts.models import Contact
from app.contacts.schemas import IdentityKind
from app.contacts.service import contacts as contacts_service
from app.inboxes.channels import IDENTITY_KINDS
from app.tickets.models import Ticket
from tests.factories.agents import auth_headers, make_agent
from tests.factories.contacts import make_account, make_contact


async def _headers(session: AsyncSession, role: str = "agent") -> dict[str, str]:
    return await auth_headers(session, await make_agent(session, role=role))


def _fields(response: Any) -> set[str]:
    return {e["field"] for e in response.json().get("errors", [])}


def test_identity_kinds_in_the_api_match_the_model() -> None:
    assert set(get_args(IdentityKind)) == set(IDENTITY_KINDS)


async def test_create_contact_turns_addresses_into_identities(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _headers(db_session)

    response = await client.post(
        "/api/v1/contacts",
        json={
            "name": "Ada Lovelace",
            "email": "Ada@Example.com",
            "phone": "+44 20 7946 0958",
            "locale": "en-GB",
            "time_zone": "Europe/London",
            "custom_fields": {"plan": "gold"},
            "identities": [
                {"kind": "email", "value": "ada.work@example.com"},
                {"kind": "telegram", "value": "ada_l"},
                {"kind": "email", "value": "ADA@example.com"},
            ],
        },
        headers=headers,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "ada@example.com"
    assert body["emails"] == ["ada@example.com", "ada.work@example.com"]
    assert body["phone"] == "+442079460958"
    assert sorted((i["kind"], i["value"]) for i in body["identities"]) == [
        ("email", "ada.work@example.com"),
        ("email", "ada@example.com"),
        ("phone", "+442079460958"),
        ("telegram", "ada_l"),
    ]
    assert body["merged_into_id"] is None
    fetched = await client.get(f"/api/v1/contacts/{body['id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.json() == body


async def test_account_is_linked_from_the_email_domain_unless_given(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _headers(db_session)
    acme = await make_account(db_session, domains=["acme.test"])

    linked = await client.post("/api/v1/contacts", json={"email": "bob@ACME.test"}, headers=headers)
    unlinked = await client.post(
        "/api/v1/contacts", json={"email": "cy@acme.test", "account_id": None}, headers=headers
    )

    assert linked.json()["account_id"] == acme.id
    assert unlinked.json()["account_id"] is None


async def test_an_address_owned_by_another_contact_is_409_naming_the_field(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _headers(db_session)
    owner = await make_contact(db_session, email="dee@example.test", phone="+1 555 010 2030")

    by_email = await client.post(
        "/api/v1/contacts", json={"email": "DEE@example.test"}, headers=headers
    )
    by_identity = await client.post(
        "/api/v1/contacts",
        json={"identities": [{"kind": "whatsapp", "value": "15550102030"}]},
        headers=headers,
    )
    other = await make_contact(db_session)
    by_patch = await client.patch(
        f"/api/v1/contacts/{other.id}", json={"phone": "(555) 010-2030 "}, headers=headers
    )

    assert by_email.status_code == 409
    assert by_email.json()["detail"].startswith("email:")
    assert str(owner.id) in by_email.json()["detail"]
    assert by_identity.status_code == 409
    assert by_identity.json()["detail"].startswith("identities[0].value:")
    # "+1 555…" and "(555)…" differ in digits: not the same number, so no conflict.
    assert by_patch.status_code == 200, by_patch.text
    again = await client.patch(
        f"/api/v1/contacts/{other.id}", json={"phone": "+1-555-010-2030"}, headers=headers
    )
    assert again.status_code == 409
    assert again.json()["detail"].startswith("phone:")


async def test_update_changes_fields_and_identities_and_is_audited(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    agent = await make_agent(db_session)
    headers = await auth_headers(db_session, agent)
    account = await make_account(db_session)
    created = await client.post(
        "/api/v1/contacts",
        json={
            "name": "Eve",
            "email": "eve@example.test",
            "identities": [{"kind": "email", "value": "eve2@example.test"}],
            "custom_fields": {"plan": "gold", "seats": 3},
        },
        headers=headers,
    )
    contact = created.json()
    primary = next(i for i in contact["identities"] if i["value"] == "eve@example.test")

    response = await client.patch(
        f"/api/v1/contacts/{contact['id']}",
        json={
            "name": "Eve Online",
            "locale": "fr",
            "time_zone": "Europe/Paris",
            "account_id": account.id,
            "custom_fields": {"seats": None, "vip": True},
            "add_identities": [{"kind": "instagram", "value": "eve.insta"}],
            "remove_identity_ids": [primary["id"]],
        },
        headers=headers,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Eve Online"
    assert (body["locale"], body["time_zone"], body["account_id"]) == (
        "fr",
        "Europe/Paris",
        account.id,
    )
    assert body["custom_fields"] == {"plan": "gold", "vip": True}
    # The primary email was removed: the remaining one takes its place.
    assert body["email"] == "eve2@example.test"
    assert body["emails"] == ["eve2@example.test"]
    assert {i["value"] for i in body["identities"]} == {"eve2@example.test", "eve.insta"}
    audit = (
        await db_session.scalars(
            select(AuditLog).where(
                AuditLog.entity_type == "contact",
                AuditLog.entity_id == contact["id"],
                AuditLog.action == "contact.updated",
            )
        )
    ).one()
    assert audit.actor_id == agent.id
    assert audit.before["name"] == "Eve"
    assert audit.after["name"] == "Eve Online"
    assert "email:eve@example.test" in audit.before["identities"]
    assert "email:eve@example.test" not in audit.after["identities"]


async def test_an_address_can_be_removed_and_re_added_in_one_call(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _headers(db_session)
    contact = await make_contact(db_session, email="fay@example.test")

    response = await client.patch(
        f"/api/v1/contacts/{contact.id}",
        json={
            "remove_identity_ids": [contact.identities[0].id],
            "add_identities": [{"kind": "email", "value": "FAY@example.test"}],
        },
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["emails"] == ["fay@example.test"]


async def test_validation_errors_name_the_field(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _headers(db_session)
    contact = await make_contact(db_session)
    stranger = await make_contact(db_session)
    url = f"/api/v1/contacts/{contact.id}"
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("post", {"email": "not-an-email"}, "email"),
        ("post", {"nickname": "x"}, "nickname"),
        ("post", {"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ("post", {"phone": "call me"}, "phone"),
        ("post", {"identities": [{"kind": "fax", "value": "1"}]}, "identities[0].kind"),
        ("post", {"identities": [{"kind": "email", "value": "nope"}]}, "identities[0].value"),
        ("post", {"account_id": 987654321}, "account_id"),
        ("post", {"name": ""}, "name"),
        ("post", {"locale": "en"}, "name"),
        ("post", {"name": "nul\x00"}, "name"),
        ("post", {"custom_fields": {"notes": ["ok", "nul\x00"]}}, "custom_fields"),
        ("patch", {"locale": "not a locale"}, "locale"),
        ("patch", {"email": None}, "email"),
        ("patch", {"remove_identity_ids": [stranger.identities[0].id]}, "remove_identity_ids"),
        (
            "patch",
            {"add_identities": [{"kind": "phone", "value": "--"}]},
            "add_identities[0].value",
        ),
    ]
    for method, body, field in cases:
        target = "/api/v1/contacts" if method == "post" else url
        if method == "post" and field != "name":
            body = {"name": "Probe", **body}
        response = await client.request(method, target, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert field in _fields(response), (body, response.json())


async def test_unknown_contact_is_404(client: AsyncClient, db_session: AsyncSession) -> None:
    headers = await _headers(db_session, role="supervisor")

    # The second id does not fit a BIGINT: still "not found", not a driver error.
    for url in ("/api/v1/contacts/987654321", f"/api/v1/contacts/{2**70}"):
        responses = [
            await client.get(url, headers=headers),
            await client.patch(url, json={"name": "x"}, headers=headers),
            await client.delete(url, headers=headers),
            await client.post(f"{url}/merge", json={"into_id": 1}, headers=headers),
        ]

        assert [r.status_code for r in responses] == [404, 404, 404, 404]
        assert all(r.json()["code"] == "not_found" for r in responses)


async def test_delete_needs_a_supervisor_and_a_contact_without_tickets(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    agent_headers = await _headers(db_session, role="agent")
    supervisor_headers = await _headers(db_session, role="supervisor")
    busy = await make_contact(db_session)
    idle = await make_contact(db_session)
    db_session.add(Ticket(subject="Help", channel="api", contact_id=busy.id))
    await db_session.flush()

    forbidden = await client.delete(f"/api/v1/contacts/{idle.id}", headers=agent_headers)
    refused = await client.delete(f"/api/v1/contacts/{busy.id}", headers=supervisor_headers)
    deleted = await client.delete(f"/api/v1/contacts/{idle.id}", headers=supervisor_headers)

    assert forbidden.status_code == 403
    assert refused.status_code == 409
    assert refused.json()["code"] == "contact_has_tickets"
    assert deleted.status_code == 204, deleted.text
    gone = await client.get(f"/api/v1/contacts/{idle.id}", headers=agent_headers)
    assert gone.status_code == 404
    assert await db_session.get(Contact, busy.id) is not None


async def test_requests_without_a_token_are_401(client: AsyncClient) -> None:
    assert (await client.get("/api/v1/contacts")).status_code == 401
    assert (await client.post("/api/v1/contacts", json={})).status_code == 401


async def test_an_address_race_lost_at_the_constraint_is_still_409_naming_the_field(
    client: AsyncClient, db_session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = await _headers(db_session)
    owner = await make_contact(db_session, email="race@example.test")
    real_check = contacts_service.check_addresses_free
    calls = 0

    async def first_check_misses(*args: Any, **kwargs: Any) -> None:
        nonlocal calls
        calls += 1
        if calls > 1:  # as if the owner committed between our check and our insert
            await real_check(*args, **kwargs)

    monkeypatch.setattr(contacts_service, "check_addresses_free", first_check_misses)

    response = await client.post(
        "/api/v1/contacts", json={"name": "Racer", "email": "race@example.test"}, headers=headers
    )

    assert response.status_code == 409, response.text
    assert (
        response.json()["detail"]
        == f"email: race@example.test already belongs to contact {owner.id}"
    )
