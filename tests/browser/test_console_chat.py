"""Live chat and collisions in the console: a visitor's chat (sent over /ws/widget, as the
widget does) appears in the agent's list and on the ticket as it is written, typing shows
both ways, the agent's answer reaches the visitor's socket; and two agents on one ticket
each see the other, and see the other typing."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from tests.app.realtime.support import Peer, make_chat_inbox, peer, visitor_session, ws_url
from tests.browser.conftest import Committed, Person
from tests.browser.support import BrowserProblems, screenshot
from tests.browser.test_console import sign_in
from tests.factories.agents import PASSWORD, auth_headers, make_agent

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
IDENTITY_SECRET = "shop-identity-secret"
VISITORS = itertools.count(1)


async def new_chat_inbox(committed: Committed[Any], server_url: str) -> dict[str, Any]:
    """A chat inbox for the shop's site, made by an admin through the API."""

    async def seed(session: AsyncSession) -> dict[str, str]:
        return await auth_headers(session, await make_agent(session, role="admin"))

    headers = await committed(seed)
    token = headers["Authorization"].removeprefix("Bearer ")
    async with httpx.AsyncClient(base_url=server_url) as http:
        return await make_chat_inbox(http, token, identity_secret=IDENTITY_SECRET)


@asynccontextmanager
async def chat_visitor(server_url: str, inbox: dict[str, Any]) -> AsyncIterator[Peer]:
    """A visitor signed in on the shop, on the widget's socket as the widget opens it."""
    async with httpx.AsyncClient(base_url=server_url) as http:
        # The shop's backend vouches for who the visitor is.
        user_id = f"user-{next(VISITORS)}"
        signature = hmac.new(IDENTITY_SECRET.encode(), user_id.encode(), hashlib.sha256)
        identity = {
            "user_id": user_id,
            "email": f"{user_id}@customer.test",
            "name": "Grace Visitor",
            "hmac": signature.hexdigest(),
        }
        session = await visitor_session(http, inbox["public_key"], identity=identity)
        assert session["verified"], session
    async with peer(ws_url(server_url, "/ws/widget", session["token"])) as p:
        await p.expect("hello")
        yield p


@pytest.fixture(scope="module")
async def chat_inbox(committed: Committed[Any], server_url: str) -> dict[str, Any]:
    return await new_chat_inbox(committed, server_url)


@pytest.fixture
async def visitor(chat_inbox: dict[str, Any], server_url: str) -> AsyncIterator[Peer]:
    async with chat_visitor(server_url, chat_inbox) as p:
        yield p


@pytest.fixture
async def second_page(
    browser: Browser, server_url: str, browser_problems: BrowserProblems
) -> AsyncIterator[Page]:
    """Another agent's browser (its own cookies)."""
    context = await browser.new_context(base_url=server_url, viewport=LAPTOP, locale="en-US")
    context.set_default_timeout(10_000)
    page = await context.new_page()
    await browser_problems.watch(page)
    yield page
    await context.close()


async def test_a_visitors_chat_is_answered_live_in_the_console(
    page: Page, admin: Person, visitor: Peer
) -> None:
    await page.set_viewport_size(LAPTOP)
    await page.goto("/console/views/unassigned")
    await sign_in(page, admin)
    await expect(page.get_by_role("heading", name="Unassigned")).to_be_visible()
    await expect(page.get_by_label("Your availability")).to_be_enabled()

    await visitor.send(type="message.send", client_id="c1", body="Hi! Is the blue kettle in stock?")
    ack = await visitor.expect("message.ack", client_id="c1")
    row = page.get_by_role("list", name="Tickets").get_by_role("link").first
    await expect(row).to_contain_text("Grace Visitor")
    await row.click()
    timeline = page.get_by_role("list", name="Timeline")
    await expect(timeline).to_contain_text("Is the blue kettle in stock?")
    await expect(page).to_have_url(re.compile(rf"/console/tickets/{ack['ticket_id']}$"))

    # The visitor types, then writes again: both show up without a reload.
    await visitor.send(type="typing", active=True)
    typing = page.get_by_role("status").filter(has_text="is typing")
    await expect(typing).to_have_text("Grace Visitor is typing…")
    await visitor.send(type="message.send", client_id="c2", body="I need it by Friday.")
    await expect(timeline).to_contain_text("I need it by Friday.")
    await expect(typing).to_be_hidden()

    # The agent's typing reaches the visitor; their answer too.
    reply = page.get_by_role("textbox", name="Reply")
    await reply.fill("Yes, we have three left")
    typed = await visitor.expect("typing", active=True)
    assert typed["author"]["name"] == admin.name
    await screenshot(page, "console-chat")
    await page.get_by_role("button", name="Send reply", exact=True).click()
    answer = await visitor.expect("message.new", body="Yes, we have three left")
    assert answer["author"]["type"] == "agent"
    # Sending ends the agent's typing (said once the reply is stored, so it may come after).
    if not visitor.received("typing", active=False):
        await visitor.expect("typing", active=False)
    await expect(timeline.get_by_role("article").filter(has_text="three left")).to_be_visible()


async def test_two_agents_on_one_ticket_each_see_the_other(
    page: Page,
    second_page: Page,
    admin: Person,
    committed: Committed[Any],
    visitor: Peer,
) -> None:
    async def seed(session: AsyncSession) -> Person:
        bob = await make_agent(session, role="supervisor", name="Bob Kahn")
        return Person(email=bob.email, password=PASSWORD, name=bob.name, id=bob.id)

    bob = await committed(seed)
    await visitor.send(type="message.send", client_id="c1", body="My order is late")
    ticket_id = (await visitor.expect("message.ack"))["ticket_id"]

    await page.set_viewport_size(LAPTOP)
    await page.goto(f"/console/tickets/{ticket_id}")
    await sign_in(page, admin)
    await expect(page.get_by_role("list", name="Timeline")).to_contain_text("My order is late")
    await second_page.goto(f"/console/tickets/{ticket_id}")
    await sign_in(second_page, bob)
    await expect(second_page.get_by_role("list", name="Timeline")).to_contain_text("late")

    ada_sees = page.get_by_role("status", name="Also on this ticket")
    bob_sees = second_page.get_by_role("status", name="Also on this ticket")
    await expect(ada_sees).to_have_text("Also here: Bob Kahn")
    await expect(bob_sees).to_have_text(f"Also here: {admin.name}")

    # Bob starts a note: Ada sees him typing (the visitor does not: it is internal).
    await second_page.get_by_text("Internal note", exact=True).click()
    await second_page.get_by_role("textbox", name="Note").type("Checking the warehouse")
    await expect(ada_sees).to_have_text("Also here: Bob Kahn (typing)")
    await expect(page.get_by_role("status").filter(has_text="is typing")).to_have_text(
        "Bob Kahn is typing…"
    )
    await screenshot(page, "console-two-agents")
    assert not visitor.received("typing", active=True)

    # Bob leaves: Ada is alone again.
    await second_page.goto("/console/views/mine")
    await expect(ada_sees).to_be_hidden()
