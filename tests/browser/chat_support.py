"""What the widget's browser tests share: a customer's site on another origin embedding
the widget with one script tag, a chat inbox for it, an agent on a socket, and reading the
conversation as the visitor sees it (inside the widget's shadow root)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.async_api import Browser, Locator, Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import do_create_token
from tests.browser.support import BrowserProblems
from tests.factories.agents import make_agent

HOSTILE_CSS = """
* { all: unset; color: red !important; font-family: serif; }
button { display: none !important; }
div, span, svg, ol, li, p, form, input, textarea { display: none; }
body { display: block; padding: 2rem; background: #fffbe6; }
"""


PLAIN_CSS = """
body { margin: 0; padding: 2rem 3rem; font: 16px/1.5 Georgia, serif; background: #f7f4ee; }
h1 { font-size: 2rem; margin: 0 0 1rem; color: #3b2f2f; }
"""


def embed_page(
    server_url: str,
    key: str,
    *,
    attributes: str = "async",
    lang: str = "en",
    title: str = "Acme",
    hostile: bool = True,
) -> str:
    """A shop page that embeds the widget with one tag (and CSS as hostile as it gets,
    unless `hostile` is false: the pages the README's screenshots show)."""
    return f"""<!doctype html>
<html lang="{lang}">
<head>
  <title>{title}</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="icon" href="data:,">
  <style>{HOSTILE_CSS if hostile else PLAIN_CSS}</style>
</head>
<body>
  <h1>{title} Widgets</h1>
  <p>Our shop page. The chat launcher should sit in a bottom corner.</p>
  <button>A button of the page</button>
  <script src="{server_url}/widget.js" data-inbox="{key}" {attributes}></script>
</body>
</html>"""


@dataclass(frozen=True)
class Agent:
    id: int
    name: str
    token: str


async def make_agent_with_token(session: AsyncSession, *, name: str) -> Agent:
    agent = await make_agent(session, role="admin", name=name)
    _, raw = await do_create_token(
        session,
        agent_id=agent.id,
        kind="personal",
        name="widget tests",
        scopes=("read", "write"),
        expires_at=datetime.now(UTC) + timedelta(days=1),
    )
    return Agent(agent.id, agent.name, raw)


async def make_chat_inbox(
    server_url: str, token: str, *, origins: list[str], **settings: Any
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server_url) as http:
        response = await http.post(
            "/api/v1/inboxes",
            json={
                "name": settings.pop("name", "Acme support"),
                "channel": "chat",
                "settings": {"allowed_origins": origins, **settings},
            },
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 201, response.text
    inbox: dict[str, Any] = response.json()
    return inbox


async def rest_reply(server_url: str, token: str, ticket_id: int, body: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server_url) as http:
        response = await http.post(
            f"/api/v1/tickets/{ticket_id}/messages",
            json={"body": body},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 201, response.text
    message: dict[str, Any] = response.json()
    return message


class Widget:
    """The widget on a page, as the visitor sees and uses it."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.launcher = page.get_by_role("button", name="Chat with us")
        self.panel = page.get_by_role("dialog")
        self.log = page.get_by_role("log")
        self.input = page.get_by_role("textbox", name="Your message")

    async def open(self) -> None:
        await self.launcher.click()
        await expect(self.panel).to_be_visible()

    async def send(self, text: str) -> None:
        await self.input.fill(text)
        await self.input.press("Enter")

    def messages(self) -> Locator:
        return self.log.locator(".message")

    async def texts(self) -> list[str]:
        """Every message's body in order, "me:" or "them:" before it."""
        items = await self.log.locator(".message").evaluate_all(
            """els => els.map(el => (el.classList.contains('mine') ? 'me: ' : 'them: ')
                + (el.querySelector('.body')?.textContent ?? ''))"""
        )
        return [str(item) for item in items]

    async def expect_texts(self, expected: list[str]) -> None:
        await expect(self.log.locator(".message")).to_have_count(len(expected))
        await expect(self.log.locator(".message .body")).to_have_text(
            [t.split(": ", 1)[1] for t in expected]
        )
        assert await self.texts() == expected

    async def expect_all_sent(self) -> None:
        await expect(self.log.locator(".message.mine[data-status='sending']")).to_have_count(0)


async def new_visitor(browser: Browser, problems: BrowserProblems, **context: Any) -> Page:
    """A person with a browser of their own (nothing stored yet)."""
    ctx = await browser.new_context(
        viewport=context.pop("viewport", {"width": 1024, "height": 700}), locale="en-US", **context
    )
    ctx.set_default_timeout(10_000)
    page = await ctx.new_page()
    await problems.watch(page)
    return page
