from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.factories.agents import auth_headers, make_agent
from tests.factories.contacts import make_account, make_contact


async def _headers(session: AsyncSession) -> dict[str, str]:
    return await auth_headers(session, await make_agent(session))


async def _ids(client: AsyncClient, headers: dict[str, str], **params: Any) -> list[int]:
    response = await client.get("/api/v1/contacts", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


async def test_search_by_email_ignores_case(client: AsyncClient, db_session: AsyncSession) -> None:
    headers = await _headers(db_session)
    ada = await make_contact(db_session, email="ada.search@example.test", name="Ada")
    await make_contact(db_session, email="ada.other@example.test", name="Ada")

    assert await _ids(client, headers, q="  ADA.Search@Example.TEST ") == [ada.id]
    # An email is matched exactly, not as a fragment.
    assert await _ids(client, headers, q="search@example.test") == []


async def test_search_by_phone_ignores_formatting(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _headers(db_session)
    bob = await make_contact(db_session, phone="+1 (555) 010-7788")
    await make_contact(db_session, phone="+1 555 010 7789")

    assert await _ids(client, headers, q="1-555-010-7788") == [bob.id]
    assert await _ids(client, headers, q="+15550107788") == [bob.id]


async def test_search_by_phone_finds_whatsapp_identities(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _headers(db_session)
    created = await client.post(
        "/api/v1/contacts",
        json={"identities": [{"kind": "whatsapp", "value": "4915112345678"}]},
        headers=headers,
    )

    assert await _ids(client, headers, q="+49 151 1234 5678") == [created.json()["id"]]


async def test_search_by_name_fragment_and_filter_by_account(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _headers(db_session)
    account = await make_account(db_session)
    grace = await make_contact(db_session, name="Grace Hopper", account_id=account.id)
    hopper = await make_contact(db_session, name="Edward Hopperton")
    await make_contact(db_session, name="Alan Turing")

    assert await _ids(client, headers, q="hopP") == [hopper.id, grace.id]
    assert await _ids(client, headers, q="hopp", account_id=account.id) == [grace.id]
    assert await _ids(client, headers, account_id=account.id) == [grace.id]
    # The user's wildcards are literal characters.
    assert await _ids(client, headers, q="%") == []


async def test_pages_cover_every_contact_once(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _headers(db_session)
    account = await make_account(db_session)
    made = [(await make_contact(db_session, account_id=account.id)).id for _ in range(7)]

    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3, "account_id": account.id}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/api/v1/contacts", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [c["id"] for c in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert seen == sorted(made, reverse=True)


async def test_bad_list_parameters_name_the_field(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _headers(db_session)

    for params, field in [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"q": "x" * 201}, "q"),
        ({"account_id": "acme"}, "account_id"),
        ({"account_id": 2**70}, "account_id"),
        ({"q": "ada\x00"}, "q"),
    ]:
        response = await client.get("/api/v1/contacts", params=params, headers=headers)
        assert 400 <= response.status_code < 500, (params, response.text)
        fields = {e["field"] for e in response.json().get("errors", [])}
        assert field in fields or field in response.json()["detail"], (params, response.json())


async def test_listing_contacts_runs_a_constant_number_of_queries(
    client: AsyncClient, db_session: AsyncSession, engine: AsyncEngine
) -> None:
    headers = await _headers(db_session)
    account = await make_account(db_session)
    for n in range(20):
        await make_contact(db_session, phone=f"+1 555 0100 {n:03d}", account_id=account.id)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    async def list_with(limit: int) -> int:
        statements.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            response = await client.get(
                "/api/v1/contacts",
                params={"limit": limit, "account_id": account.id},
                headers=headers,
            )
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        assert response.status_code == 200
        assert len(response.json()["items"]) == limit
        assert all(len(c["identities"]) == 2 for c in response.json()["items"])
        return len(statements)

    await list_with(1)  # the token's first use writes last_used_at: not part of the list
    twenty = await list_with(20)
    two = await list_with(2)

    assert twenty == two, statements
    # savepoint, token, agent, contacts, identities, release
    assert twenty <= 6, statements
