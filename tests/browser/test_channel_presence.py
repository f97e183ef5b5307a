"""Presence per channel in the browser: an agent sets chat away from the desk's "By
channel" control while email stays online, and a supervisor's board shows it live."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from app.db.engine import SessionMaker, transaction
from app.inboxes.channels import CHANNEL_NAMES
from tests.browser.conftest import Person
from tests.browser.support import screenshot
from tests.browser.test_board import worker_side  # noqa: F401  (the fixture)
from tests.browser.test_console import sign_in
from tests.factories.agents import PASSWORD, make_agent

pytestmark = pytest.mark.browser


async def test_an_agent_sets_chat_away_by_channel_and_the_board_shows_it(
    page: Page,
    browser: Browser,
    server_url: str,
    worker_side: SessionMaker,  # noqa: F811
) -> None:
    async with transaction(worker_side) as session:
        supervisor = await make_agent(
            session, role="supervisor", email="sam@example.test", name="Sam Supervisor"
        )
        ada = await make_agent(session, email="ada.channels@example.test", name="Ada Channels")
        ada.capacity = {"email": 10, "chat": 3}
        ada_id = ada.id
    boss = Person(email=supervisor.email, password=PASSWORD, name=supervisor.name)
    agent = Person(email=ada.email, password=PASSWORD, name=ada.name)

    await page.set_viewport_size({"width": 1366, "height": 900})
    await page.goto("/console/board")
    await sign_in(page, boss)
    panel = page.get_by_role("region", name="Routing queue")
    await expect(panel).to_be_visible()

    context = await browser.new_context(
        base_url=server_url, viewport={"width": 1366, "height": 768}, locale="en-US"
    )
    context.set_default_timeout(10_000)
    try:
        desk = await context.new_page()
        await desk.goto("/console")
        await sign_in(desk, agent)
        overall = desk.get_by_label("Your availability")
        await expect(overall).to_have_value("online")
        await expect(overall).to_be_enabled()
        # The board hears Ada come online.
        await expect(panel.get_by_role("listitem", name="Ada Channels, online")).to_be_visible()

        await desk.get_by_text("By channel").click()
        chat = desk.get_by_label("Chat availability")
        email = desk.get_by_label("Email availability")
        await expect(chat).to_have_value("online")
        await expect(chat).to_be_enabled()
        await chat.select_option("away")
        await expect(desk.locator("summary")).to_have_text("By channel: Chat away")
        await expect(email).to_have_value("online")
        await expect(overall).to_have_value("online")
        await screenshot(desk, "console-presence-by-channel")

        # The supervisor's board shows it without a reload: chat away, email online.
        row = panel.get_by_role("listitem", name="Ada Channels, online")
        await expect(row.locator(".channels")).to_have_text("Email online, Chat away")
        await screenshot(page, "board-presence-by-channel")

        # The server holds it per channel, and a reload of the desk keeps it.
        await desk.reload()
        await expect(desk.get_by_label("Your availability")).to_be_enabled()
        await expect(desk.locator("summary")).to_have_text("By channel: Chat away")
    finally:
        await context.close()
    async with worker_side() as session:
        from app.agents.service import presence_view

        view = await presence_view(session, ada_id)
    assert view.status == "online"
    assert {c: s.status for c, s in view.channels.items()} == {
        c: "away" if c == "chat" else "online" for c in CHANNEL_NAMES
    }
