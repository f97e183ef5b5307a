"""A visitor chats through the widget on a customer's site (another origin than the app)
with an agent on a socket: messages arrive once and in order both ways, typing shows both
ways, a reload continues the conversation, and one visitor's token never reaches another's
conversation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, Route, expect
from sqlalchemy import select

from app.chat.models import ChatVisitor
from app.messages.models import Message
from channels.chat import identity_hmac
from tests.app.realtime.support import Peer, peer, ws_url
from tests.browser.chat_support import (
    Agent,
    Widget,
    embed_page,
    make_agent_with_token,
    make_chat_inbox,
    new_visitor,
    rest_reply,
)
from tests.browser.conftest import Committed
from tests.browser.support import BrowserProblems, assert_accessible, screenshot
from tests.servers.static_site import static_site

pytestmark = pytest.mark.browser
IDENTITY_SECRET = "an identity secret of the shop's backend"


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
    site_pages["/demo"] = embed_page(server_url, inbox["public_key"], hostile=False)
    site_pages["/arabic"] = embed_page(
        server_url,
        inbox["public_key"],
        attributes='data-locale="ar" async',
        lang="ar",
        hostile=False,
    )
    return inbox


@pytest.fixture(scope="module")
async def signed_inbox(
    server_url: str, site: str, site_pages: dict[str, str], agent: Agent
) -> dict[str, Any]:
    """An inbox whose site vouches for its signed-in users (identity verification)."""
    inbox = await make_chat_inbox(
        server_url, agent.token, origins=[site], identity_secret=IDENTITY_SECRET, name="Members"
    )
    key = inbox["public_key"]
    user = 'data-user-id="user-42" data-user-email="grace@example.test" data-user-name="Grace"'
    good = identity_hmac(IDENTITY_SECRET, "user-42")
    site_pages["/signed-in"] = embed_page(
        server_url, key, attributes=f'{user} data-user-hmac="{good}" async'
    )
    site_pages["/forged"] = embed_page(
        server_url, key, attributes=f'{user} data-user-hmac="{"0" * 64}" async'
    )
    return inbox


@pytest.fixture(scope="module")
async def form_inbox(
    server_url: str, site: str, site_pages: dict[str, str], agent: Agent
) -> dict[str, Any]:
    fields = [
        {"name": "name", "label": "Your name", "type": "text", "required": True},
        {"name": "order", "label": "Order number", "type": "text", "required": False},
    ]
    inbox = await make_chat_inbox(
        server_url, agent.token, origins=[site], pre_chat_fields=fields, name="Orders"
    )
    site_pages["/form"] = embed_page(server_url, inbox["public_key"])
    return inbox


@pytest.fixture
async def agent_socket(server_url: str, agent: Agent) -> AsyncIterator[Peer]:
    """The agent online on a socket (so the widget is in its online mode)."""
    async with peer(ws_url(server_url, "/ws/agent", agent.token), origin=None) as p:
        await p.expect("hello")
        yield p


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
    # The agent's console has it, then the agent opens the ticket: the visitor sees both.
    mine = widget.log.locator(f".message.mine[data-message-id='{first['message_id']}']")
    await expect(mine.locator(".state")).to_have_text("Delivered")
    await agent_socket.send(type="viewing", ticket_id=ticket_id, active=True)
    await expect(mine.locator(".state")).to_have_text("Read")
    await expect(mine).to_have_attribute("data-status", "read")

    # The visitor types: the agent is told; the agent types: the visitor sees who.
    await widget.input.press_sequentially("still there?", delay=20)
    await agent_socket.expect("typing", ticket_id=ticket_id, active=True)
    await agent_socket.send(type="typing", ticket_id=ticket_id, active=True)
    await expect(page.get_by_text("Ada Lovelace is typing…")).to_be_visible()

    await agent_socket.send(
        type="message.send", client_id="a1", ticket_id=ticket_id, body="Yes! It left today."
    )
    reply = await agent_socket.expect("message.ack", client_id="a1")
    await expect(widget.log.get_by_text("Yes! It left today.")).to_be_visible()
    await expect(page.get_by_text("Ada Lovelace is typing…")).to_be_hidden()
    await widget.expect_texts(["me: Hello, is my order on its way?", "them: Yes! It left today."])
    # The reply names its author; the visitor's reading it reaches the agent as `read`.
    await expect(widget.log.locator(".theirs .author")).to_have_text(["ALAda Lovelace"])
    await agent_socket.expect("message.status", message_id=reply["message_id"], status="read")
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


async def test_a_reload_continues_the_conversation_with_nothing_lost_or_doubled(
    page: Page, site: str, inbox: dict[str, Any], agent_socket: Peer
) -> None:
    await page.goto(site + "/shop")
    widget = Widget(page)
    await widget.open()
    await widget.send("First question")
    first = await agent_socket.expect("message.new", body="First question")
    await widget.send("Second question")
    await agent_socket.expect("message.new", body="Second question")
    await agent_socket.send(
        type="message.send", client_id="r1", ticket_id=first["ticket_id"], body="An answer"
    )
    expected = ["me: First question", "me: Second question", "them: An answer"]
    await widget.expect_texts(expected)

    await page.reload()
    await widget.open()
    await widget.expect_texts(expected)  # the token in localStorage: the same conversation
    await widget.send("After the reload")
    again = await agent_socket.expect("message.new", body="After the reload")
    assert again["ticket_id"] == first["ticket_id"]
    await widget.expect_texts([*expected, "me: After the reload"])
    await widget.expect_all_sent()
    bodies = [f["body"] for f in agent_socket.received("message.new")]
    assert bodies == ["First question", "Second question", "An answer", "After the reload"], (
        agent_socket.everything
    )


async def test_one_visitor_never_sees_another_visitors_conversation(
    browser: Browser,
    page: Page,
    site: str,
    inbox: dict[str, Any],
    agent_socket: Peer,
    server_url: str,
    browser_problems: BrowserProblems,
) -> None:
    await page.goto(site + "/shop")
    alice = Widget(page)
    await alice.open()
    await alice.send("Alice's private question")
    theirs = await agent_socket.expect("message.new", body="Alice's private question")

    other = await new_visitor(browser, browser_problems)
    try:
        await other.goto(site + "/shop")
        bob = Widget(other)
        await bob.open()
        await bob.send("Bob here")
        mine = await agent_socket.expect("message.new", body="Bob here")
        assert mine["ticket_id"] != theirs["ticket_id"]
        await bob.expect_texts(["me: Bob here"])
        await alice.expect_texts(["me: Alice's private question"])

        # Bob's token asks for Alice's conversation outright: refused, nothing sent.
        token = await other.evaluate(
            "() => Object.entries(localStorage).map(([, v]) => JSON.parse(v).token)[0]"
        )
        origin = site
        async with peer(ws_url(server_url, "/ws/widget", token), origin=origin) as bob_socket:
            await bob_socket.expect("hello")
            await bob_socket.send(type="resume", ticket_id=theirs["ticket_id"], since=0)
            refused = await bob_socket.expect("error")
            assert refused["code"] == "not_allowed"
            assert not bob_socket.received("message.new")
    finally:
        await other.context.close()


async def test_a_forged_identity_is_ignored(
    browser: Browser,
    page: Page,
    site: str,
    signed_inbox: dict[str, Any],
    agent_socket: Peer,
    server_url: str,
    browser_problems: BrowserProblems,
) -> None:
    async with page.expect_response("**/api/v1/widget/sessions") as answer:
        await page.goto(site + "/signed-in")
        grace = Widget(page)
        await grace.open()
    assert (await (await answer.value).json())["verified"] is True
    await grace.send("Grace, signed in")
    real = await agent_socket.expect("message.new", body="Grace, signed in")

    forger = await new_visitor(browser, browser_problems)
    try:
        async with forger.expect_response("**/api/v1/widget/sessions") as answer:
            await forger.goto(site + "/forged")
            mallory = Widget(forger)
            await mallory.open()
        assert (await (await answer.value).json())["verified"] is False
        await mallory.send("I am Grace, honest")
        forged = await agent_socket.expect("message.new", body="I am Grace, honest")
        # Not Grace's conversation, not Grace's contact: the claims counted for nothing.
        assert forged["ticket_id"] != real["ticket_id"]
        assert forged["author"]["id"] != real["author"]["id"]
        await mallory.expect_texts(["me: I am Grace, honest"])
    finally:
        await forger.context.close()


async def test_the_pre_chat_form_comes_first_and_names_a_missing_answer(
    page: Page, site: str, form_inbox: dict[str, Any], agent_socket: Peer
) -> None:
    await page.goto(site + "/form")
    widget = Widget(page)
    await widget.open()
    name = page.get_by_label("Your name")
    await expect(name).to_be_focused()
    await expect(widget.input).to_have_count(0)  # no composer before the form
    await page.get_by_role("button", name="Start the chat").click()
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_text("Required")).to_be_visible()
    await name.fill("Grace Hopper")
    await page.get_by_label("Order number").fill("A-1001")
    await page.get_by_role("button", name="Start the chat").click()
    await expect(widget.input).to_be_focused()
    await widget.send("Where is A-1001?")
    message = await agent_socket.expect("message.new", body="Where is A-1001?")
    assert message["author"]["name"] == "Grace Hopper"
    await assert_accessible(page, within="relaydesk-widget")


async def nobody_online(server_url: str, key: str) -> None:
    """Agents' sockets of earlier tests have closed (their presence follows shortly)."""
    async with httpx.AsyncClient(base_url=server_url) as http:
        for _ in range(100):
            config = (await http.get("/api/v1/widget/config", params={"inbox": key})).json()
            if not config["online"]:
                return
            await asyncio.sleep(0.1)
    raise AssertionError("an agent is still online")


async def test_keyboard_only(
    page: Page, site: str, inbox: dict[str, Any], agent_socket: Peer
) -> None:
    await page.goto(site + "/demo")
    widget = Widget(page)
    await expect(widget.launcher).to_be_visible()
    await screenshot(page, "widget-closed")
    await page.keyboard.press("Tab")  # the page's own button, then the widget, last
    await page.keyboard.press("Tab")
    await expect(widget.launcher).to_be_focused()
    await expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    await page.keyboard.press("Enter")
    await expect(widget.panel).to_be_visible()
    await expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    await expect(widget.input).to_be_focused()
    await page.keyboard.type("Typed without a mouse")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("on two lines")
    await page.keyboard.press("Enter")
    sent = await agent_socket.expect("message.new")
    assert sent["body"] == "Typed without a mouse\non two lines"
    # New messages are announced: the conversation is a polite live region.
    await expect(widget.log).to_have_attribute("role", "log")
    await page.keyboard.press("Escape")
    await expect(widget.panel).to_be_hidden()
    await expect(widget.launcher).to_be_focused()

    # Closed, a reply shows as an unread count on the launcher (and in its name).
    await agent_socket.send(
        type="message.send", client_id="k1", ticket_id=sent["ticket_id"], body="Got it!"
    )
    unread = page.get_by_role("button", name="Chat with us, 1 unread message")
    await expect(unread).to_be_visible()
    await page.keyboard.press("Enter")
    await expect(widget.log.get_by_text("Got it!")).to_be_visible()
    await expect(widget.launcher).to_have_attribute("aria-label", "Chat with us")


async def test_attachments_go_within_the_inbox_limits(
    page: Page, site: str, inbox: dict[str, Any], agent_socket: Peer, server_url: str
) -> None:
    await page.goto(site + "/shop")
    widget = Widget(page)
    await widget.open()
    picker = widget.panel.locator("input[type=file]")
    await picker.set_input_files(
        files=[{"name": "setup.exe", "mimeType": "application/x-msdownload", "buffer": b"MZ"}]
    )
    await expect(page.get_by_text("setup.exe: this kind of file cannot be sent")).to_be_visible()
    await picker.set_input_files(
        files=[{"name": "receipt.txt", "mimeType": "text/plain", "buffer": b"paid in full"}]
    )
    await expect(widget.panel.get_by_text("receipt.txt (12 B)")).to_be_visible()
    await widget.send("My receipt")
    message = await agent_socket.expect("message.new", body="My receipt")
    assert [a["filename"] for a in message["attachments"]] == ["receipt.txt"]
    link = widget.log.get_by_role("link", name="receipt.txt (12 B)")
    await expect(link).to_be_visible()
    href = await link.get_attribute("href")
    assert href is not None
    assert href.startswith(f"{server_url}/api/v1/widget/attachments/")
    async with httpx.AsyncClient() as http:
        assert (await http.get(href)).content == b"paid in full"


async def test_offline_the_visitor_leaves_a_message_and_an_email(
    page: Page, site: str, inbox: dict[str, Any], server_url: str, committed: Committed[Any]
) -> None:
    await nobody_online(server_url, inbox["public_key"])
    await page.goto(site + "/demo")
    widget = Widget(page)
    await widget.open()
    await expect(widget.panel.get_by_text("We are away right now.", exact=False)).to_be_visible()
    await expect(page.get_by_text("We reply by email: where should we write?")).to_be_visible()
    email = page.get_by_label("Your email")
    await expect(page.get_by_label("Your name")).to_be_focused()
    await page.get_by_label("Your name").fill("Katherine")
    await email.fill("not an address")
    await page.get_by_role("button", name="Leave a message").click()
    await expect(page.get_by_text("Enter an email address")).to_be_visible()
    await email.fill("katherine@example.test")
    await screenshot(page, "widget-offline")
    await page.get_by_role("button", name="Leave a message").click()
    await widget.send("Please write back about my order")
    await widget.expect_all_sent()

    async def stored(session: Any) -> tuple[str | None, int | None]:
        message = await session.scalar(
            select(Message).where(Message.body_text == "Please write back about my order")
        )
        visitor = await session.scalar(
            select(ChatVisitor).where(ChatVisitor.email == "katherine@example.test")
        )
        return (visitor.name if visitor else None, message.ticket_id if message else None)

    name, ticket_id = await committed(stored)
    assert name == "Katherine"
    assert ticket_id is not None  # the ticket is open, for a reply by email


async def test_right_to_left(
    page: Page, site: str, inbox: dict[str, Any], agent_socket: Peer
) -> None:
    await page.goto(site + "/arabic")
    launcher = page.get_by_role("button", name="تحدث معنا")
    await expect(launcher).to_be_visible()
    box = await launcher.bounding_box()
    assert box is not None
    assert box["x"] == 20  # the launcher sits in the other corner
    await launcher.click()
    root = page.locator("relaydesk-widget .root")
    assert await root.get_attribute("dir") == "rtl"
    assert await root.get_attribute("lang") == "ar"
    composer = page.get_by_role("textbox", name="رسالتك")
    await composer.fill("مرحبا، أين طلبي؟")
    await composer.press("Enter")
    sent = await agent_socket.expect("message.new", body="مرحبا، أين طلبي؟")
    await agent_socket.send(
        type="message.send", client_id="ar1", ticket_id=sent["ticket_id"], body="تم شحنه اليوم"
    )
    log = page.get_by_role("log")
    await expect(log.get_by_text("تم شحنه اليوم")).to_be_visible()
    # Measured once both are laid out: the log re-renders as the reply's frames arrive.
    mine_bubble = log.locator(".message.mine .bubble").last
    theirs_bubble = log.locator(".message.theirs .bubble", has_text="تم شحنه اليوم")
    await expect(mine_bubble).to_be_visible()
    await expect(theirs_bubble).to_be_visible()

    async def left_edges() -> tuple[float, float] | None:
        # The bubbles are re-rendered as delivered and read receipts arrive: a box read
        # between two renders is None, so measure again until both are there.
        mine, theirs = await mine_bubble.bounding_box(), await theirs_bubble.bounding_box()
        return (mine["x"], theirs["x"]) if mine and theirs else None

    edges = None
    for _ in range(50):
        if edges := await left_edges():
            break
        await asyncio.sleep(0.1)
    assert edges is not None, "the two bubbles never were on screen together"
    mine_x, theirs_x = edges
    assert mine_x < theirs_x  # the visitor's own messages on the left in RTL
    await assert_accessible(page, within="relaydesk-widget")
    await screenshot(page, "widget-rtl")


async def test_phone_sized_the_chat_fills_the_screen(
    browser: Browser,
    site: str,
    inbox: dict[str, Any],
    agent_socket: Peer,
    server_url: str,
    browser_problems: BrowserProblems,
) -> None:
    phone = await new_visitor(
        browser,
        browser_problems,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    try:
        await phone.goto(site + "/demo")
        widget = Widget(phone)
        await widget.launcher.tap()
        await expect(widget.panel).to_be_visible()
        box = await widget.panel.bounding_box()
        assert box == {"x": 0, "y": 0, "width": 390, "height": 844}
        await widget.send("Hi from my phone")
        sent = await agent_socket.expect("message.new", body="Hi from my phone")
        await agent_socket.send(
            type="message.send", client_id="p1", ticket_id=sent["ticket_id"], body="Hello!"
        )
        await expect(widget.log.get_by_text("Hello!")).to_be_visible()
        await screenshot(phone, "widget-phone")
    finally:
        await phone.context.close()


async def test_a_visitor_who_writes_before_the_server_answers_is_not_lost(
    page: Page,
    site: str,
    inbox: dict[str, Any],
    agent_socket: Peer,
    browser_problems: BrowserProblems,
) -> None:
    """The first session request fails (the network, the server restarting): the widget
    keeps what was typed and asks again until it has a session, then sends it once."""
    refused: list[str] = []

    async def unreachable(route: Route) -> None:
        refused.append(route.request.url)
        await route.abort("connectionrefused")

    await page.route("**/api/v1/widget/sessions", unreachable)
    await page.goto(site + "/shop")
    widget = Widget(page)
    await widget.open()
    await widget.send("Typed while the server was away")
    await expect(page.get_by_text("Reconnecting…")).to_be_visible()
    await expect(widget.log.locator(".message.mine[data-status='sending']")).to_have_count(1)
    await page.unroute("**/api/v1/widget/sessions")
    await agent_socket.expect("message.new", body="Typed while the server was away")
    await widget.expect_all_sent()
    await expect(page.get_by_text("Reconnecting…")).to_be_hidden()
    assert refused
    browser_problems.found = [
        p for p in browser_problems.found if "ERR_CONNECTION_REFUSED" not in p
    ]


# A 1x1 PNG: what the agent's avatar address serves in this test.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5d6c1"
    "e50000000049454e44ae426082"
)


async def test_an_agents_reply_shows_their_name_and_avatar(
    page: Page, site: str, inbox: dict[str, Any], committed: Committed[Any], server_url: str
) -> None:
    ben = await committed(lambda s: make_agent_with_token(s, name="Ben Okri"))
    avatar = "https://avatars.example.com/ben.png"
    async with httpx.AsyncClient(base_url=server_url) as http:
        set_ = await http.patch(
            f"/api/v1/agents/{ben.id}",
            json={"avatar_url": avatar},
            headers={"Authorization": f"Bearer {ben.token}"},
        )
        assert set_.status_code == 200, set_.text
    fetched: list[str] = []

    async def serve_avatar(route: Route) -> None:
        fetched.append(route.request.url)
        await route.fulfill(status=200, content_type="image/png", body=PIXEL)

    await page.route(avatar, serve_avatar)
    async with peer(ws_url(server_url, "/ws/agent", ben.token), origin=None) as ben_socket:
        await ben_socket.expect("hello")
        await page.goto(site + "/shop")
        widget = Widget(page)
        await widget.open()
        await widget.send("Who is there?")
        first = await ben_socket.expect("message.new", body="Who is there?")
        await ben_socket.send(
            type="message.send", client_id="b1", ticket_id=first["ticket_id"], body="Ben here"
        )
        reply = await ben_socket.expect("message.new", body="Ben here")
        assert reply["author"] == {
            "type": "agent", "id": ben.id, "name": "Ben Okri", "avatar_url": avatar,
        }  # fmt: skip
        author = widget.log.locator(".theirs .author")
        await expect(author).to_have_text("Ben Okri")
        picture = author.locator("img.avatar")
        await expect(picture).to_have_attribute("src", avatar)
        await expect(picture).to_have_js_property("naturalWidth", 1)  # loaded, not broken
        assert fetched == [avatar]
