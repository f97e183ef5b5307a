"""A visitor chats through the widget on a customer's site (another origin than the app)
with an agent on a socket: messages arrive once and in order both ways, typing shows both
ways, a reload continues the conversation, and one visitor's token never reaches another's
conversation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.app.realtime.support import Peer, peer, ws_url
from tests.browser.chat_support import (
    Agent,
    Widget,
    embed_page,
    make_agent_with_token,
    make_chat_inbox,
    rest_reply,
)
from tests.browser.conftest import Committed
from tests.browser.support import BrowserProblems, assert_accessible, screenshot
from tests.servers.static_site import static_site

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site_pages() -> dict[str, str]:
    return {}


@pytest.fixture(scope="module")
def site(site_pages: dict[str, str]) -> Iterator[str]:
    """The customer's site: pages are added once the inbox (which must allow it) exists."""
    with static_site(site_pages) as url:
        yield url


@pytest.fixture(scope="module")
async def agent(committed: Committed[Any]) -> Agent:
    return await committed(lambda s: make_agent_with_token(s, name="Ada Lovelace"))


@pytest.fixture(scope="module")
async def inbox(
    server_url: str, site: str, site_pages: dict[str, str], agent: Agent
) -> dict[str, Any]:
    inbox = await make_chat_inbox(server_url, agent.token, origins=[site])
    site_pages["/shop"] = embed_page(server_url, inbox["public_key"])
    return inbox


@pytest.fixture
async def agent_socket(server_url: str, agent: Agent) -> AsyncIterator[Peer]:
    """The agent online on a socket (so the widget is in its online mode)."""
    async with peer(ws_url(server_url, "/ws/agent", agent.token), origin=None) as p:
        await p.expect("hello")
        yield p


async def new_visitor(
    browser: Browser, server_url: str, problems: BrowserProblems, **context: Any
) -> Page:
    """A person with a browser of their own (nothing stored yet)."""
    ctx = await browser.new_context(
        viewport=context.pop("viewport", {"width": 1024, "height": 700}), locale="en-US", **context
    )
    ctx.set_default_timeout(10_000)
    page = await ctx.new_page()
    await problems.watch(page)
    return page


async def test_a_visitor_and_an_agent_chat_both_ways(
    page: Page, site: str, inbox: dict[str, Any], agent_socket: Peer, agent: Agent
) -> None:
    await page.goto(site + "/shop")
    widget = Widget(page)
    await widget.open()
    await expect(widget.input).to_be_focused()  # open puts the visitor where they type
    await widget.send("Hello, is my order on its way?")

    first = await agent_socket.expect("message.new", body="Hello, is my order on its way?")
    ticket_id = first["ticket_id"]
    await widget.expect_all_sent()

    # The visitor types: the agent is told; the agent types: the visitor sees who.
    await widget.input.press_sequentially("still there?", delay=20)
    await agent_socket.expect("typing", ticket_id=ticket_id, active=True)
    await agent_socket.send(type="typing", ticket_id=ticket_id, active=True)
    await expect(page.get_by_text("Ada Lovelace is typing…")).to_be_visible()

    await agent_socket.send(
        type="message.send", client_id="a1", ticket_id=ticket_id, body="Yes! It left today."
    )
    await expect(widget.log.get_by_text("Yes! It left today.")).to_be_visible()
    await expect(page.get_by_text("Ada Lovelace is typing…")).to_be_hidden()
    await widget.expect_texts(["me: Hello, is my order on its way?", "them: Yes! It left today."])
    # The reply names its author; the visitor's reading it reaches the agent as `read`.
    await expect(widget.log.locator(".theirs .author")).to_have_text(["ALAda Lovelace"])
    await agent_socket.expect("message.status", status="read")
    await assert_accessible(page, within="relaydesk-widget")
    await screenshot(page, "widget-conversation")


async def test_server_text_is_shown_as_text_never_markup(
    page: Page, site: str, inbox: dict[str, Any], agent_socket: Peer, agent: Agent, server_url: str
) -> None:
    await page.goto(site + "/shop")
    widget = Widget(page)
    await widget.open()
    await widget.send("<b>bold?</b>")
    first = await agent_socket.expect("message.new", body="<b>bold?</b>")
    hostile = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    await rest_reply(server_url, agent.token, first["ticket_id"], hostile)
    await expect(widget.log.get_by_text(hostile)).to_be_visible()
    assert await page.evaluate("() => window.pwned") is None
    assert await widget.log.locator("img, script, b").count() == 0
