"""The console live, over the agent socket: a list that shows a new ticket the moment a
colleague opens it and loses the one a colleague takes, without moving what the agent is
looking at; sidebar counts that follow; and the agent's presence toggle."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from tests.browser.conftest import Committed, Person
from tests.browser.support import screenshot
from tests.browser.test_console import sign_in
from tests.factories.agents import auth_headers, make_agent

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
async def colleague(committed: Committed[Any]) -> dict[str, str]:
    """Bob, a supervisor working through the API (as another console would)."""

    async def seed(session: AsyncSession) -> dict[str, str]:
        bob = await make_agent(session, role="supervisor", name="Bob Kahn")
        return await auth_headers(session, bob)

    return await committed(seed)


async def eventually(read: Callable[[], Awaitable[Any]], expected: Any, within: float = 5) -> None:
    deadline = time.monotonic() + within
    while (value := await read()) != expected:
        assert time.monotonic() < deadline, f"still {value!r}, not {expected!r}"
        await asyncio.sleep(0.05)


async def open_ticket(server_url: str, headers: dict[str, str], subject: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server_url, headers=headers) as http:
        body = {"subject": subject, "body": "Hello?", "contact": {"email": "pat@customer.test"}}
        response = await http.post("/api/v1/tickets", json=body)
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


async def test_a_list_follows_new_and_taken_tickets_and_keeps_its_place(
    page: Page, admin: Person, colleague: dict[str, str], server_url: str
) -> None:
    for n in range(1, 31):
        await open_ticket(server_url, colleague, f"Earlier question {n}")
    await page.set_viewport_size(LAPTOP)
    await page.goto("/console/views/unassigned")
    await sign_in(page, admin)
    await expect(page.get_by_role("heading", name="Unassigned")).to_be_visible()
    rows = page.get_by_role("list", name="Tickets").get_by_role("link")
    await expect(rows).to_have_count(30)
    await expect(page.get_by_role("status").filter(has_text="Reconnecting")).to_be_hidden()
    sidebar = page.get_by_role("navigation", name="Views")
    count = sidebar.get_by_role("link", name=re.compile(r"^Unassigned"))
    await expect(count).to_contain_text("30")

    # The agent scrolled down to question 10; new tickets on top do not move it.
    scroller = page.get_by_test_id("ticket-list")
    question = rows.filter(has_text=re.compile(r"Earlier question 10(?!\d)"))
    await question.evaluate("row => row.scrollIntoView({ block: 'start' })")
    before = await question.evaluate("row => row.getBoundingClientRect().top")

    fresh = await open_ticket(server_url, colleague, "My order never arrived")
    await expect(rows.first).to_contain_text("My order never arrived")
    await expect(count).to_contain_text("31")
    assert await question.evaluate("row => row.getBoundingClientRect().top") == before
    assert await scroller.evaluate("el => el.scrollTop") > 0

    # Bob takes it: it leaves the list of unassigned tickets, here and in the count.
    async with httpx.AsyncClient(base_url=server_url, headers=colleague) as http:
        bob = (await http.get("/api/v1/auth/me")).json()
        taken = await http.patch(f"/api/v1/tickets/{fresh['id']}", json={"assignee_id": bob["id"]})
        assert taken.status_code == 200, taken.text
    await expect(rows.filter(has_text="My order never arrived")).to_have_count(0)
    await expect(count).to_contain_text("30")
    await scroller.evaluate("el => { el.scrollTop = 0 }")
    await screenshot(page, "console-live-list")


async def test_the_presence_toggle_sets_and_keeps_the_agents_availability(
    page: Page, admin: Person, colleague: dict[str, str], server_url: str
) -> None:
    async def presence() -> str:
        async with httpx.AsyncClient(base_url=server_url, headers=colleague) as http:
            agent = (await http.get(f"/api/v1/agents/{admin.id}")).json()
        return str(agent["presence"])

    await page.goto("/console")
    await sign_in(page, admin)
    toggle = page.get_by_label("Your availability")
    await expect(toggle).to_have_value("online")
    await expect(toggle).to_be_enabled()
    assert await presence() == "online"

    await toggle.select_option("away")
    await eventually(presence, "away")

    # A reload opens a new socket; the agent's choice holds.
    await page.reload()
    await expect(toggle).to_have_value("away")
    await expect(toggle).to_be_enabled()
    await eventually(presence, "away")

    await toggle.select_option("offline")
    await eventually(presence, "offline")
    await toggle.select_option("online")
    await eventually(presence, "online")
