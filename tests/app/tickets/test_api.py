from __future__ import annotations

import base64

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditLog
from app.outbox.models import OutboxEvent
from tests.factories.agents import auth_headers, make_agent, make_team

NEW_TICKET = {
    "subject": "Printer on fire",
    "body": "It is very warm here.",
    "priority": "high",
    "contact": {"email": "Pat@Customer.test", "name": "Pat"},
}


async def test_create_ticket_answers_the_documented_shape(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await make_agent(db_session, role="admin")
    headers = await auth_headers(db_session, admin)

    response = await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)

    assert response.status_code == 201, response.text
    ticket = response.json()
    assert {"id", "number", "status", "priority", "contact_id", "assignee_id"} <= ticket.keys()
    assert ticket["status"] == "new"
    assert ticket["priority"] == "high"
    assert ticket["number"] >= 1000
    assert ticket["channel"] == "api"
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)).json()
    assert [m["body_text"] for m in detail["messages"]] == ["It is very warm here."]
    assert detail["messages"][0]["direction"] == "inbound"
    topics = (
        await db_session.scalars(
            select(OutboxEvent.topic).where(OutboxEvent.ticket_id == ticket["id"])
        )
    ).all()
    assert sorted(topics) == ["message.created", "ticket.created"]


async def test_same_email_in_another_case_reuses_the_contact(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    first = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)).json()
    second_body = {**NEW_TICKET, "contact": {"email": "pat@customer.TEST"}}
    second = (await client.post("/api/v1/tickets", json=second_body, headers=headers)).json()

    assert first["contact_id"] == second["contact_id"]


async def test_status_transitions_are_validated(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    ticket = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)).json()
    url = f"/api/v1/tickets/{ticket['id']}"

    closed = await client.patch(url, json={"status": "closed"}, headers=headers)
    assert closed.status_code == 200
    assert closed.json()["closed_at"] is not None
    reopened = await client.patch(url, json={"status": "open"}, headers=headers)

    assert reopened.status_code == 422
    assert reopened.json()["errors"][0]["field"] == "status"


async def test_solved_ticket_can_reopen_and_clears_solved_at(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    ticket = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)).json()
    url = f"/api/v1/tickets/{ticket['id']}"

    solved = (await client.patch(url, json={"status": "solved"}, headers=headers)).json()
    reopened = (await client.patch(url, json={"status": "open"}, headers=headers)).json()

    assert solved["solved_at"] is not None
    assert reopened["solved_at"] is None
    assert reopened["last_seq"] == solved["last_seq"] + 1


async def test_update_changes_fields_and_audits_before_and_after(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    admin = await make_agent(db_session, role="admin")
    team = await make_team(db_session)
    other = await make_agent(db_session)
    headers = await auth_headers(db_session, admin)
    ticket = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)).json()

    response = await client.patch(
        f"/api/v1/tickets/{ticket['id']}",
        json={
            "assignee_id": other.id,
            "team_id": team.id,
            "tags": ["VIP", "vip", "billing"],
            "priority": "urgent",
        },
        headers=headers,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["assignee_id"], body["team_id"], body["tags"], body["priority"]) == (
        other.id,
        team.id,
        ["vip", "billing"],
        "urgent",
    )
    audit = await db_session.scalar(
        select(AuditLog).where(
            AuditLog.entity_id == ticket["id"], AuditLog.action == "ticket.update"
        )
    )
    assert audit is not None
    assert audit.before["priority"] == "high"
    assert audit.after["priority"] == "urgent"


async def test_unknown_assignee_names_the_field(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    ticket = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)).json()

    response = await client.patch(
        f"/api/v1/tickets/{ticket['id']}", json={"assignee_id": 999999}, headers=headers
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "assignee_id"


async def test_reply_and_internal_note(client: AsyncClient, db_session: AsyncSession) -> None:
    agent = await make_agent(db_session)
    headers = await auth_headers(db_session, agent)
    ticket = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)).json()
    url = f"/api/v1/tickets/{ticket['id']}/messages"

    note = await client.post(
        url, json={"body": "Customer is a VIP", "internal": True}, headers=headers
    )
    reply = await client.post(
        url,
        json={
            "body": "",
            "html": "<p onclick='x()'>On it<script>alert(1)</script></p>",
            "internal": False,
        },
        headers=headers,
    )

    assert note.status_code == 201
    assert reply.status_code == 422  # an empty body is refused
    reply = await client.post(
        url,
        json={"body": "On it", "html": "<p onclick='x()'>On it<script>alert(1)</script></p>"},
        headers=headers,
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["body_html"] == "<p>On it</p>"
    assert reply.json()["status"] == "sent"  # api channel: nothing to deliver
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)).json()
    assert [m["seq"] for m in detail["messages"]] == [2, 3, 4]
    assert [m["internal"] for m in detail["messages"]] == [False, True, False]
    assert detail["status"] == "open"  # the first public reply opens a new ticket
    assert detail["first_responded_at"] is not None


async def test_list_filters_and_cursor_pagination(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="supervisor"))
    created = []
    for i in range(7):
        body = {
            **NEW_TICKET,
            "priority": "urgent" if i % 2 else "low",
            "tags": ["even"] if i % 2 == 0 else [],
        }
        created.append((await client.post("/api/v1/tickets", json=body, headers=headers)).json())

    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2, "priority": "urgent"}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/tickets", params=params, headers=headers)).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break

    urgent = [t["id"] for t in created if t["priority"] == "urgent"]
    assert seen == sorted(urgent, reverse=True)
    tagged = (await client.get("/api/v1/tickets", params={"tag": "even"}, headers=headers)).json()
    assert {t["id"] for t in tagged["items"]} == {
        t["id"] for t in created if t["priority"] == "low"
    }


async def test_bad_cursor_and_limit_name_the_field(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session))

    bad_cursor = await client.get("/api/v1/tickets", params={"cursor": "!!nope"}, headers=headers)
    bad_limit = await client.get("/api/v1/tickets", params={"limit": 0}, headers=headers)
    bad_status = await client.get("/api/v1/tickets", params={"status": "lost"}, headers=headers)

    # A malformed query parameter is a 400 (the request is wrong), naming the parameter.
    for response, field in ((bad_cursor, "cursor"), (bad_limit, "limit"), (bad_status, "status")):
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["field"] == field


async def test_a_time_filter_takes_rfc3339_only(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session))

    # Found by fuzzing: "0.5" was read as a Unix timestamp and accepted.
    for value in ("0.5", "1700000000", "2026-12-02T10:00:00", "2026-02-30T10:00:00Z", "yesterday"):
        response = await client.get(
            "/api/v1/tickets", params={"updated_before": value}, headers=headers
        )
        assert response.status_code == 400, (value, response.text)
        assert response.json()["errors"][0]["field"] == "updated_before"
    fine = await client.get(
        "/api/v1/tickets", params={"updated_before": "2099-12-02T10:00:00+01:00"}, headers=headers
    )
    assert fine.status_code == 200, fine.text


async def test_merge_moves_messages_and_closes_the_source(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    source = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)).json()
    target = (
        await client.post("/api/v1/tickets", json={**NEW_TICKET, "subject": "Dup"}, headers=headers)
    ).json()
    await client.post(
        f"/api/v1/tickets/{source['id']}/messages",
        json={"body": "note", "internal": True},
        headers=headers,
    )

    merged = await client.post(
        f"/api/v1/tickets/{source['id']}/merge", json={"into_id": target["id"]}, headers=headers
    )

    assert merged.status_code == 201, merged.text
    detail = (await client.get(f"/api/v1/tickets/{target['id']}", headers=headers)).json()
    assert len(detail["messages"]) == 3
    seqs = [m["seq"] for m in detail["messages"]]
    assert seqs == sorted(set(seqs))
    old = (await client.get(f"/api/v1/tickets/{source['id']}", headers=headers)).json()
    assert old["status"] == "closed"
    assert old["merged_into_id"] == target["id"]
    assert old["messages"] == []
    again = await client.post(
        f"/api/v1/tickets/{source['id']}/merge", json={"into_id": target["id"]}, headers=headers
    )
    assert again.status_code == 422


async def test_bulk_update_reports_each_ticket(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    a = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)).json()
    b = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)).json()
    await client.patch(f"/api/v1/tickets/{b['id']}", json={"status": "closed"}, headers=headers)

    response = await client.post(
        "/api/v1/tickets/bulk",
        json={
            "ids": [a["id"], b["id"], 987654],
            "changes": {"status": "pending", "add_tags": ["later"]},
        },
        headers=headers,
    )

    assert response.status_code == 201, response.text
    results = {r["id"]: r for r in response.json()["results"]}
    assert results[a["id"]]["ok"] is True
    assert results[b["id"]]["ok"] is False
    assert results[987654]["code"] == "not_found"
    updated = (await client.get(f"/api/v1/tickets/{a['id']}", headers=headers)).json()
    assert (updated["status"], updated["tags"]) == ("pending", ["later"])


async def test_agent_sees_only_own_and_team_tickets(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    team = await make_team(db_session)
    admin_headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    agent = await make_agent(db_session, team_ids=[team.id])
    headers = await auth_headers(db_session, agent)
    team_ticket = (
        await client.post(
            "/api/v1/tickets", json={**NEW_TICKET, "team_id": team.id}, headers=admin_headers
        )
    ).json()
    other_ticket = (
        await client.post("/api/v1/tickets", json=NEW_TICKET, headers=admin_headers)
    ).json()
    own_ticket = (await client.post("/api/v1/tickets", json=NEW_TICKET, headers=headers)).json()

    listed = (await client.get("/api/v1/tickets", headers=headers)).json()
    hidden = await client.get(f"/api/v1/tickets/{other_ticket['id']}", headers=headers)
    patch_hidden = await client.patch(
        f"/api/v1/tickets/{other_ticket['id']}", json={"priority": "low"}, headers=headers
    )

    assert {t["id"] for t in listed["items"]} == {team_ticket["id"], own_ticket["id"]}
    assert own_ticket["assignee_id"] == agent.id
    assert hidden.status_code == 404
    assert patch_hidden.status_code == 404
    history = (
        await client.get(f"/api/v1/contacts/{own_ticket['contact_id']}/tickets", headers=headers)
    ).json()
    assert {t["id"] for t in history["items"]} == {team_ticket["id"], own_ticket["id"]}


async def test_oversized_body_is_refused_with_413(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    huge = {**NEW_TICKET, "body": "x" * (3 * 1024 * 1024)}  # test settings allow 2 MiB bodies

    response = await client.post("/api/v1/tickets", json=huge, headers=headers)

    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


async def test_forged_cursor_beyond_bigint_is_a_400(
    client: AsyncClient, db_session: AsyncSession
) -> None:

    headers = await auth_headers(db_session, await make_agent(db_session))
    forged = base64.urlsafe_b64encode(f"id:{2**70}".encode()).decode()

    response = await client.get("/api/v1/tickets", params={"cursor": forged}, headers=headers)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "cursor"
