"""What an agent may not see in the console: a ticket of a team they are not in is not in
their lists or counts, not openable by its address, and a change to it does not reach
their socket; and a visitor's chat written as HTML shows as text, never as markup."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from tests.browser.conftest import Committed, Person
from tests.browser.test_console import sign_in
from tests.browser.test_console_chat import chat_visitor, new_chat_inbox
from tests.factories.agents import PASSWORD, auth_headers, make_agent, make_team

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
HOSTILE_CHAT = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> hi'


@dataclass(frozen=True)
class Teams:
    agent: Person
    supervisor: dict[str, str]
    ours_id: int
    theirs_id: int


@pytest.fixture(scope="module")
async def teams(committed: Committed[Any]) -> Teams:
    async def seed(session: AsyncSession) -> Teams:
        ours, theirs = await make_team(session, name="Billing"), await make_team(session)
        agent = await make_agent(session, name="Ann Agent", team_ids=[ours.id])
        boss = await make_agent(session, role="supervisor")
        person = Person(email=agent.email, password=PASSWORD, name=agent.name, id=agent.id)
        return Teams(person, await auth_headers(session, boss), ours.id, theirs.id)

    return await committed(seed)


async def open_ticket(server_url: str, teams: Teams, subject: str, team_id: int) -> int:
    async with httpx.AsyncClient(base_url=server_url, headers=teams.supervisor) as http:
        body = {
            "subject": subject,
            "body": "Please help",
            "contact": {"email": "pat@customer.test"},
            "team_id": team_id,
        }
        response = await http.post("/api/v1/tickets", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_an_agent_never_sees_a_ticket_outside_their_teams(
    page: Page, teams: Teams, server_url: str
) -> None:
    await open_ticket(server_url, teams, "Our refund", teams.ours_id)
    hidden = await open_ticket(server_url, teams, "Their secret", teams.theirs_id)
    await page.set_viewport_size(LAPTOP)
    await page.goto("/console/views/my_teams")
    await sign_in(page, teams.agent)
    rows = page.get_by_role("list", name="Tickets").get_by_role("link")
    await expect(rows.filter(has_text="Our refund")).to_be_visible()
    await expect(page.get_by_label("Your availability")).to_be_enabled()
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda text: frames.append(str(text))))

    # A new ticket of the other team, live: nothing arrives (not even its id).
    await open_ticket(server_url, teams, "Their second secret", teams.theirs_id)
    await open_ticket(server_url, teams, "Our second refund", teams.ours_id)
    await expect(rows.filter(has_text="Our second refund")).to_be_visible()
    await expect(rows.filter(has_text="secret")).to_have_count(0)
    sidebar = page.get_by_role("navigation", name="Views")
    await expect(sidebar.get_by_role("link", name="My teams")).to_contain_text("2")

    await page.goto(f"/console/tickets/{hidden}")
    await expect(page.get_by_role("alert")).to_contain_text(f"ticket {hidden} does not exist")
    await expect(page.get_by_text("Their secret")).to_have_count(0)
    assert not [f for f in frames if "secret" in f]


async def test_a_visitors_html_is_text(
    page: Page, admin: Person, server_url: str, committed: Committed[Any]
) -> None:
    inbox = await new_chat_inbox(committed, server_url)
    async with chat_visitor(server_url, inbox) as visitor:
        await visitor.send(type="message.send", client_id="x1", body=HOSTILE_CHAT)
        ticket_id = (await visitor.expect("message.ack"))["ticket_id"]
    await page.goto(f"/console/tickets/{ticket_id}")
    await sign_in(page, admin)
    timeline = page.get_by_role("list", name="Timeline")
    await expect(timeline).to_contain_text('<img src=x onerror="window.pwned=1">')
    assert await timeline.locator("img, script").count() == 0
    assert await page.evaluate("() => window.pwned") is None
