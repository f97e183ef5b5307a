from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import AgentSkill, team_members
from app.audit.models import AuditLog
from tests.factories.agents import auth_headers, make_agent, make_skill, make_team


async def test_team_crud_with_members(client: AsyncClient, db_session: AsyncSession) -> None:
    admin = await make_agent(db_session, role="admin")
    ann = await make_agent(db_session)
    ben = await make_agent(db_session)
    headers = await auth_headers(db_session, admin)

    created = await client.post(
        "/api/v1/teams",
        json={"name": "Billing", "description": "Invoices", "member_ids": [ben.id, ann.id]},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    team = created.json()
    assert team["member_ids"] == sorted([ann.id, ben.id])

    updated = await client.patch(
        f"/api/v1/teams/{team['id']}",
        json={"name": "Billing EU", "member_ids": [ben.id]},
        headers=headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json() == {
        "id": team["id"],
        "name": "Billing EU",
        "description": "Invoices",
        "member_ids": [ben.id],
    }
    ann_teams = await client.get(f"/api/v1/agents/{ann.id}", headers=headers)
    assert ann_teams.json()["team_ids"] == []

    listed = await client.get("/api/v1/teams", headers=headers)
    assert [t["id"] for t in listed.json()["items"]] == [team["id"]]

    deleted = await client.delete(f"/api/v1/teams/{team['id']}", headers=headers)
    assert deleted.status_code == 204
    assert (await client.get(f"/api/v1/teams/{team['id']}", headers=headers)).status_code == 404
    left = await db_session.scalars(
        select(team_members.c.agent_id).where(team_members.c.team_id == team["id"])
    )
    assert left.all() == []
    actions = await db_session.scalars(
        select(AuditLog.action).where(AuditLog.entity_type == "team").order_by(AuditLog.id)
    )
    assert actions.all() == ["team.create", "team.update", "team.delete"]


async def test_team_with_unknown_member_names_the_field(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await make_agent(db_session, role="admin")

    response = await client.post(
        "/api/v1/teams",
        json={"name": "Ghosts", "member_ids": [999_999]},
        headers=await auth_headers(db_session, admin),
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "member_ids"


async def test_duplicate_team_name_is_409(client: AsyncClient, db_session: AsyncSession) -> None:
    admin = await make_agent(db_session, role="admin")
    await make_team(db_session, name="Support")
    other = await make_team(db_session, name="Sales")
    headers = await auth_headers(db_session, admin)

    created = await client.post("/api/v1/teams", json={"name": "support"}, headers=headers)
    renamed = await client.patch(
        f"/api/v1/teams/{other.id}", json={"name": "Support"}, headers=headers
    )
    same = await client.patch(f"/api/v1/teams/{other.id}", json={"name": "Sales"}, headers=headers)

    assert created.status_code == 409
    assert "support" in created.json()["detail"]
    assert renamed.status_code == 409
    assert same.status_code == 200


async def test_skill_crud_and_duplicate(client: AsyncClient, db_session: AsyncSession) -> None:
    admin = await make_agent(db_session, role="admin")
    agent = await make_agent(db_session)
    headers = await auth_headers(db_session, admin)

    created = await client.post("/api/v1/skills", json={"name": "spanish"}, headers=headers)
    assert created.status_code == 201, created.text
    skill_id = created.json()["id"]
    duplicate = await client.post("/api/v1/skills", json={"name": "Spanish"}, headers=headers)
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "duplicate:skill_name"

    renamed = await client.patch(
        f"/api/v1/skills/{skill_id}", json={"name": "español"}, headers=headers
    )
    assert renamed.json() == {"id": skill_id, "name": "español"}
    assigned = await client.patch(
        f"/api/v1/agents/{agent.id}",
        json={"skills": [{"skill_id": skill_id, "level": 2}]},
        headers=headers,
    )
    assert assigned.json()["skills"] == [{"skill_id": skill_id, "name": "español", "level": 2}]

    assert (await client.delete(f"/api/v1/skills/{skill_id}", headers=headers)).status_code == 204
    assert (await client.get(f"/api/v1/skills/{skill_id}", headers=headers)).status_code == 404
    kept = await db_session.scalars(select(AgentSkill).where(AgentSkill.skill_id == skill_id))
    assert kept.all() == []


async def test_skill_list_paginates(client: AsyncClient, db_session: AsyncSession) -> None:
    viewer = await make_agent(db_session)
    skills = [await make_skill(db_session) for _ in range(3)]
    headers = await auth_headers(db_session, viewer)

    first = await client.get("/api/v1/skills", params={"limit": 2}, headers=headers)
    second = await client.get(
        "/api/v1/skills",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=headers,
    )

    ids = [s["id"] for s in first.json()["items"] + second.json()["items"]]
    assert ids[:3] == [s.id for s in reversed(skills)]


@pytest.mark.parametrize("role", ["supervisor", "agent"])
async def test_staff_read_but_only_admins_write_teams_and_skills(
    client: AsyncClient, db_session: AsyncSession, role: str
) -> None:
    caller = await make_agent(db_session, role=role)
    team = await make_team(db_session)
    skill = await make_skill(db_session)
    headers = await auth_headers(db_session, caller)

    reads = [
        await client.get("/api/v1/teams", headers=headers),
        await client.get(f"/api/v1/teams/{team.id}", headers=headers),
        await client.get("/api/v1/skills", headers=headers),
        await client.get(f"/api/v1/skills/{skill.id}", headers=headers),
    ]
    writes = [
        await client.post("/api/v1/teams", json={"name": "New"}, headers=headers),
        await client.patch(f"/api/v1/teams/{team.id}", json={"name": "X"}, headers=headers),
        await client.delete(f"/api/v1/teams/{team.id}", headers=headers),
        await client.post("/api/v1/skills", json={"name": "new"}, headers=headers),
        await client.patch(f"/api/v1/skills/{skill.id}", json={"name": "x"}, headers=headers),
        await client.delete(f"/api/v1/skills/{skill.id}", headers=headers),
    ]

    assert [r.status_code for r in reads] == [200] * 4
    assert [r.status_code for r in writes] == [403] * 6


async def test_unauthenticated_reads_are_401(client: AsyncClient) -> None:
    for path in ("/api/v1/agents", "/api/v1/teams", "/api/v1/skills", "/api/v1/inboxes"):
        assert (await client.get(path)).status_code == 401


async def test_team_unknown_field_is_422(client: AsyncClient, db_session: AsyncSession) -> None:
    admin = await make_agent(db_session, role="admin")

    response = await client.post(
        "/api/v1/teams",
        json={"name": "Ops", "members": [1]},
        headers=await auth_headers(db_session, admin),
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "members", "message": "unknown field"}]


async def test_team_list_runs_a_constant_number_of_queries(
    client: AsyncClient, db_session: AsyncSession, statements: list[str]
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session))

    async def queries_for_list(teams: int) -> int:
        for _ in range(teams):
            members = [(await make_agent(db_session)).id for _ in range(2)]
            await make_team_with(members)
        statements.clear()
        response = await client.get("/api/v1/teams", headers=headers)
        assert response.status_code == 200
        assert all(len(t["member_ids"]) == 2 for t in response.json()["items"])
        return len(statements)

    async def make_team_with(member_ids: list[int]) -> None:
        team = await make_team(db_session)
        rows = [{"team_id": team.id, "agent_id": a} for a in member_ids]
        await db_session.execute(team_members.insert(), rows)

    await queries_for_list(0)  # the first call also stamps the token's last_used_at
    assert await queries_for_list(2) == await queries_for_list(6)
