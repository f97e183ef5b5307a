"""Personal API tokens expire; admins see and revoke any agent's sessions and tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditLog
from tests.app.auth.conftest import ClientFactory
from tests.conftest import FrozenClock
from tests.factories.agents import PASSWORD, auth_headers, make_agent


async def test_a_personal_token_expires_after_365_days_by_default(
    client: AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session))

    created = await client.post("/api/v1/auth/tokens", json={"name": "zap"}, headers=headers)

    assert created.status_code == 201, created.text
    expires = datetime.fromisoformat(created.json()["expires_at"])
    assert expires == clock.now + timedelta(days=365)
    token = {"Authorization": f"Bearer {created.json()['token']}"}
    clock.advance(days=364)
    assert (await client.get("/api/v1/auth/me", headers=token)).status_code == 200
    clock.advance(days=1)
    expired = await client.get("/api/v1/auth/me", headers=token)
    assert expired.status_code == 401
    assert expired.json()["code"] == "token_expired"


async def test_an_expiry_beyond_the_admins_maximum_is_a_422_naming_the_field(
    db_session: AsyncSession, client_with: ClientFactory, clock: FrozenClock
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session))
    async with client_with(token_max_days=30) as client:
        default = await client.post("/api/v1/auth/tokens", json={"name": "a"}, headers=headers)
        longest = await client.post(
            "/api/v1/auth/tokens", json={"name": "b", "expires_in_days": 30}, headers=headers
        )
        too_long = await client.post(
            "/api/v1/auth/tokens", json={"name": "c", "expires_in_days": 31}, headers=headers
        )
        never = await client.post(
            "/api/v1/auth/tokens", json={"name": "d", "expires_in_days": 10**9}, headers=headers
        )

    # With a maximum under a year, the default shrinks to it.
    assert datetime.fromisoformat(default.json()["expires_at"]) == clock.now + timedelta(days=30)
    assert longest.status_code == 201
    for response in (too_long, never):
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["expires_in_days"]
    assert "RELAYDESK_TOKEN_MAX_DAYS" in too_long.json()["detail"]


async def test_admin_lists_an_agents_sessions_and_tokens_without_their_values(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    agent = await make_agent(db_session)
    await auth_headers(db_session, agent)
    credentials = {"email": agent.email, "password": PASSWORD}
    login = await client.post("/api/v1/auth/login", json=credentials)
    await client.post("/api/v1/auth/session", json=credentials)
    client.cookies.clear()
    await client.post(
        "/api/v1/auth/logout", headers={"Authorization": f"Bearer {login.json()['token']}"}
    )

    listed = await client.get(f"/api/v1/agents/{agent.id}/tokens", headers=admin)

    assert listed.status_code == 200, listed.text
    assert sorted(t["kind"] for t in listed.json()) == ["cookie", "personal"]  # not the revoked
    assert all("token" not in t and t["expires_at"] for t in listed.json())
    missing = await client.get("/api/v1/agents/999999/tokens", headers=admin)
    assert missing.status_code == 404


async def test_admin_revokes_all_of_an_agents_sessions_and_tokens(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await make_agent(db_session, role="admin")
    admin_headers = await auth_headers(db_session, admin)
    agent = await make_agent(db_session)
    token = await auth_headers(db_session, agent)
    login = await client.post(
        "/api/v1/auth/login", json={"email": agent.email, "password": PASSWORD}
    )
    session_token = {"Authorization": f"Bearer {login.json()['token']}"}
    bystander = await auth_headers(db_session, await make_agent(db_session))

    revoked = await client.delete(f"/api/v1/agents/{agent.id}/tokens", headers=admin_headers)

    assert revoked.status_code == 204, revoked.text
    for headers in (token, session_token):
        assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=bystander)).status_code == 200
    listed = await client.get(f"/api/v1/agents/{agent.id}/tokens", headers=admin_headers)
    assert listed.json() == []
    audit = await db_session.scalar(
        select(AuditLog).where(AuditLog.action == "agent.revoke_tokens")
    )
    assert audit is not None
    assert (audit.actor_id, audit.entity_id, audit.after) == (
        admin.id,
        agent.id,
        {"tokens_revoked": 2},
    )


async def test_admin_revokes_one_token_of_an_agent(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    agent = await make_agent(db_session)
    other = await make_agent(db_session)
    kept = await auth_headers(db_session, agent)
    leaked = await auth_headers(db_session, agent)
    leaked_id = (await client.get("/api/v1/auth/tokens", headers=leaked)).json()[-1]["id"]

    wrong_agent = await client.delete(
        f"/api/v1/agents/{other.id}/tokens/{leaked_id}", headers=admin
    )
    revoked = await client.delete(f"/api/v1/agents/{agent.id}/tokens/{leaked_id}", headers=admin)
    again = await client.delete(f"/api/v1/agents/{agent.id}/tokens/{leaked_id}", headers=admin)

    assert wrong_agent.status_code == 404
    assert revoked.status_code == 204
    assert again.status_code == 404
    assert (await client.get("/api/v1/auth/me", headers=leaked)).status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=kept)).status_code == 200
