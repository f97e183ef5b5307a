"""The sidebar's views over the API: built-in views and their counts per role, saved views
kept or shared, their tickets page by page, and who may see or change what."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from tests.factories.agents import auth_headers, make_agent, make_team


async def open_ticket(
    client: AsyncClient, headers: dict[str, str], subject: str = "Help", **fields: Any
) -> dict[str, Any]:
    body = {
        "subject": subject,
        "body": "please",
        "contact": {"email": "pat@customer.test", "name": "Pat Doe"},
    }
    response = await client.post("/api/v1/tickets", json=body | fields, headers=headers)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


def counts(views: list[dict[str, Any]]) -> dict[str, int]:
    return {v["key"]: v["count"] for v in views}


async def test_built_in_views_count_only_what_each_agent_may_see(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    ours, theirs = await make_team(db_session), await make_team(db_session)
    agent = await make_agent(db_session, team_ids=[ours.id])
    supervisor = await make_agent(db_session, role="supervisor")
    as_agent = await auth_headers(db_session, agent)
    as_supervisor = await auth_headers(db_session, supervisor)

    await open_ticket(client, as_supervisor, team_id=ours.id)  # unassigned, our team
    mine = await open_ticket(client, as_supervisor, team_id=ours.id, assignee_id=agent.id)
    await open_ticket(client, as_supervisor, team_id=theirs.id)  # unassigned, not ours
    await client.patch(
        f"/api/v1/tickets/{mine['id']}", json={"status": "pending"}, headers=as_supervisor
    )
    solved = await open_ticket(client, as_supervisor, team_id=ours.id)
    await client.patch(
        f"/api/v1/tickets/{solved['id']}", json={"status": "solved"}, headers=as_supervisor
    )

    views = (await client.get("/api/v1/views", headers=as_agent)).json()
    assert [v["key"] for v in views] == [
        "mine",
        "unassigned",
        "my_teams",
        "pending",
        "solved_recently",
    ]
    assert counts(views) == {
        "mine": 1,
        "unassigned": 1,
        "my_teams": 2,
        "pending": 1,
        "solved_recently": 1,
    }

    views = (await client.get("/api/v1/views", headers=as_supervisor)).json()
    # A supervisor in no team has no "my teams", and sees every team's tickets.
    assert counts(views) == {
        "mine": 0,
        "unassigned": 2,
        "all": 3,
        "pending": 1,
        "solved_recently": 1,
    }


async def test_a_view_lists_its_tickets_newest_first_by_cursor_with_their_contact(
    client: AsyncClient, db_session: AsyncSession, statements: list[str]
) -> None:
    admin = await make_agent(db_session, role="admin")
    headers = await auth_headers(db_session, admin)
    opened = [await open_ticket(client, headers, f"Ticket {n}") for n in range(5)]

    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        statements.clear()
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (
            await client.get("/api/v1/views/unassigned/tickets", params=params, headers=headers)
        ).json()
        # The actor, then one query for the page: no query per ticket or contact.
        assert len([s for s in statements if "FROM tickets" in s]) == 1, statements
        seen += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert [t["subject"] for t in seen] == [t["subject"] for t in reversed(opened)]
    assert seen[0]["contact"] == {
        "id": opened[0]["contact_id"],
        "name": "Pat Doe",
        "email": "pat@customer.test",
    }


async def test_ids_asks_which_of_some_tickets_are_still_in_a_view(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    """What a live list asks after hearing that tickets changed: which are still in it."""
    team, other = await make_team(db_session), await make_team(db_session)
    agent = await make_agent(db_session, team_ids=[team.id])
    supervisor = await make_agent(db_session, role="supervisor")
    as_agent = await auth_headers(db_session, agent)
    as_supervisor = await auth_headers(db_session, supervisor)
    kept = await open_ticket(client, as_supervisor, "Kept", team_id=team.id)
    taken = await open_ticket(client, as_supervisor, "Taken", team_id=team.id)
    hidden = await open_ticket(client, as_supervisor, "Not ours", team_id=other.id)
    await client.patch(
        f"/api/v1/tickets/{taken['id']}", json={"assignee_id": supervisor.id}, headers=as_supervisor
    )

    params = {"ids": [kept["id"], taken["id"], hidden["id"]]}
    page = await client.get("/api/v1/views/unassigned/tickets", params=params, headers=as_agent)
    assert page.status_code == 200, page.text
    # The taken one left the view; the other team's was never the agent's to know of.
    assert [t["id"] for t in page.json()["items"]] == [kept["id"]]

    too_many = {"ids": list(range(1, 202))}
    refused = await client.get(
        "/api/v1/views/unassigned/tickets", params=too_many, headers=as_agent
    )
    assert refused.status_code == 400
    assert "ids" in refused.text


async def test_saved_views_are_personal_or_shared_with_a_team(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    team = await make_team(db_session)
    ada = await make_agent(db_session, team_ids=[team.id])
    bob = await make_agent(db_session, team_ids=[team.id])
    eve = await make_agent(db_session)  # in no team
    as_ada, as_bob, as_eve = [await auth_headers(db_session, a) for a in (ada, bob, eve)]
    admin = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    await open_ticket(client, admin, "Urgent one", team_id=team.id, priority="urgent")
    await open_ticket(client, admin, "Calm one", team_id=team.id, priority="low")

    urgent = {"name": "Urgent", "filters": {"priority": ["urgent", "high"], "assignee": "none"}}
    personal = await client.post("/api/v1/views", json=urgent, headers=as_ada)
    assert personal.status_code == 201, personal.text
    view = personal.json()
    assert (view["kind"], view["count"], view["editable"], view["visibility"]) == (
        "saved",
        1,
        True,
        "personal",
    )
    tickets = (await client.get(f"/api/v1/views/{view['id']}/tickets", headers=as_ada)).json()
    assert [t["subject"] for t in tickets["items"]] == ["Urgent one"]

    # Bob does not see Ada's personal view at all: not listed, and its id answers 404.
    assert str(view["id"]) not in {
        v["key"] for v in (await client.get("/api/v1/views", headers=as_bob)).json()
    }
    assert (
        await client.get(f"/api/v1/views/{view['id']}/tickets", headers=as_bob)
    ).status_code == 404
    assert (
        await client.patch(f"/api/v1/views/{view['id']}", json={"name": "x"}, headers=as_bob)
    ).status_code == 404

    shared = await client.patch(
        f"/api/v1/views/{view['id']}",
        json={"visibility": "team", "team_id": team.id},
        headers=as_ada,
    )
    assert shared.status_code == 200, shared.text
    bobs = {v["key"]: v for v in (await client.get("/api/v1/views", headers=as_bob)).json()}
    assert bobs[str(view["id"])]["count"] == 1
    assert bobs[str(view["id"])]["editable"] is False
    assert (await client.delete(f"/api/v1/views/{view['id']}", headers=as_bob)).status_code == 403
    # Eve is in no team: she cannot see it, and cannot share with a team that is not hers.
    assert (
        await client.get(f"/api/v1/views/{view['id']}/tickets", headers=as_eve)
    ).status_code == 404
    refused = await client.post(
        "/api/v1/views", json=urgent | {"visibility": "team", "team_id": team.id}, headers=as_eve
    )
    assert refused.status_code == 403
    everyone = await client.post(
        "/api/v1/views", json=urgent | {"visibility": "everyone"}, headers=as_ada
    )
    assert everyone.status_code == 403
    assert (
        await client.post("/api/v1/views", json=urgent | {"visibility": "everyone"}, headers=admin)
    ).status_code == 201

    assert (await client.delete(f"/api/v1/views/{view['id']}", headers=as_ada)).status_code == 204
    assert (
        await client.get(f"/api/v1/views/{view['id']}/tickets", headers=as_ada)
    ).status_code == 404


async def test_a_team_shared_mine_means_whoever_looks(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    team = await make_team(db_session)
    ada, bob = [await make_agent(db_session, team_ids=[team.id]) for _ in range(2)]
    as_ada, as_bob = await auth_headers(db_session, ada), await auth_headers(db_session, bob)
    await open_ticket(client, as_ada, "Ada's", team_id=team.id, assignee_id=ada.id)
    body = {
        "name": "My high",
        "filters": {"assignee": "me"},
        "visibility": "team",
        "team_id": team.id,
    }
    view = (await client.post("/api/v1/views", json=body, headers=as_ada)).json()

    async def subjects(headers: dict[str, str]) -> list[str]:
        page = (await client.get(f"/api/v1/views/{view['id']}/tickets", headers=headers)).json()
        return [t["subject"] for t in page["items"]]

    assert await subjects(as_ada) == ["Ada's"]
    assert await subjects(as_bob) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "filters": {"status": ["gone"]}}, "status"),
        ({"name": "", "filters": {}}, "name"),
        ({"name": "x", "filters": {"assignee": "someone"}}, "assignee"),
        ({"name": "x", "filters": {}, "visibility": "team"}, "team_id"),
        ({"name": "x", "filters": {}, "visibility": "team", "team_id": 999_999}, "team_id"),
        ({"name": "x", "filters": {"colour": "red"}}, "colour"),
    ],
)
async def test_a_bad_view_is_refused_naming_the_field(
    client: AsyncClient, db_session: AsyncSession, body: dict[str, Any], field: str
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    response = await client.post("/api/v1/views", json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert field in response.text


async def test_an_unknown_view_is_a_404(client: AsyncClient, db_session: AsyncSession) -> None:
    agent: Agent = await make_agent(db_session)
    headers = await auth_headers(db_session, agent)
    for key in ("all", "nothing", "99999"):  # "all" is for supervisors only
        assert (
            await client.get(f"/api/v1/views/{key}/tickets", headers=headers)
        ).status_code == 404
