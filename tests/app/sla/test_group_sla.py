"""Group SLAs: a team's own target while it owns a ticket, beside the customer's SLA,
through a reassignment between teams, on the board and in the reports."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import SessionMaker
from app.sla.models import SlaTargetEvent
from app.tickets.events import TicketEvent
from routing.sla.scheduler import fire_due
from tests.app.sla.test_api import NEW_TICKET, POLICY
from tests.conftest import FrozenClock
from tests.factories.agents import auth_headers, make_agent, make_team


def _group_policy(name: str, team_id: int, minutes: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "team_id": team_id,
        "targets": [{"metric": "group_ownership", "priority": "high", "minutes": minutes}],
        **extra,
    }


def _group_targets(ticket: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (t["team_id"], t["policy_id"], t["status"], t["started_at"], t["met_at"], t["due_at"])
        for t in ticket["sla"]["targets"]
        if t["metric"] == "group_ownership"
    ]


def _iso(at: datetime) -> str:
    return at.isoformat()


async def test_a_team_has_its_own_target_only_while_it_owns_the_ticket(
    client: AsyncClient,
    db_session: AsyncSession,
    sessionmaker: SessionMaker,
    clock: FrozenClock,
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    first_line, second_line = await make_team(db_session), await make_team(db_session)
    customer = (await client.post("/api/v1/sla/policies", json=POLICY, headers=headers)).json()
    tier1 = await client.post(
        "/api/v1/sla/policies", json=_group_policy("Tier 1", first_line.id, 30), headers=headers
    )
    assert tier1.status_code == 201, tier1.text
    assert (tier1.json()["kind"], tier1.json()["team_id"]) == ("group", first_line.id)
    tier2 = (
        await client.post(
            "/api/v1/sla/policies",
            json=_group_policy("Tier 2", second_line.id, 120),
            headers=headers,
        )
    ).json()
    opened = clock.now

    ticket = (
        await client.post(
            "/api/v1/tickets", json={**NEW_TICKET, "team_id": first_line.id}, headers=headers
        )
    ).json()

    # The customer's targets are as without group SLAs; beside them, Tier 1's own.
    assert ticket["sla"]["policy_id"] == customer["id"]
    assert ticket["sla"]["group_policy_ids"] == [tier1.json()["id"]]
    customer_targets = [t for t in ticket["sla"]["targets"] if t["team_id"] is None]
    assert {t["metric"] for t in customer_targets} == {"first_response", "resolution"}
    assert all(t["policy_id"] == customer["id"] for t in customer_targets)
    assert _group_targets(ticket) == [
        (
            first_line.id,
            tier1.json()["id"],
            "running",
            _iso(opened),
            None,
            _iso(opened + timedelta(minutes=30)),
        )
    ]

    # Tier 1 keeps it 45 minutes (15 too long), then hands it to Tier 2.
    clock.advance(minutes=45)
    moved = await client.patch(
        f"/api/v1/tickets/{ticket['id']}", json={"team_id": second_line.id}, headers=headers
    )
    assert moved.status_code == 200, moved.text
    handed_at = clock.now
    tier1_cycle, tier2_cycle = first_line.id * 10_000, second_line.id * 10_000
    assert _group_targets(moved.json()) == [
        (
            first_line.id,
            tier1.json()["id"],
            "breached",
            _iso(opened),
            _iso(handed_at),
            _iso(opened + timedelta(minutes=30)),
        ),
        (
            second_line.id,
            tier2["id"],
            "running",
            _iso(handed_at),
            None,
            _iso(handed_at + timedelta(minutes=120)),
        ),
    ]
    # The customer's first response does not restart with the new team.
    first = next(t for t in moved.json()["sla"]["targets"] if t["metric"] == "first_response")
    assert first["due_at"] == _iso(opened + timedelta(minutes=60))
    recorded = (
        await db_session.execute(
            select(
                SlaTargetEvent.kind,
                SlaTargetEvent.team_id,
                SlaTargetEvent.policy_id,
                SlaTargetEvent.cycle,
                SlaTargetEvent.at,
            )
            .where(SlaTargetEvent.ticket_id == ticket["id"])
            .order_by(SlaTargetEvent.kind)
        )
    ).all()
    # Recorded for the team whose clock it was, though the ticket is Tier 2's now.
    assert [tuple(r) for r in recorded] == [
        (
            "breached",
            first_line.id,
            tier1.json()["id"],
            tier1_cycle,
            opened + timedelta(minutes=30),
        ),
        ("met", first_line.id, tier1.json()["id"], tier1_cycle, handed_at),
    ]

    # Tier 2 answers the customer in time but keeps the ticket past its own two hours.
    clock.advance(minutes=5)
    await client.post(
        f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "On it."}, headers=headers
    )
    clock.advance(minutes=120)
    _, fired = await fire_due(sessionmaker, now=clock.now)
    assert [(f.metric, f.cycle, f.kind) for f in fired] == [
        ("group_ownership", tier2_cycle, "breached")
    ]
    breach = await db_session.scalar(
        select(TicketEvent.data).where(
            TicketEvent.ticket_id == ticket["id"], TicketEvent.type == "sla.breached"
        )
    )
    assert breach is not None
    assert (breach["team_id"], breach["policy_id"]) == (second_line.id, tier2["id"])

    board = (await client.get("/api/v1/sla/breaches", headers=headers)).json()
    (item,) = board["items"]
    assert (item["metric"], item["group_team_id"], item["policy_id"], item["policy_name"]) == (
        "group_ownership",
        second_line.id,
        tier2["id"],
        "Tier 2",
    )
    assert item["overdue_seconds"] == 5 * 60
    by_group_policy = await client.get(
        "/api/v1/sla/breaches", params={"policy_id": tier2["id"]}, headers=headers
    )
    assert [i["ticket_id"] for i in by_group_policy.json()["items"]] == [ticket["id"]]
    by_other = await client.get(
        "/api/v1/sla/breaches", params={"policy_id": tier1.json()["id"] + 100}, headers=headers
    )
    assert by_other.json()["items"] == []

    period = {
        "since": _iso(opened - timedelta(hours=1)),
        "until": _iso(clock.now + timedelta(hours=1)),
    }
    by_team = (
        await client.get("/api/v1/reports/sla", params={**period, "group_by": "team"},
                         headers=headers)
    ).json()  # fmt: skip
    rows = {r["key"]: r for r in by_team["rows"]}
    assert rows[str(first_line.id)]["compliance"]["group_ownership"] == {
        "met": 0,
        "breached": 1,
        "rate": 0.0,
    }
    assert rows[str(second_line.id)]["compliance"]["group_ownership"]["breached"] == 1
    assert rows[str(second_line.id)]["compliance"]["first_response"] == {
        "met": 1,
        "breached": 0,
        "rate": 1.0,
    }
    assert rows[str(first_line.id)]["times"]["group_ownership"]["median_seconds"] == 45 * 60
    by_policy = (
        await client.get("/api/v1/reports/sla", params={**period, "group_by": "policy"},
                         headers=headers)
    ).json()  # fmt: skip
    assert by_policy["names"] == {
        str(customer["id"]): "Standard",
        str(tier1.json()["id"]): "Tier 1",
        str(tier2["id"]): "Tier 2",
    }
    policy_rows = {r["key"]: r for r in by_policy["rows"]}
    assert set(policy_rows[str(tier1.json()["id"])]["compliance"]) == {"group_ownership"}
    csv = await client.get(
        "/api/v1/reports/sla.csv", params={**period, "group_by": "policy"}, headers=headers
    )
    assert csv.text.splitlines()[0].startswith("policy,name,new,solved")
    assert f"{tier2['id']},Tier 2," in csv.text


async def test_solving_meets_the_owning_teams_target_and_runs_its_met_actions(
    client: AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    team = await make_team(db_session)
    policy = _group_policy(
        "Tier 1", team.id, 60, actions={"met": [{"type": "add_tag", "tag": "tier1-done"}]}
    )
    assert (
        await client.post("/api/v1/sla/policies", json=policy, headers=headers)
    ).status_code == 201
    ticket = (
        await client.post("/api/v1/tickets", json={**NEW_TICKET, "team_id": team.id},
                          headers=headers)
    ).json()  # fmt: skip
    # Only a group policy applies: no customer policy, still an SLA.
    assert ticket["sla"]["policy_id"] is None
    clock.advance(minutes=20)

    solved = await client.patch(
        f"/api/v1/tickets/{ticket['id']}", json={"status": "solved"}, headers=headers
    )

    assert solved.status_code == 200, solved.text
    shown = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)).json()
    (target,) = shown["sla"]["targets"]
    assert (target["status"], target["met_at"]) == ("met", _iso(clock.now))
    assert "tier1-done" in shown["tags"]


async def test_group_policy_mistakes_are_422s_naming_the_field(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    team = await make_team(db_session)
    group = _group_policy("Tier 1", team.id, 30)
    cases = {
        "team_id": {**group, "team_id": 999_999},
        "targets[0].metric": {**group, "targets": POLICY["targets"]},
    }
    customer_with_group_target = {**group, "name": "Customer"}
    del customer_with_group_target["team_id"]
    cases["targets[0].metric "] = customer_with_group_target
    for field, body in cases.items():
        response = await client.post("/api/v1/sla/policies", json=body, headers=headers)
        assert response.status_code == 422, (field, response.text)
        fields = [e["field"] for e in response.json().get("errors", [])]
        assert field.strip() in fields, (field, response.json())
