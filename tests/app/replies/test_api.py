"""Canned replies with placeholders, macros applied in one action, and the stale-ticket
guard (`expected_seq`) on replies and macros alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.messages.models import Message
from app.messages.service import do_record_delivery
from tests.factories.agents import auth_headers, make_agent, make_team

NEW_TICKET = {
    "subject": "Broken kettle",
    "body": "It does not boil.",
    "contact": {"email": "grace.hopper@customer.test", "name": "Grace Brewster Hopper"},
}


async def open_ticket(client: AsyncClient, headers: dict[str, str], **fields: Any) -> Any:
    response = await client.post("/api/v1/tickets", json=NEW_TICKET | fields, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_canned_reply_fills_in_the_ticket_the_contact_and_the_agent(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    agent = await make_agent(db_session, role="admin", name="Ada Lovelace")
    headers = await auth_headers(db_session, agent)
    ticket = await open_ticket(client, headers)
    body = (
        "Hi {{contact.first_name}}, about #{{ticket.number}} ({{ ticket.subject }}): "
        "{{contact.nickname_missing | ok}} Regards, {{agent.name}}"
    )
    refused = await client.post(
        "/api/v1/canned-replies", json={"name": "Thanks", "body": body}, headers=headers
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body"
    assert "contact.nickname_missing" in refused.text

    body = "Hi {{contact.first_name}}, about #{{ticket.number}} ({{ ticket.subject }}). "
    body += "Regards, {{agent.first_name | the team}} / {{agent.name}}"
    created = await client.post(
        "/api/v1/canned-replies", json={"name": "Thanks", "body": body}, headers=headers
    )
    assert created.status_code == 201, created.text
    reply = created.json()
    rendered = await client.get(
        f"/api/v1/canned-replies/{reply['id']}/render",
        params={"ticket_id": ticket["id"]},
        headers=headers,
    )
    assert rendered.json() == {
        "body": f"Hi Grace, about #{ticket['number']} (Broken kettle). Regards, Ada / Ada Lovelace"
    }


async def test_shared_canned_replies_are_seen_by_the_team_and_changed_by_supervisors(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    team = await make_team(db_session)
    member = await auth_headers(db_session, await make_agent(db_session, team_ids=[team.id]))
    outsider = await auth_headers(db_session, await make_agent(db_session))
    supervisor = await auth_headers(db_session, await make_agent(db_session, role="supervisor"))
    shared = {"name": "Refund policy", "body": "30 days.", "visibility": "team", "team_id": team.id}

    created = await client.post("/api/v1/canned-replies", json=shared, headers=supervisor)
    assert created.status_code == 201, created.text
    reply_id = created.json()["id"]
    listed = (await client.get("/api/v1/canned-replies", headers=member)).json()
    assert [(r["name"], r["editable"]) for r in listed] == [("Refund policy", False)]
    assert (await client.get("/api/v1/canned-replies", headers=outsider)).json() == []
    patch = await client.patch(
        f"/api/v1/canned-replies/{reply_id}", json={"body": "60 days."}, headers=member
    )
    assert patch.status_code == 403
    everyone = await client.post(
        "/api/v1/canned-replies", json={"name": "x", "body": "y", "visibility": "everyone"},
        headers=member,
    )  # fmt: skip
    assert everyone.status_code == 403
    assert (
        await client.patch(
            f"/api/v1/canned-replies/{reply_id}", json={"body": "60 days."}, headers=supervisor
        )
    ).json()["body"] == "60 days."


async def test_a_macro_replies_and_sets_fields_in_one_action(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    team = await make_team(db_session)
    agent = await make_agent(db_session, team_ids=[team.id], name="Alan Turing")
    headers = await auth_headers(db_session, agent)
    ticket = await open_ticket(client, headers, tags=["kettle", "new-customer"])
    actions = {
        "reply": {"body": "Thanks {{contact.first_name}}, a new kettle is on its way."},
        "status": "solved",
        "priority": "low",
        "assignee": "me",
        "team_id": team.id,
        "add_tags": ["Replacement"],
        "remove_tags": ["new-customer"],
    }
    macro = await client.post(
        "/api/v1/macros", json={"name": "Send a replacement", "actions": actions}, headers=headers
    )
    assert macro.status_code == 201, macro.text

    applied = await client.post(
        f"/api/v1/macros/{macro.json()['id']}/apply",
        json={"ticket_id": ticket["id"], "expected_seq": ticket["last_seq"]},
        headers=headers,
    )
    assert applied.status_code == 200, applied.text
    result = applied.json()
    assert result["message"]["body_text"] == "Thanks Grace, a new kettle is on its way."
    assert result["message"]["internal"] is False
    changed = result["ticket"]
    assert (changed["status"], changed["priority"]) == ("solved", "low")
    assert (changed["assignee_id"], changed["team_id"]) == (agent.id, team.id)
    assert changed["tags"] == ["kettle", "replacement"]
    events = (await client.get(f"/api/v1/tickets/{ticket['id']}/events", headers=headers)).json()
    # The reply (with its automatic new -> open), then the macro's changes in one event.
    assert [e["type"] for e in events["items"]][2:] == [
        "message.created",
        "ticket.updated",
        "ticket.updated",
    ]
    assert events["next_since"] == changed["last_seq"]


async def test_a_macro_that_cannot_finish_changes_nothing(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    ticket = await open_ticket(client, headers)
    await client.patch(f"/api/v1/tickets/{ticket['id']}", json={"status": "open"}, headers=headers)
    # A note, then a status an open ticket cannot go back to.
    actions = {"reply": {"body": "Escalated.", "internal": True}, "status": "new"}
    macro = (
        await client.post(
            "/api/v1/macros", json={"name": "Bad", "actions": actions}, headers=headers
        )
    ).json()

    applied = await client.post(
        f"/api/v1/macros/{macro['id']}/apply", json={"ticket_id": ticket["id"]}, headers=headers
    )

    assert applied.status_code == 422
    assert applied.json()["errors"][0]["field"] == "status"
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=headers)).json()
    assert [m["body_text"] for m in detail["messages"]] == ["It does not boil."]


async def test_a_macro_that_does_nothing_or_names_an_unknown_placeholder_is_refused(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    for actions, field in [
        ({}, "actions"),
        ({"reply": {"body": "Hi {{contact.age}}"}}, "reply.body"),
        ({"team_id": 1, "clear_team": True}, "clear_team"),
        ({"status": "gone"}, "status"),
    ]:
        response = await client.post(
            "/api/v1/macros", json={"name": "M", "actions": actions}, headers=headers
        )
        assert response.status_code == 422, (actions, response.text)
        assert field in response.text


async def test_a_reply_to_a_ticket_changed_since_it_was_read_is_refused(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    ada = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    bob = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    ticket = await open_ticket(client, ada)
    url = f"/api/v1/tickets/{ticket['id']}/messages"
    seen = ticket["last_seq"]
    first = await client.post(url, json={"body": "On it.", "expected_seq": seen}, headers=ada)
    assert first.status_code == 201, first.text
    seen = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=ada)).json()["last_seq"]

    # Ada's own change, and her reply's delivery, move the seq on but change nothing she
    # answers.
    await client.patch(f"/api/v1/tickets/{ticket['id']}", json={"tags": ["vip"]}, headers=ada)
    message = await db_session.scalar(select(Message).where(Message.id == first.json()["id"]))
    assert message is not None
    await do_record_delivery(
        db_session, message_id=message.id, status="delivered", now=datetime.now(UTC)
    )
    await db_session.flush()
    again = await client.post(url, json={"body": "Still on it.", "expected_seq": seen}, headers=ada)
    assert again.status_code == 201, again.text
    seen = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=ada)).json()["last_seq"]

    # Bob raises the priority meanwhile: Ada's reply is refused, and nothing is sent.
    await client.patch(f"/api/v1/tickets/{ticket['id']}", json={"priority": "urgent"}, headers=bob)
    stale = await client.post(url, json={"body": "Done!", "expected_seq": seen}, headers=ada)
    assert stale.status_code == 409
    assert stale.json()["code"] == "ticket_changed"
    detail = (await client.get(f"/api/v1/tickets/{ticket['id']}", headers=ada)).json()
    assert "Done!" not in [m["body_text"] for m in detail["messages"]]
    since = await client.get(
        f"/api/v1/tickets/{ticket['id']}/events", params={"since": seen}, headers=ada
    )
    assert [e["data"]["changes"] for e in since.json()["items"]] == [
        {"priority": {"from": "normal", "to": "urgent"}}
    ]
    ahead = await client.post(url, json={"body": "x", "expected_seq": 10_000}, headers=ada)
    assert ahead.status_code == 422
    assert ahead.json()["errors"][0]["field"] == "expected_seq"
