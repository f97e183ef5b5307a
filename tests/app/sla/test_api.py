"""Calendars and policies through the API, and the SLA every ticket then shows."""

from __future__ import annotations

from datetime import datetime, timedelta

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditLog
from app.outbox.models import OutboxEvent
from app.sla.models import SlaTargetEvent
from tests.conftest import FrozenClock
from tests.factories.agents import auth_headers, make_agent

WEEKDAYS_9_TO_5 = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
NEW_TICKET = {
    "subject": "Printer on fire",
    "body": "It is very warm here.",
    "priority": "high",
    "contact": {"email": "pat@customer.test", "name": "Pat"},
}
POLICY = {
    "name": "Standard",
    "targets": [
        {"metric": "first_response", "priority": "high", "minutes": 60},
        {"metric": "resolution", "priority": "high", "minutes": 480},
    ],
}


async def _admin(db_session: AsyncSession) -> dict[str, str]:
    return await auth_headers(db_session, await make_agent(db_session, role="admin"))


async def test_an_admin_adds_a_calendar_with_a_countrys_holidays(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _admin(db_session)
    body = {
        "name": "Berlin office",
        "time_zone": "Europe/Berlin",
        "hours": WEEKDAYS_9_TO_5,
        "holidays": [{"date": "2026-12-24", "name": "Christmas Eve"}],
        "import_holidays": {"country": "DE", "years": [2026]},
    }

    response = await client.post("/api/v1/sla/calendars", json=body, headers=headers)

    assert response.status_code == 201, response.text
    calendar = response.json()
    assert calendar["hours"]["mon"] == [["09:00", "17:00"]]
    assert calendar["hours"]["sat"] == []
    days = {h["date"]: h["name"] for h in calendar["holidays"]}
    assert days["2026-12-24"] == "Christmas Eve"
    assert "2026-10-03" in days  # German Unity Day, from the holidays package
    listed = (await client.get("/api/v1/sla/calendars", headers=headers)).json()
    assert [c["name"] for c in listed] == ["Berlin office"]


async def test_calendar_mistakes_are_422s_naming_the_field(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _admin(db_session)
    base = {"name": "X", "time_zone": "Europe/Berlin", "hours": WEEKDAYS_9_TO_5}
    cases = {
        "time_zone": {**base, "time_zone": "Mars/Olympus"},
        "hours.mon": {**base, "hours": {"mon": [["09:00", "12:00"], ["11:00", "17:00"]]}},
        "hours.tue": {**base, "hours": {"tue": [["17:00", "09:00"]]}},
        "hours.wed[0][1]": {**base, "hours": {"wed": [["09:00", "25:00"]]}},
        "funday": {**base, "hours": {"funday": [["09:00", "17:00"]]}},
        "import_holidays.country": {**base, "import_holidays": {"country": "QQ", "years": [2026]}},
        "hours": {**base, "hours": {}},
    }
    for field, body in cases.items():
        response = await client.post("/api/v1/sla/calendars", json=body, headers=headers)
        assert response.status_code == 422, (field, response.text)
        fields = [e["field"] for e in response.json().get("errors", [])]
        assert any(f.startswith(field) or f.endswith(field) for f in fields), (field, fields)


async def test_only_admins_manage_calendars_and_policies(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    supervisor = await auth_headers(db_session, await make_agent(db_session, role="supervisor"))
    agent = await auth_headers(db_session, await make_agent(db_session, role="agent"))
    calendar = {"name": "X", "time_zone": "UTC", "hours": WEEKDAYS_9_TO_5}

    for headers in (supervisor, agent):
        assert (
            await client.post("/api/v1/sla/calendars", json=calendar, headers=headers)
        ).status_code == 403
        assert (
            await client.post("/api/v1/sla/policies", json=POLICY, headers=headers)
        ).status_code == 403
    assert (await client.get("/api/v1/sla/policies", headers=supervisor)).status_code == 200
    assert (await client.get("/api/v1/sla/policies", headers=agent)).status_code == 403


async def test_a_new_ticket_shows_its_policy_and_due_times(
    client: AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    headers = await _admin(db_session)
    policy = await client.post("/api/v1/sla/policies", json=POLICY, headers=headers)
    assert policy.status_code == 201, policy.text

    ticket = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)).json()

    sla = ticket["sla"]
    assert sla["policy_id"] == policy.json()["id"]
    targets = {t["metric"]: t for t in sla["targets"]}
    assert datetime.fromisoformat(targets["first_response"]["due_at"]) == clock.now + timedelta(
        minutes=60
    )
    assert datetime.fromisoformat(targets["first_response"]["warning_at"]) == clock.now + timedelta(
        minutes=48
    )
    assert datetime.fromisoformat(targets["resolution"]["due_at"]) == clock.now + timedelta(hours=8)
    assert targets["first_response"]["status"] == "running"
    assert targets["first_response"]["met_at"] is None


async def test_a_reply_meets_the_first_response_and_records_it(
    client: AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    headers = await _admin(db_session)
    await client.post("/api/v1/sla/policies", json=POLICY, headers=headers)
    ticket = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)).json()
    clock.advance(minutes=10)

    reply = await client.post(
        f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "On it."}, headers=headers
    )
    assert reply.status_code == 201, reply.text

    shown = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)).json()
    first = next(t for t in shown["sla"]["targets"] if t["metric"] == "first_response")
    assert first["status"] == "met"
    assert datetime.fromisoformat(first["met_at"]) == clock.now
    recorded = (
        await db_session.scalars(
            select(SlaTargetEvent).where(SlaTargetEvent.ticket_id == ticket["id"])
        )
    ).all()
    assert [(r.metric, r.kind, r.at) for r in recorded] == [("first_response", "met", clock.now)]


async def test_business_hours_push_the_due_time_past_the_weekend(
    client: AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    headers = await _admin(db_session)
    calendar = await client.post(
        "/api/v1/sla/calendars",
        json={"name": "NY", "time_zone": "America/New_York", "hours": WEEKDAYS_9_TO_5},
        headers=headers,
    )
    await client.post(
        "/api/v1/sla/policies",
        json={**POLICY, "calendar_id": calendar.json()["id"]},
        headers=headers,
    )
    # Friday 16:30 in New York (EST): 30 minutes left that day, 30 more on Monday.
    clock.now = datetime.fromisoformat("2026-12-04T21:30:00+00:00")

    ticket = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)).json()

    first = next(t for t in ticket["sla"]["targets"] if t["metric"] == "first_response")
    assert datetime.fromisoformat(first["due_at"]) == datetime.fromisoformat(
        "2026-12-07T14:30:00+00:00"
    )


async def test_conditions_pick_the_first_matching_policy_by_position(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _admin(db_session)
    general = (
        await client.post(
            "/api/v1/sla/policies",
            json={**POLICY, "name": "General", "position": 10},
            headers=headers,
        )
    ).json()
    vip = (
        await client.post(
            "/api/v1/sla/policies",
            json={**POLICY, "name": "VIP", "position": 1, "conditions": {"tags": ["vip"]}},
            headers=headers,
        )
    ).json()

    plain = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)).json()
    tagged = (
        await client.post("/api/v1/tickets", json={**NEW_TICKET, "tags": ["VIP"]}, headers=headers)
    ).json()

    assert plain["sla"]["policy_id"] == general["id"]
    assert tagged["sla"]["policy_id"] == vip["id"]


async def test_policy_mistakes_are_422s_naming_the_field(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _admin(db_session)
    twice = [POLICY["targets"][0], POLICY["targets"][0]]
    cases = {
        "targets": {**POLICY, "targets": twice},
        "targets[0].metric": {**POLICY, "targets": [{"metric": "speed", "priority": "high",
                                                     "minutes": 5}]},
        "targets[0].minutes": {**POLICY, "targets": [{"metric": "resolution", "priority": "high",
                                                      "minutes": 0}]},
        "calendar_id": {**POLICY, "calendar_id": 999999},
        "warning_fraction": {**POLICY, "warning_fraction": 1.5},
        "actions.breached[0].type": {**POLICY, "actions": {"breached": [{"type": "explode"}]}},
    }  # fmt: skip
    for field, body in cases.items():
        response = await client.post("/api/v1/sla/policies", json=body, headers=headers)
        assert response.status_code == 422, (field, response.text)
        fields = [e["field"] for e in response.json().get("errors", [])]
        assert any(f.startswith(field) for f in fields), (field, response.json())


async def test_changing_a_policy_asks_for_a_recomputation(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _admin(db_session)
    policy = (await client.post("/api/v1/sla/policies", json=POLICY, headers=headers)).json()

    response = await client.patch(
        f"/api/v1/sla/policies/{policy['id']}", json={"warning_fraction": 0.5}, headers=headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["warning_fraction"] == 0.5
    topics = (
        await db_session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.topic == "sla.rules_changed")
        )
    ).all()
    assert {"policy_id": policy["id"]} in topics


async def test_a_supervisor_freezes_a_due_time_and_it_is_audited(
    client: AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    admin = await _admin(db_session)
    supervisor = await make_agent(db_session, role="supervisor")
    headers = await auth_headers(db_session, supervisor)
    await client.post("/api/v1/sla/policies", json=POLICY, headers=admin)
    ticket = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=admin)).json()
    frozen = clock.now + timedelta(hours=5)

    response = await client.put(
        f"/api/v1/sla/tickets/{ticket['id']}/due",
        json={"metric": "first_response", "due_at": frozen.isoformat()},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    first = next(t for t in response.json()["sla"]["targets"] if t["metric"] == "first_response")
    assert datetime.fromisoformat(first["due_at"]) == frozen
    assert first["overridden"] is True
    # Frozen: a pause no longer moves it.
    clock.advance(minutes=5)
    await client.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "pending"}, headers=admin)
    clock.advance(minutes=30)
    await client.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "open"}, headers=admin)
    shown = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=admin)).json()
    first = next(t for t in shown["sla"]["targets"] if t["metric"] == "first_response")
    assert datetime.fromisoformat(first["due_at"]) == frozen
    audit = (
        await db_session.scalars(select(AuditLog).where(AuditLog.action == "ticket.sla_override"))
    ).one()
    assert audit.actor_id == supervisor.id
    assert audit.after["due_at"] == frozen.isoformat()
    agent = await auth_headers(db_session, await make_agent(db_session, role="agent"))
    refused = await client.put(
        f"/api/v1/sla/tickets/{ticket['id']}/due",
        json={"metric": "first_response", "due_at": None},
        headers=agent,
    )
    assert refused.status_code == 403


async def test_breaches_and_at_risk_list_open_tickets_by_due_time(
    client: AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    headers = await _admin(db_session)
    await client.post("/api/v1/sla/policies", json=POLICY, headers=headers)
    late = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)).json()
    clock.advance(minutes=30)
    soon = (
        await client.post("/api/v1/tickets", json={**NEW_TICKET, "channel": "email"},
                          headers=headers)
    ).json()  # fmt: skip
    clock.advance(minutes=40)  # late's first response was due 10 minutes ago, soon's in 20

    breaches = (await client.get("/api/v1/sla/breaches", headers=headers)).json()
    at_risk = (
        await client.get("/api/v1/sla/at-risk", params={"within_minutes": 30}, headers=headers)
    ).json()

    assert [(i["ticket_id"], i["metric"], i["overdue_seconds"]) for i in breaches["items"]] == [
        (late["id"], "first_response", 600)
    ]
    assert [(i["ticket_id"], i["overdue_seconds"]) for i in at_risk["items"]] == [
        (soon["id"], -1200)
    ]
    by_channel = await client.get(
        "/api/v1/sla/at-risk", params={"within_minutes": 30, "channel": "api"}, headers=headers
    )
    assert by_channel.json()["items"] == []
    bad = await client.get("/api/v1/sla/breaches", params={"due_after": "yesterday"},
                           headers=headers)  # fmt: skip
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "due_after"


async def test_the_report_counts_from_the_recorded_target_events(
    client: AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    headers = await _admin(db_session)
    start = clock.now
    await client.post("/api/v1/sla/policies", json=POLICY, headers=headers)
    quick = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)).json()
    slow = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)).json()
    clock.advance(minutes=10)
    await client.post(f"/api/v1/tickets/{quick['id']}/messages", json={"body": "Hi"},
                      headers=headers)  # fmt: skip
    clock.advance(minutes=80)  # slow's first response was due 30 minutes ago
    await client.post(f"/api/v1/tickets/{slow['id']}/messages", json={"body": "Sorry"},
                      headers=headers)  # fmt: skip
    period = {
        "since": (start - timedelta(hours=1)).isoformat(),
        "until": (clock.now + timedelta(hours=1)).isoformat(),
        "group_by": "channel",
    }

    report = await client.get("/api/v1/reports/sla", params=period, headers=headers)

    assert report.status_code == 200, report.text
    (row,) = report.json()["rows"]
    assert (row["key"], row["new"], row["solved"]) == ("api", 2, 0)
    assert row["compliance"]["first_response"] == {"met": 1, "breached": 1, "rate": 0.5}
    assert row["times"]["first_response"]["median_seconds"] == 3000  # 10 and 90 minutes
    csv = await client.get("/api/v1/reports/sla.csv", params=period, headers=headers)
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("channel,new,solved,first_response_median_seconds")
    assert lines[1].startswith("api,2,0,3000,")
    agent = await auth_headers(db_session, await make_agent(db_session, role="agent"))
    assert (
        await client.get("/api/v1/reports/sla", params=period, headers=agent)
    ).status_code == 403
    backwards = {**period, "until": period["since"]}
    refused = await client.get("/api/v1/reports/sla", params=backwards, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "until"
