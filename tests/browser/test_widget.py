"""The widget as a customer's website embeds it: one script tag on a page of another
origin, whose own CSS is as hostile as CSS gets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.chat_support import embed_page, make_agent_with_token, make_chat_inbox
from tests.browser.conftest import Committed
from tests.browser.support import assert_accessible, screenshot
from tests.servers.static_site import static_site

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site_pages() -> dict[str, str]:
    return {}


@pytest.fixture(scope="module")
def site(site_pages: dict[str, str]) -> Iterator[str]:
    with static_site(site_pages) as url:
        yield url


@pytest.fixture(scope="module")
async def inbox_key(
    server_url: str, site: str, site_pages: dict[str, str], committed: Committed[Any]
) -> str:
    """A chat inbox that allows the site; its pages embed the widget for it."""
    agent = await committed(lambda s: make_agent_with_token(s, name="Grace Hopper"))
    key: str = (await make_chat_inbox(server_url, agent.token, origins=[site]))["public_key"]
    site_pages["/"] = embed_page(server_url, key)
    # In document order (no async), so which tag comes first is certain.
    site_pages["/twice"] = embed_page(server_url, key, attributes="").replace(
        "</body>", f'<script src="{server_url}/widget.js" data-inbox="other"></script></body>'
    )
    site_pages["/no-inbox"] = embed_page(server_url, key).replace(f'data-inbox="{key}"', "")
    site_pages["/unknown-inbox"] = embed_page(server_url, "no-such-inbox")
    return key


async def test_the_launcher_appears_in_a_shadow_root_on_another_site(
    page: Page, site: str, server_url: str, inbox_key: str
) -> None:
    await page.goto(site + "/")
    launcher = page.get_by_role("button", name="Chat with us")
    await expect(launcher).to_be_visible()
    await screenshot(page, "widget-on-hostile-page")

    host = page.locator("relaydesk-widget")
    assert await host.evaluate("el => el.shadowRoot !== null && el.parentElement === document.body")
    assert await page.evaluate("() => window.Relaydesk") == {
        "inbox": inbox_key,
        "server": server_url,
    }
    # The page's `* { all: unset; color: red !important }` and `button { display: none }`
    # reach neither the button's look nor its place in the bottom right corner.
    style = await launcher.evaluate(
        """el => { const s = getComputedStyle(el)
            return { color: s.color, background: s.backgroundColor, radius: s.borderRadius } }"""
    )
    assert style == {
        "color": "rgb(255, 255, 255)",
        "background": "rgb(29, 78, 216)",
        "radius": "50%",
    }
    box = await launcher.bounding_box()
    viewport = page.viewport_size
    assert box is not None
    assert viewport is not None
    assert (box["width"], box["height"]) == (56, 56)
    assert viewport["width"] - (box["x"] + box["width"]) == 20
    assert viewport["height"] - (box["y"] + box["height"]) == 20
    # The page's own button is still hidden by its own rule: the widget changed nothing.
    await expect(page.get_by_role("button", name="A button of the page")).to_be_hidden()


async def test_the_launcher_is_accessible(page: Page, site: str, inbox_key: str) -> None:
    await page.goto(site + "/")
    launcher = page.get_by_role("button", name="Chat with us")
    await expect(launcher).to_be_visible()
    await page.keyboard.press("Tab")
    await expect(launcher).to_be_focused()
    await assert_accessible(page, within="relaydesk-widget")  # the page itself is not ours


async def test_a_second_script_tag_adds_nothing(page: Page, site: str, inbox_key: str) -> None:
    await page.goto(site + "/twice")
    await expect(page.get_by_role("button", name="Chat with us")).to_be_visible()
    await page.wait_for_load_state("load")
    assert await page.locator("relaydesk-widget").count() == 1
    assert await page.evaluate("() => window.Relaydesk.inbox") == inbox_key


async def test_a_tag_without_an_inbox_warns_and_renders_nothing(
    page: Page, site: str, inbox_key: str
) -> None:
    async with page.expect_console_message(lambda m: "Relaydesk widget" in m.text) as message:
        await page.goto(site + "/no-inbox")
    warning = await message.value
    assert warning.type == "warning"
    assert "data-inbox" in warning.text
    assert await page.locator("relaydesk-widget").count() == 0
    assert await page.evaluate("() => window.Relaydesk") is None


async def test_an_unknown_inbox_warns_and_renders_nothing(
    page: Page, site: str, inbox_key: str
) -> None:
    async with page.expect_console_message(lambda m: "Relaydesk widget" in m.text) as message:
        await page.goto(site + "/unknown-inbox")
    warning = await message.value
    assert warning.type == "warning"
    assert "no active chat inbox" in warning.text
    assert await page.locator("relaydesk-widget").count() == 0
