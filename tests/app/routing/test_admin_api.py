"""Routing managed by admins (queues, settings, skill rules; supervisors read them), and
GET /api/v1/routing/queue: depth, oldest, positions in routing's own order and why each
ticket waits, agents' presence and load."""

from __future__ import annotations

from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.engine import SessionMaker
from app.main import build_lifecycle_hooks
from app.tickets.hooks import install_hooks
from routing.driver import RoutingDriver
from tests.conftest import FrozenClock
from tests.factories.agents import auth_headers, make_agent, make_skill, make_team
from tests.routing.driver_support import staff, waiting_ticket


async def test_admins_configure_a_queue_and_bad_fields_are_named(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    supervisor = await auth_headers(db_session, await make_agent(db_session, role="supervisor"))
    agent = await auth_headers(db_session, await make_agent(db_session))
    team = await make_team(db_session)

    created = await client.post(
        "/api/v1/routing/queues",
        json={"team_id": team.id, "strategy": "round_robin", "order": "priority_first",
              "offer_timeout_seconds": 30, "overflow_after_seconds": 600},
        headers=admin,
    )  # fmt: skip
    assert created.status_code == 201, created.text
    queue = created.json()
    assert queue["strategy"] == "round_robin"
    assert queue["order"] == "priority_first"
    assert queue["offer_timeout_seconds"] == 30
    again = await client.post("/api/v1/routing/queues", json={"team_id": team.id}, headers=admin)
    assert again.status_code == 409
    bad_strategy = await client.post(
        "/api/v1/routing/queues", json={"strategy": "random"}, headers=admin
    )
    assert bad_strategy.status_code == 422
    assert "strategy" in bad_strategy.json()["detail"]
    no_team = await client.post("/api/v1/routing/queues", json={"team_id": 999999}, headers=admin)
    assert no_team.status_code == 422
    assert "team_id" in no_team.json()["detail"]
    both = await client.post(
        "/api/v1/routing/queues", json={"team_id": team.id, "inbox_id": 1}, headers=admin
    )
    assert "inbox_id" in both.json()["detail"]
    bad_offer = await client.patch(
        f"/api/v1/routing/queues/{queue['id']}", json={"offer_timeout_seconds": 0}, headers=admin
    )
    assert bad_offer.status_code == 422
    assert "offer_timeout_seconds" in bad_offer.json()["detail"]
    direct = await client.patch(
        f"/api/v1/routing/queues/{queue['id']}", json={"offer_timeout_seconds": None},
        headers=admin,
    )  # fmt: skip
    assert direct.json()["offer_timeout_seconds"] is None

    assert (await client.get("/api/v1/routing/queues", headers=supervisor)).status_code == 200
    assert (await client.get("/api/v1/routing/queues", headers=agent)).status_code == 403
    assert (
        await client.patch(f"/api/v1/routing/queues/{queue['id']}", json={}, headers=supervisor)
    ).status_code == 403
    gone = await client.delete(f"/api/v1/routing/queues/{queue['id']}", headers=admin)
    assert gone.status_code == 204
    assert (await client.get("/api/v1/routing/queues", headers=admin)).json() == []


async def test_admins_change_the_settings_routing_and_presence_follow(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    shown = await client.get("/api/v1/routing/settings", headers=admin)
    assert shown.json()["offline_grace_seconds"] == 120
    assert shown.json()["presence_after_timeout"] == "away"
    changed = await client.patch(
        "/api/v1/routing/settings",
        json={"offline_grace_seconds": 30, "presence_after_decline": "away",
              "counted_statuses": ["new", "open", "pending"]},
        headers=admin,
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.json()["offline_grace_seconds"] == 30
    assert changed.json()["counted_statuses"] == ["new", "open", "pending"]
    bad = await client.patch(
        "/api/v1/routing/settings", json={"presence_after_timeout": "busy"}, headers=admin
    )
    assert bad.status_code == 422
    assert "presence_after_timeout" in bad.json()["detail"]
    none = await client.patch("/api/v1/routing/settings", json={"counted_statuses": []},
                              headers=admin)  # fmt: skip
    assert "counted_statuses" in none.json()["detail"]


async def test_a_skill_rule_sets_the_skills_of_matching_new_tickets(
    client: AsyncClient,
    db_session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    clock: FrozenClock,
) -> None:
    install_hooks(sessionmaker, build_lifecycle_hooks(settings))
    admin = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    billing = await make_skill(db_session, name="billing")
    rule = await client.post(
        "/api/v1/routing/rules",
        json={"skills": [{"skill_id": billing.id, "min_level": 3}],
              "conditions": {"channel": ["email"]}, "keywords": ["invoice", "refund"]},
        headers=admin,
    )  # fmt: skip
    assert rule.status_code == 201, rule.text
    assert rule.json()["conditions"] == {"channel": ["email"]}
    no_skill = await client.post(
        "/api/v1/routing/rules", json={"skills": [{"skill_id": 999999}]}, headers=admin
    )
    assert "skills" in no_skill.json()["detail"]
    bad_condition = await client.post(
        "/api/v1/routing/rules",
        json={"skills": [{"skill_id": billing.id}], "conditions": {"weather": ["sunny"]}},
        headers=admin,
    )
    assert bad_condition.status_code == 422
    assert "weather" in bad_condition.json()["detail"]

    matched = await waiting_ticket(db_session, now=clock(), body="Where is my refund?")
    other = await waiting_ticket(db_session, now=clock(), body="Hello there")
    assert matched.required_skills == [{"skill_id": billing.id, "min_level": 3}]
    assert other.required_skills == []
    listed = await client.get("/api/v1/routing/rules", headers=admin)
    assert [r["id"] for r in listed.json()] == [rule.json()["id"]]


async def test_the_queue_shows_depth_positions_why_and_agents_load(
    client: AsyncClient, db_session: AsyncSession, sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    supervisor = await make_agent(db_session, role="supervisor")
    headers = await auth_headers(db_session, supervisor)
    french = await make_skill(db_session, name="french")
    team = await make_team(db_session)
    busy = await staff(db_session, now=clock(), capacity={"email": 1}, team_ids=[team.id])
    clock.now -= timedelta(minutes=30)
    oldest = await waiting_ticket(db_session, now=clock(), team_id=team.id)
    clock.now += timedelta(minutes=10)
    normal = await waiting_ticket(db_session, now=clock(), team_id=team.id)
    clock.now += timedelta(minutes=10)
    urgent = await waiting_ticket(db_session, now=clock(), team_id=team.id, priority="urgent",
                                  required=[(french.id, 2)])  # fmt: skip
    clock.now += timedelta(minutes=10)
    await RoutingDriver(sessionmaker, clock=clock).route(ticket_ids=[oldest.id])
    await RoutingDriver(sessionmaker, clock=clock).route(ticket_ids=[normal.id, urgent.id])

    shown = await client.get("/api/v1/routing/queue", headers=headers)
    assert shown.status_code == 200, shown.text
    body = shown.json()
    [queue] = [q for q in body["queues"] if q["team_id"] == team.id]
    assert queue["depth"] == 2  # the oldest went to the one agent
    assert queue["name"] == team.name
    assert [(t["ticket_id"], t["position"]) for t in queue["tickets"]] == [
        (urgent.id, 1),
        (normal.id, 2),
    ]
    assert queue["oldest_waiting_since"] == queue["tickets"][1]["waiting_since"]
    why = queue["tickets"][0]["why"]
    assert why.startswith("waits: none of 1 agents can take it")
    assert [s for s in body["skills"] if s["skill_id"] == french.id] == [
        {"skill_id": french.id, "name": "french", "depth": 1,
         "oldest_waiting_since": queue["tickets"][0]["waiting_since"]}
    ]  # fmt: skip
    [load] = [a for a in body["agents"] if a["agent_id"] == busy.id]
    assert load["load"] == {"email": 1}
    assert load["capacity"] == {"email": 1}
    assert load["ticket_ids"] == [oldest.id]
    assert load["presence"] == "online"

    agent = await auth_headers(db_session, await make_agent(db_session))
    assert (await client.get("/api/v1/routing/queue", headers=agent)).status_code == 403


async def test_skill_rules_match_the_contacts_language_and_the_accounts_tier(
    sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    install_hooks(sessionmaker, build_lifecycle_hooks(settings))
    async with sessionmaker() as db_session:  # made after the hooks were installed
        await _rules_by_language_and_tier(db_session, clock)


async def _rules_by_language_and_tier(db_session: AsyncSession, clock: FrozenClock) -> None:
    from app.accounts.models import Account
    from app.routing.models import SkillRule
    from tests.factories.contacts import make_contact

    french = await make_skill(db_session, name="french")
    vip = await make_skill(db_session, name="vip")
    speaks_french = {"language": ["fr"]}
    db_session.add_all([
        SkillRule(skills=[{"skill_id": french.id, "min_level": 2}], conditions=speaks_french),
        SkillRule(skills=[{"skill_id": vip.id, "min_level": 1}],
                  conditions={"account_tier": ["enterprise"]}),
    ])  # fmt: skip
    big = Account(name="Big Corp", domains=["big.example"], tier="enterprise")
    db_session.add(big)
    await db_session.flush()
    pierre = await make_contact(db_session)
    pierre.locale = "fr-CA"
    await db_session.flush()
    ticket = await waiting_ticket(db_session, now=clock(), contact_id=pierre.id, account_id=big.id)
    plain = await waiting_ticket(db_session, now=clock())
    assert ticket.account_id == big.id
    assert sorted(s["skill_id"] for s in ticket.required_skills) == sorted([french.id, vip.id])
    assert plain.required_skills == []
