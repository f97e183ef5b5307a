"""The routing API integrations rely on: skills with levels, capacity, pausing, required
skills on tickets, and the recorded decisions; roles checked, bad input named."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import SessionMaker
from routing.driver import RoutingDriver
from tests.conftest import FrozenClock
from tests.factories.agents import auth_headers, make_agent, make_skill


async def test_admin_sets_an_agents_skills_with_levels(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await make_agent(db_session, role="admin")
    agent = await make_agent(db_session)
    created = await client.post(
        "/api/v1/skills", json={"name": "billing"}, headers=await auth_headers(db_session, admin)
    )
    assert created.status_code == 201, created.text
    billing = created.json()["id"]
    french = (await make_skill(db_session, name="french")).id
    headers = await auth_headers(db_session, admin)
    url = f"/api/v1/agents/{agent.id}/skills"

    put = await client.put(url, json=[{"skill_id": billing, "level": 4}], headers=headers)
    assert put.status_code == 200, put.text
    assert put.json()["skills"] == [{"skill_id": billing, "name": "billing", "level": 4}]
    again = await client.put(
        url, json=[{"skill_id": french, "level": 2}, {"skill_id": billing, "level": 5}],
        headers=headers,
    )  # fmt: skip
    levels = {s["skill_id"]: s["level"] for s in again.json()["skills"]}
    assert levels == {billing: 5, french: 2}
    listed = await client.get("/api/v1/skills", headers=headers)
    assert {s["name"] for s in listed.json()["items"]} >= {"billing", "french"}


async def test_skills_bad_input_names_the_field_and_only_admins_set_them(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await make_agent(db_session, role="admin")
    supervisor = await make_agent(db_session, role="supervisor")
    agent = await make_agent(db_session)
    skill = await make_skill(db_session)
    url = f"/api/v1/agents/{agent.id}/skills"
    headers = await auth_headers(db_session, admin)

    too_high = await client.put(url, json=[{"skill_id": skill.id, "level": 6}], headers=headers)
    assert too_high.status_code == 422, too_high.text
    assert too_high.json()["errors"] == [{"field": "[0].level", "message": "Expected `int` <= 5"}]
    unknown = await client.put(url, json=[{"skill_id": 999999, "level": 1}], headers=headers)
    assert unknown.status_code == 422, unknown.text
    assert "skills" in unknown.text
    refused = await client.put(
        url, json=[{"skill_id": skill.id, "level": 1}],
        headers=await auth_headers(db_session, supervisor),
    )  # fmt: skip
    assert refused.status_code == 403
    missing = await client.put("/api/v1/agents/999999/skills", json=[], headers=headers)
    assert missing.status_code == 404


async def test_capacity_and_pause_through_patch(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await make_agent(db_session, role="admin")
    supervisor = await make_agent(db_session, role="supervisor")
    agent = await make_agent(db_session)
    url = f"/api/v1/agents/{agent.id}"

    set_capacity = await client.patch(
        url, json={"capacity": {"email": 10, "chat": 3}},
        headers=await auth_headers(db_session, admin),
    )  # fmt: skip
    assert set_capacity.status_code == 200, set_capacity.text
    assert set_capacity.json()["capacity"] == {"email": 10, "chat": 3}
    paused = await client.patch(
        url, json={"routing_paused": True}, headers=await auth_headers(db_session, supervisor)
    )
    assert paused.status_code == 200, paused.text
    assert paused.json()["routing_paused"] is True
    bad_channel = await client.patch(
        url, json={"capacity": {"fax": 1}}, headers=await auth_headers(db_session, admin)
    )
    assert bad_channel.status_code == 422
    assert "capacity" in bad_channel.text
    negative = await client.patch(
        url, json={"capacity": {"email": -1}}, headers=await auth_headers(db_session, admin)
    )
    assert negative.status_code == 422
    assert "capacity" in negative.text
    own = await client.patch(
        url, json={"routing_paused": False}, headers=await auth_headers(db_session, agent)
    )
    assert own.status_code == 403  # agents do not unpause themselves
    supervisor_role = await client.patch(
        url, json={"role": "admin"}, headers=await auth_headers(db_session, supervisor)
    )
    assert supervisor_role.status_code == 403


async def test_tickets_take_and_show_required_skills_with_levels(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await make_agent(db_session, role="admin")
    headers = await auth_headers(db_session, admin)
    billing = await make_skill(db_session)
    french = await make_skill(db_session)
    body = {
        "subject": "Invoice in French",
        "body": "Bonjour",
        "contact": {"email": "claire@example.test"},
        "required_skills": [{"skill_id": billing.id, "min_level": 3}],
    }
    created = await client.post("/api/v1/tickets", json=body, headers=headers)
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert ticket["required_skills"] == [{"skill_id": billing.id, "min_level": 3}]
    assert ticket["required_skill_ids"] == [billing.id]

    changed = await client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"required_skills": [{"skill_id": french.id, "min_level": 2},
                                  {"skill_id": billing.id}]},
        headers=headers,
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.json()["required_skills"] == [
        {"skill_id": billing.id, "min_level": 1},
        {"skill_id": french.id, "min_level": 2},
    ]
    shown = await client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)
    assert shown.json()["required_skills"] == changed.json()["required_skills"]

    bad_level = await client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={"required_skills": [{"skill_id": billing.id, "min_level": 9}]},
        headers=headers,
    )
    assert bad_level.status_code == 422
    assert "min_level" in bad_level.text
    unknown = await client.post(
        "/api/v1/tickets",
        json={**body, "required_skills": [{"skill_id": 987654, "min_level": 1}]},
        headers=headers,
    )
    assert unknown.status_code == 422
    assert "required_skills" in unknown.text


async def test_ticket_routing_shows_each_decision_and_why(
    client: AsyncClient, db_session: AsyncSession, sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    admin = await make_agent(db_session, role="admin")
    agent = await make_agent(db_session)
    outsider = await make_agent(db_session)
    agent.capacity = {"api": 2}
    agent.presence = "online"
    await db_session.commit()
    headers = await auth_headers(db_session, admin)
    created = await client.post(
        "/api/v1/tickets",
        json={"subject": "Help", "body": "Please", "contact": {"email": "x@example.test"},
              "channel": "api"},
        headers=headers,
    )  # fmt: skip
    ticket_id = created.json()["id"]
    await RoutingDriver(sessionmaker, clock=clock).route(ticket_ids=[ticket_id])

    shown = await client.get(f"/api/v1/tickets/{ticket_id}/routing", headers=headers)
    assert shown.status_code == 200, shown.text
    routing = shown.json()
    [decision] = routing["decisions"]
    assert decision["action"] == "assign"
    assert decision["agent_id"] == agent.id
    assert decision["reason"].startswith(f"agent {agent.id} of 1 eligible")
    assert decision["explanation"]["chosen_agent_id"] == agent.id
    assert routing["last_agent_id"] == agent.id
    hidden = await client.get(
        f"/api/v1/tickets/{ticket_id}/routing", headers=await auth_headers(db_session, outsider)
    )
    assert hidden.status_code == 404  # an agent who may not see the ticket learns nothing
