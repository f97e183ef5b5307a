"""Changing a password: one's own needs the current one; a new one signs out the rest."""

from __future__ import annotations

from httpx import AsyncClient, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.audit.models import AuditLog
from tests.factories.agents import PASSWORD, auth_headers, make_agent

NEW = "a brand new password"


async def sign_in(client: AsyncClient, agent: Agent, password: str = PASSWORD) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login", json={"email": agent.email, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def works(client: AsyncClient, headers: dict[str, str]) -> bool:
    response = await client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code in {200, 401}, response.text
    return response.status_code == 200


async def test_own_password_change_requires_the_current_password(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    agent = await make_agent(db_session)
    headers = await auth_headers(db_session, agent)

    missing = await client.patch(
        f"/api/v1/agents/{agent.id}", json={"password": NEW}, headers=headers
    )
    alone = await client.patch(
        f"/api/v1/agents/{agent.id}", json={"current_password": PASSWORD}, headers=headers
    )

    for response in (missing, alone):
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["current_password"]
    assert await works(client, await sign_in(client, agent))  # the old password still holds


async def test_a_wrong_current_password_counts_like_a_failed_sign_in(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    agent = await make_agent(db_session)
    headers = await auth_headers(db_session, agent)

    async def attempt(current: str) -> Response:
        body = {"password": NEW, "current_password": current}
        return await client.patch(f"/api/v1/agents/{agent.id}", json=body, headers=headers)

    wrong = [await attempt(f"guess {i}") for i in range(5)]
    locked = await attempt(PASSWORD)
    login = await client.post(
        "/api/v1/auth/login", json={"email": agent.email, "password": PASSWORD}
    )

    assert {r.status_code for r in wrong} == {422}
    assert wrong[0].json()["errors"] == [{"field": "current_password", "message": "is wrong"}]
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert login.status_code == 429  # the same account, the same count
    stored = await db_session.scalar(select(Agent.password_hash).where(Agent.id == agent.id))
    assert stored == agent.password_hash


async def test_own_change_signs_out_every_other_session_and_token_but_this_one(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    agent = await make_agent(db_session)
    current = await auth_headers(db_session, agent)
    integration = await auth_headers(db_session, agent)
    laptop = await sign_in(client, agent)
    bystander = await auth_headers(db_session, await make_agent(db_session))

    response = await client.patch(
        f"/api/v1/agents/{agent.id}",
        json={"password": NEW, "current_password": PASSWORD},
        headers=current,
    )

    assert response.status_code == 200, response.text
    assert await works(client, current)
    assert not await works(client, integration)
    assert not await works(client, laptop)
    assert await works(client, bystander)
    assert await works(client, await sign_in(client, agent, NEW))


async def test_admin_resets_another_agents_password_without_theirs_and_signs_them_out(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await make_agent(db_session, role="admin")
    admin_headers = await auth_headers(db_session, admin)
    agent = await make_agent(db_session)
    sessions = [await auth_headers(db_session, agent), await sign_in(client, agent)]

    response = await client.patch(
        f"/api/v1/agents/{agent.id}", json={"password": NEW}, headers=admin_headers
    )

    assert response.status_code == 200, response.text
    assert [await works(client, h) for h in sessions] == [False, False]
    assert await works(client, admin_headers)
    assert await works(client, await sign_in(client, agent, NEW))
    audit = await db_session.scalar(
        select(AuditLog.after).where(
            AuditLog.entity_id == agent.id, AuditLog.action == "agent.update"
        )
    )
    assert audit == {"password_changed": True, "tokens_revoked": 2}


async def test_an_admin_changing_their_own_password_proves_it_too(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await make_agent(db_session, role="admin")
    headers = await auth_headers(db_session, admin)

    response = await client.patch(
        f"/api/v1/agents/{admin.id}", json={"password": NEW}, headers=headers
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "current_password"
