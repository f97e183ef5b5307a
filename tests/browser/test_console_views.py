"""The console's views as an agent works through them: the sidebar's counts, a long list
paged as they scroll, the place in the list kept across a visit to a ticket, and a saved
view of their own."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.tickets.service import do_create_ticket
from tests.browser.conftest import Committed, Person
from tests.browser.support import assert_accessible, screenshot
from tests.browser.test_console import sign_in

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}  # the screen the console is laid out for

TICKETS = 60


@pytest.fixture(scope="module")
async def orders(admin: Person, committed: Committed[Any]) -> None:
    """60 unassigned tickets "Order 1" to "Order 60", every twentieth one urgent."""

    async def seed(session: AsyncSession) -> None:
        actor = Actor(admin.id, "admin", frozenset(), frozenset({"read", "write"}))
        for n in range(1, TICKETS + 1):
            await do_create_ticket(
                session,
                actor,
                subject=f"Order {n}",
                body=f"Where is order {n}?",
                contact_email=f"buyer{n}@customer.test",
                contact_name=f"Buyer {n}",
                priority="urgent" if n % 20 == 0 else "normal",
                now=datetime.now(UTC),
            )

    await committed(seed)


async def test_a_view_pages_keeps_its_place_and_a_saved_view_filters(
    page: Page, admin: Person, orders: None
) -> None:
    await page.set_viewport_size(LAPTOP)
    await page.goto("/console")
    await sign_in(page, admin)
    sidebar = page.get_by_role("navigation", name="Views")
    unassigned = sidebar.get_by_role("link", name=re.compile(r"^Unassigned"))
    await expect(unassigned).to_contain_text(str(TICKETS))

    await unassigned.click()
    await expect(page.get_by_role("heading", name="Unassigned")).to_be_visible()
    rows = page.get_by_role("list", name="Tickets").get_by_role("link")
    await expect(rows.first).to_contain_text("Order 60")
    await expect(rows.first).to_contain_text("Buyer 60")
    await screenshot(page, "console-view")
    await assert_accessible(page)

    # Scrolling to the end brings the next page.
    scroller = page.get_by_test_id("ticket-list")
    await scroller.evaluate("el => { el.scrollTop = el.scrollHeight }")
    await expect(rows).to_have_count(TICKETS)

    # Open a ticket half way down and come back: the list is where it was.
    target = rows.filter(has_text=re.compile(r"Order 20(?!\d)"))
    await target.scroll_into_view_if_needed()
    place = await scroller.evaluate("el => el.scrollTop")
    assert place > 0
    await target.click()
    await expect(page.get_by_role("heading", name="Order 20")).to_be_visible()
    await page.go_back()
    await expect(page.get_by_role("heading", name="Unassigned")).to_be_visible()
    await expect(rows).to_have_count(TICKETS)
    assert await scroller.evaluate("el => el.scrollTop") == place

    # A saved view of the urgent ones, in the sidebar with its count.
    await sidebar.get_by_role("button", name="New view").click()
    dialog = page.get_by_role("dialog", name="New view")
    await dialog.get_by_label("Name").fill("Urgent orders")
    await dialog.get_by_label("Urgent").check()
    await screenshot(page, "console-saved-view")
    await assert_accessible(page, within="dialog")
    await dialog.get_by_role("button", name="Save view").click()
    await expect(page.get_by_role("heading", name="Urgent orders")).to_be_visible()
    await expect(rows).to_have_count(TICKETS // 20)
    saved = sidebar.get_by_role("link", name=re.compile(r"^Urgent orders"))
    await expect(saved).to_contain_text("3")


async def test_shortcuts_and_a_phone_sized_screen(page: Page, admin: Person, orders: None) -> None:
    await page.set_viewport_size(LAPTOP)
    await page.goto("/console")
    await sign_in(page, admin)
    await expect(page.get_by_role("heading", name="Mine")).to_be_visible()
    await page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(help_dialog).to_contain_text("Go to Unassigned")
    await screenshot(page, "console-shortcuts")
    await page.keyboard.press("Escape")
    await expect(help_dialog).to_be_hidden()

    await page.keyboard.press("g")
    await page.keyboard.press("u")
    await expect(page.get_by_role("heading", name="Unassigned")).to_be_visible()
    rows = page.get_by_role("list", name="Tickets").get_by_role("link")
    await expect(rows.first).to_contain_text("Order 60")
    await page.keyboard.press("j")
    await page.keyboard.press("j")
    await expect(rows.nth(1)).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Order 59")).to_be_visible()
    await page.keyboard.press("r")
    await expect(page.get_by_role("textbox", name="Reply")).to_be_focused()

    # On a phone the sidebar is a drawer behind the Views button; nothing scrolls sideways.
    await page.set_viewport_size({"width": 390, "height": 844})
    sidebar = page.get_by_role("navigation", name="Views")
    await expect(sidebar).to_be_hidden()
    await expect(page.get_by_role("textbox", name="Reply")).to_be_attached()
    assert await page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
    await page.get_by_role("button", name="Views").click()
    await expect(sidebar).to_be_visible()
    await sidebar.get_by_role("link", name=re.compile(r"^Pending")).click()
    await expect(page.get_by_role("heading", name="Pending")).to_be_visible()
    await expect(sidebar).to_be_hidden()
    await screenshot(page, "console-phone")
