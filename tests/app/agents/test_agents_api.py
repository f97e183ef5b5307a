from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent, AgentSkill
from app.audit.models import AuditLog
from app.auth.models import ApiToken
from tests.factories.agents import PASSWORD, auth_headers, make_agent, make_skill, make_team


async def test_admin_creates_agent_with_documented_body_and_it_can_log_in(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await make_agent(db_session, role="admin")
    headers = await auth_headers(db_session, admin)
    body = {
        "email": "Nia@Example.test",
        "name": "Nia",
        "role": "agent",
        "password": "a long secret 1",
    }

    created = await client.post("/api/v1/agents", json=body, headers=headers)

    assert created.status_code == 201, created.text
    agent = created.json()
    assert agent["email"] == "nia@example.test"
    assert agent["role"] == "agent"
    assert agent["is_active"] is True
    assert "password" not in agent
    assert "password_hash" not in agent
    login = await client.post(
        "/api/v1/auth/login", json={"email": "nia@example.test", "password": "a long secret 1"}
    )
    assert login.status_code == 200, login.text
    assert login.json()["agent"]["id"] == agent["id"]
    stored = await db_session.scalar(select(Agent.password_hash).where(Agent.id == agent["id"]))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    audit = await db_session.scalar(
        select(AuditLog).where(AuditLog.entity_type == "agent", AuditLog.entity_id == agent["id"])
    )
    assert audit is not None
    assert audit.action == "agent.create"
    assert audit.actor_id == admin.id
    assert "a long secret 1" not in str(audit.after)
    assert "argon2" not in str(audit.after)


async def test_create_with_teams_skills_and_capacity(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await make_agent(db_session, role="admin")
    team = await make_team(db_session)
    skill = await make_skill(db_session, name="billing")
    body = {
        "email": "ola@example.test",
        "name": "Ola",
        "role": "supervisor",
        "password": "a long secret 2",
        "team_ids": [team.id],
        "skills": [{"skill_id": skill.id, "level": 4}],
        "capacity": {"email": 10, "chat": 3},
    }

    created = await client.post(
        "/api/v1/agents", json=body, headers=await auth_headers(db_session, admin)
    )

    assert created.status_code == 201, created.text
    assert created.json()["team_ids"] == [team.id]
    assert created.json()["skills"] == [{"skill_id": skill.id, "name": "billing", "level": 4}]
    assert created.json()["capacity"] == {"email": 10, "chat": 3}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"password": "short"}, "password"),
        ({"role": "owner"}, "role"),
        ({"email": "not-an-email"}, "email"),
        ({"skills": [{"skill_id": 1, "level": 6}]}, "skills[0].level"),
        ({"capacity": {"fax": 1}}, "capacity"),
        ({"team_ids": [999_999]}, "team_ids"),
    ],
)
async def test_invalid_create_names_the_field(
    client: AsyncClient, db_session: AsyncSession, change: dict[str, Any], field: str
) -> None:
    admin = await make_agent(db_session, role="admin")
    body = {"email": "pia@example.test", "name": "Pia", "role": "agent", "password": "x" * 12}

    response = await client.post(
        "/api/v1/agents", json=body | change, headers=await auth_headers(db_session, admin)
    )

    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_unknown_field_is_rejected(client: AsyncClient, db_session: AsyncSession) -> None:
    admin = await make_agent(db_session, role="admin")
    body = {"email": "q@example.test", "name": "Q", "role": "agent", "password": "x" * 12}

    response = await client.post(
        "/api/v1/agents",
        json=body | {"is_admin": True},
        headers=await auth_headers(db_session, admin),
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "is_admin", "message": "unknown field"}]


async def test_duplicate_email_is_409_case_insensitively(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await make_agent(db_session, role="admin")
    await make_agent(db_session, email="rui@example.test")
    body = {"email": "RUI@example.test", "name": "Rui", "role": "agent", "password": "x" * 12}

    response = await client.post(
        "/api/v1/agents", json=body, headers=await auth_headers(db_session, admin)
    )

    assert response.status_code == 409
    assert "rui@example.test" in response.json()["detail"]


@pytest.mark.parametrize("role", ["supervisor", "agent"])
async def test_only_admins_create_update_and_deactivate(
    client: AsyncClient, db_session: AsyncSession, role: str
) -> None:
    caller = await make_agent(db_session, role=role)
    other = await make_agent(db_session)
    headers = await auth_headers(db_session, caller)
    body = {"email": "sam@example.test", "name": "Sam", "role": "agent", "password": "x" * 12}

    created = await client.post("/api/v1/agents", json=body, headers=headers)
    updated = await client.patch(f"/api/v1/agents/{other.id}", json={"name": "X"}, headers=headers)
    deleted = await client.delete(f"/api/v1/agents/{other.id}", headers=headers)

    assert [created.status_code, updated.status_code, deleted.status_code] == [403, 403, 403]
    assert created.json()["code"] == "permission_denied"


async def test_agent_edits_own_name_but_not_own_role(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    agent = await make_agent(db_session, name="Tom")
    headers = await auth_headers(db_session, agent)

    renamed = await client.patch(
        f"/api/v1/agents/{agent.id}", json={"name": "Tomás", "presence": "online"}, headers=headers
    )
    promoted = await client.patch(
        f"/api/v1/agents/{agent.id}", json={"role": "admin"}, headers=headers
    )

    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Tomás"
    assert renamed.json()["presence"] == "online"
    assert promoted.status_code == 403
    assert "role" in promoted.json()["detail"]
    role = await db_session.scalar(select(Agent.role).where(Agent.id == agent.id))
    assert role == "agent"


async def test_agent_sets_own_avatar_url_as_an_https_url_and_clears_it(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    agent = await make_agent(db_session, name="Tom")
    other = await make_agent(db_session, name="Ann")
    headers = await auth_headers(db_session, agent)
    url = f"/api/v1/agents/{agent.id}"

    assert (await client.get(url, headers=headers)).json()["avatar_url"] is None
    avatar = "https://cdn.example.com/avatars/tom.png?size=64"
    set_ = await client.patch(url, json={"avatar_url": avatar}, headers=headers)
    assert set_.status_code == 200, set_.text
    assert set_.json()["avatar_url"] == avatar
    me = await client.get("/api/v1/auth/me", headers=headers)
    assert me.json()["avatar_url"] == avatar
    for bad in (
        "http://cdn.example.com/tom.png",
        "javascript:alert(1)",
        "https://",
        'https://cdn.example.com/"onerror=x',
        "https://cdn.example.com/" + "a" * 500,
    ):
        refused = await client.patch(url, json={"avatar_url": bad}, headers=headers)
        assert refused.status_code == 422, bad
        assert refused.json()["errors"][0]["field"] == "avatar_url", refused.text
    theirs = await client.patch(
        f"/api/v1/agents/{other.id}", json={"avatar_url": avatar}, headers=headers
    )
    assert theirs.status_code == 403
    cleared = await client.patch(url, json={"avatar_url": None}, headers=headers)
    assert cleared.json()["avatar_url"] is None


async def test_agent_changes_own_password_and_logs_in_with_it(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    agent = await make_agent(db_session, email="uma@example.test")
    headers = await auth_headers(db_session, agent)

    response = await client.patch(
        f"/api/v1/agents/{agent.id}",
        json={"password": "brand new password", "current_password": PASSWORD},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    login = await client.post(
        "/api/v1/auth/login", json={"email": "uma@example.test", "password": "brand new password"}
    )
    assert login.status_code == 200
    audit = (
        await db_session.scalars(
            select(AuditLog.after).where(
                AuditLog.entity_id == agent.id, AuditLog.action == "agent.update"
            )
        )
    ).one()
    assert audit == {"password_changed": True, "tokens_revoked": 0}


async def test_admin_updates_role_teams_skills_and_email(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await make_agent(db_session, role="admin")
    agent = await make_agent(db_session)
    team = await make_team(db_session)
    skill_a = await make_skill(db_session)
    skill_b = await make_skill(db_session)
    headers = await auth_headers(db_session, admin)
    first = {"skills": [{"skill_id": skill_a.id, "level": 2}, {"skill_id": skill_b.id, "level": 3}]}
    assert (
        await client.patch(f"/api/v1/agents/{agent.id}", json=first, headers=headers)
    ).status_code == 200

    response = await client.patch(
        f"/api/v1/agents/{agent.id}",
        json={
            "role": "supervisor",
            "email": "New@Example.test",
            "team_ids": [team.id],
            "skills": [{"skill_id": skill_a.id, "level": 5}],
        },
        headers=headers,
    )

    assert response.status_code == 200, response.text
    out = response.json()
    assert (out["role"], out["email"], out["team_ids"]) == (
        "supervisor",
        "new@example.test",
        [team.id],
    )
    assert [(s["skill_id"], s["level"]) for s in out["skills"]] == [(skill_a.id, 5)]


async def test_last_active_admin_cannot_demote_or_deactivate_themselves(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await make_agent(db_session, role="admin")
    headers = await auth_headers(db_session, admin)

    demote = await client.patch(
        f"/api/v1/agents/{admin.id}", json={"role": "agent"}, headers=headers
    )
    disable = await client.patch(
        f"/api/v1/agents/{admin.id}", json={"is_active": False}, headers=headers
    )
    delete = await client.delete(f"/api/v1/agents/{admin.id}", headers=headers)

    assert [demote.status_code, disable.status_code, delete.status_code] == [409, 409, 409]
    assert delete.json()["code"] == "last_admin"
    await make_agent(db_session, role="admin")
    demote_again = await client.patch(
        f"/api/v1/agents/{admin.id}", json={"role": "agent"}, headers=headers
    )
    assert demote_again.status_code == 200, demote_again.text


async def test_deactivation_revokes_tokens(client: AsyncClient, db_session: AsyncSession) -> None:
    admin = await make_agent(db_session, role="admin")
    agent = await make_agent(db_session)
    agent_headers = await auth_headers(db_session, agent)
    assert (await client.get("/api/v1/auth/me", headers=agent_headers)).status_code == 200

    response = await client.delete(
        f"/api/v1/agents/{agent.id}", headers=await auth_headers(db_session, admin)
    )

    assert response.status_code == 204, response.text
    assert (await client.get("/api/v1/auth/me", headers=agent_headers)).status_code == 401
    revoked = await db_session.scalars(
        select(ApiToken.revoked_at).where(ApiToken.agent_id == agent.id)
    )
    assert all(r is not None for r in revoked)
    shown = await client.get(
        f"/api/v1/agents/{agent.id}", headers=await auth_headers(db_session, admin)
    )
    assert shown.json()["is_active"] is False
    assert shown.json()["presence"] == "offline"


async def test_list_filters_and_paginates(client: AsyncClient, db_session: AsyncSession) -> None:
    team = await make_team(db_session)
    viewer = await make_agent(db_session)
    sup = await make_agent(db_session, role="supervisor", team_ids=[team.id])
    member = await make_agent(db_session, team_ids=[team.id])
    headers = await auth_headers(db_session, viewer)

    by_team = await client.get("/api/v1/agents", params={"team_id": team.id}, headers=headers)
    by_role = await client.get(
        "/api/v1/agents", params={"team_id": team.id, "role": "supervisor"}, headers=headers
    )
    first = await client.get(
        "/api/v1/agents", params={"team_id": team.id, "limit": 1}, headers=headers
    )
    second = await client.get(
        "/api/v1/agents",
        params={"team_id": team.id, "limit": 1, "cursor": first.json()["next_cursor"]},
        headers=headers,
    )
    bad_role = await client.get("/api/v1/agents", params={"role": "owner"}, headers=headers)

    assert [a["id"] for a in by_team.json()["items"]] == [member.id, sup.id]
    assert [a["id"] for a in by_role.json()["items"]] == [sup.id]
    assert [a["id"] for a in first.json()["items"]] == [member.id]
    assert [a["id"] for a in second.json()["items"]] == [sup.id]
    assert second.json()["next_cursor"] is None
    assert bad_role.status_code == 400  # a malformed query parameter
    assert bad_role.json()["errors"][0]["field"] == "role"


async def test_inactive_filter(client: AsyncClient, db_session: AsyncSession) -> None:
    viewer = await make_agent(db_session)
    gone = await make_agent(db_session)
    gone.is_active = False
    await db_session.flush()

    response = await client.get(
        "/api/v1/agents",
        params={"is_active": "false"},
        headers=await auth_headers(db_session, viewer),
    )

    assert gone.id in [a["id"] for a in response.json()["items"]]
    assert viewer.id not in [a["id"] for a in response.json()["items"]]


async def test_list_runs_a_constant_number_of_queries(
    client: AsyncClient, db_session: AsyncSession, statements: list[str]
) -> None:
    viewer = await make_agent(db_session)
    headers = await auth_headers(db_session, viewer)

    async def queries_for_list() -> int:
        statements.clear()
        response = await client.get("/api/v1/agents", headers=headers)
        assert response.status_code == 200
        return len(statements)

    async def add_agents(count: int) -> None:
        team = await make_team(db_session)
        skill = await make_skill(db_session)
        for _ in range(count):
            agent = await make_agent(db_session, team_ids=[team.id])
            db_session.add(AgentSkill(agent_id=agent.id, skill_id=skill.id, level=3))
        await db_session.flush()

    await queries_for_list()  # the first call also stamps the token's last_used_at
    await add_agents(2)
    few = await queries_for_list()
    await add_agents(8)
    many = await queries_for_list()

    assert many == few
    assert few <= 10, statements


async def test_email_race_lost_at_the_constraint_is_still_409_naming_it(
    client: AsyncClient, db_session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await make_agent(db_session, role="admin")
    headers = await auth_headers(db_session, admin)
    await make_agent(db_session, email="vic@example.test")

    async def not_found_yet(_session: AsyncSession, _email: str) -> None:
        return None  # as if the other request committed after our check

    monkeypatch.setattr("app.agents.service.agents.find_agent_by_email", not_found_yet)
    body = {"email": "vic@example.test", "name": "Vic", "role": "agent", "password": "x" * 12}

    response = await client.post("/api/v1/agents", json=body, headers=headers)

    assert response.status_code == 409
    assert response.json()["code"] == "duplicate:agent_email"
    assert "vic@example.test" in response.json()["detail"]
