from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import FrozenClock
from tests.factories.agents import PASSWORD, auth_headers, make_agent


async def test_login_returns_a_bearer_token_that_authenticates(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    agent = await make_agent(db_session, email="ada@example.test")

    response = await client.post(
        "/api/v1/auth/login", json={"email": "Ada@Example.test", "password": PASSWORD}
    )

    assert response.status_code == 200, response.text
    assert response.json()["expires_at"]
    token = response.json()["token"]
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["id"] == agent.id


async def test_wrong_password_is_401_and_repeated_failures_are_throttled(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    await make_agent(db_session, email="bob@example.test")
    for _ in range(5):
        response = await client.post(
            "/api/v1/auth/login", json={"email": "bob@example.test", "password": "wrong-password"}
        )
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")

    blocked = await client.post(
        "/api/v1/auth/login", json={"email": "bob@example.test", "password": PASSWORD}
    )

    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0


async def test_expired_token_is_rejected(
    client: AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    await make_agent(db_session, email="cy@example.test")
    login = await client.post(
        "/api/v1/auth/login", json={"email": "cy@example.test", "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    clock.advance(days=15)

    response = await client.get("/api/v1/auth/me", headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


async def test_read_only_token_cannot_write(client: AsyncClient, db_session: AsyncSession) -> None:
    agent = await make_agent(db_session)
    headers = await auth_headers(db_session, agent, scopes=("read",))

    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    response = await client.post("/api/v1/auth/tokens", json={"name": "x"}, headers=headers)

    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


async def test_personal_tokens_are_listed_without_values_and_revocable(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    agent = await make_agent(db_session)
    headers = await auth_headers(db_session, agent)
    created = await client.post(
        "/api/v1/auth/tokens", json={"name": "zapier", "scopes": ["read"]}, headers=headers
    )
    assert created.status_code == 201, created.text
    new_token = created.json()["token"]

    listed = await client.get("/api/v1/auth/tokens", headers=headers)
    assert "zapier" in [t["name"] for t in listed.json()]
    assert all("token" not in t for t in listed.json())

    revoked = await client.delete(f"/api/v1/auth/tokens/{created.json()['id']}", headers=headers)
    assert revoked.status_code == 204
    after = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {new_token}"})
    assert after.status_code == 401


async def test_cookie_session_requires_csrf_header_for_writes(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    await make_agent(db_session, email="dee@example.test")
    response = await client.post(
        "/api/v1/auth/session", json={"email": "dee@example.test", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert "httponly" in response.headers["set-cookie"].lower()
    csrf = response.json()["csrf_token"]

    assert (await client.get("/api/v1/auth/me")).status_code == 200
    without = await client.post("/api/v1/auth/tokens", json={"name": "x"})
    assert without.status_code == 403
    assert without.json()["code"] == "csrf_failed"
    with_header = await client.post(
        "/api/v1/auth/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf}
    )
    assert with_header.status_code == 201


async def test_unknown_field_and_bad_type_name_the_field(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"email": "a@b.c", "password": 5, "extra": 1}
    )

    assert response.status_code == 422
    body = response.json()
    assert body["status"] == 422
    assert {e["field"] for e in body["errors"]} & {"password", "extra"}
