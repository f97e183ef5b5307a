"""The board's routing queue: a supervisor sees what waits and why, agents' presence
change live, pauses an agent's routing and assigns a waiting ticket from there."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from app.clock import utc_now
from app.db.engine import SessionMaker, transaction
from app.tickets.models import Ticket
from tests.browser.conftest import Person
from tests.browser.support import screenshot
from tests.browser.test_board import worker_side  # noqa: F401  (the fixture)
from tests.browser.test_console import sign_in
from tests.factories.agents import PASSWORD, auth_headers, make_agent
from tests.routing.driver_support import staff, waiting_ticket

pytestmark = pytest.mark.browser


async def test_the_supervisor_watches_the_queue_and_acts_on_it(
    page: Page,
    server_url: str,
    worker_side: SessionMaker,  # noqa: F811
) -> None:
    async with transaction(worker_side) as session:
        supervisor = await make_agent(
            session, role="supervisor", email="quinn@example.test", name="Quinn Supervisor"
        )
        ada = await staff(session, now=utc_now(), capacity={"chat": 1}, presence="away")
        ada.name = "Ada Away"
        ticket = await waiting_ticket(session, now=utc_now(), subject="Parcel lost in transit")
        ada_headers = await auth_headers(session, ada)
        ticket_id, ada_id = ticket.id, ada.id
    person = Person(email=supervisor.email, password=PASSWORD, name=supervisor.name)

    await page.set_viewport_size({"width": 1366, "height": 900})
    await page.goto("/console/board")
    await sign_in(page, person)
    panel = page.get_by_role("region", name="Routing queue")
    waiting = panel.locator("li.waiting", has_text="Parcel lost in transit")
    await expect(waiting).to_be_visible()
    await expect(waiting.locator(".position")).to_have_text("1")
    agent_row = panel.get_by_role("listitem", name="Ada Away, away")
    await expect(agent_row).to_contain_text("Chat 0/1")

    # Ada comes back: her presence changes on the board without a reload.
    async with httpx.AsyncClient(base_url=server_url, headers=ada_headers) as http:
        back = await http.put("/api/v1/agents/me/presence", json={"status": "online"})
        assert back.status_code == 200, back.text
    await expect(panel.get_by_role("listitem", name="Ada Away, online")).to_be_visible()

    await (
        panel.get_by_role("listitem", name="Ada Away, online")
        .get_by_role("button", name="Pause routing")
        .click()
    )
    await expect(page.get_by_role("status").filter(has_text="Routing paused")).to_be_visible()
    await expect(panel.get_by_role("button", name="Resume routing")).to_be_visible()

    await waiting.get_by_label(f"Assign #{ticket_id} to").select_option(label="Ada Away")
    await expect(
        page.get_by_role("status").filter(has_text=f"#{ticket_id} assigned")
    ).to_be_visible()
    await expect(panel.locator("li.waiting", has_text="Parcel lost in transit")).to_have_count(0)
    await screenshot(page, "board-queue")
    async with worker_side() as session:
        shown = await session.get(Ticket, ticket_id)
        assert shown is not None
        assert shown.assignee_id == ada_id
