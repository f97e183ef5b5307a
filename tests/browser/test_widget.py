"""The widget as a customer's website embeds it: one script tag on a page of another
origin, whose own CSS is as hostile as CSS gets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import Page, expect

from tests.browser.support import assert_accessible, screenshot
from tests.servers.static_site import static_site

pytestmark = pytest.mark.browser

HOSTILE_CSS = """
* { all: unset; color: red !important; font-family: serif; }
button { display: none !important; }
div, span, svg { display: none; }
body { display: block; padding: 2rem; background: #fffbe6; }
"""


def host_page(server_url: str, tag_attributes: str = 'data-inbox="support" async') -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
  <title>Acme Widgets</title>
  <link rel="icon" href="data:,">
  <style>{HOSTILE_CSS}</style>
</head>
<body>
  <h1>Acme Widgets</h1>
  <p>Our shop page. The chat launcher should sit in the bottom right corner.</p>
  <button>A button of the page</button>
  <script src="{server_url}/widget.js" {tag_attributes}></script>
</body>
</html>"""


@pytest.fixture
def site(server_url: str) -> Iterator[str]:
    pages = {
        "/": host_page(server_url),
        # In document order (no async), so which tag comes first is certain.
        "/twice": host_page(server_url, 'data-inbox="support"').replace(
            "</body>", f'<script src="{server_url}/widget.js" data-inbox="other"></script></body>'
        ),
        "/no-inbox": host_page(server_url, ""),
    }
    with static_site(pages) as url:
        yield url


async def test_the_launcher_appears_in_a_shadow_root_on_another_site(
    page: Page, site: str, server_url: str
) -> None:
    await page.goto(site + "/")
    launcher = page.get_by_role("button", name="Chat with us")
    await expect(launcher).to_be_visible()
    await screenshot(page, "widget-on-hostile-page")

    host = page.locator("relaydesk-widget")
    assert await host.evaluate("el => el.shadowRoot !== null && el.parentElement === document.body")
    assert await page.evaluate("() => window.Relaydesk") == {
        "inbox": "support",
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


async def test_the_launcher_is_accessible(page: Page, site: str) -> None:
    await page.goto(site + "/")
    launcher = page.get_by_role("button", name="Chat with us")
    await expect(launcher).to_be_visible()
    await page.keyboard.press("Tab")
    await expect(launcher).to_be_focused()
    await assert_accessible(page, within="relaydesk-widget")  # the page itself is not ours


async def test_a_second_script_tag_adds_nothing(page: Page, site: str) -> None:
    await page.goto(site + "/twice")
    await expect(page.get_by_role("button", name="Chat with us")).to_be_visible()
    await page.wait_for_load_state("load")
    assert await page.locator("relaydesk-widget").count() == 1
    assert await page.evaluate("() => window.Relaydesk.inbox") == "support"


async def test_a_tag_without_an_inbox_warns_and_renders_nothing(page: Page, site: str) -> None:
    async with page.expect_console_message(lambda m: "Relaydesk widget" in m.text) as message:
        await page.goto(site + "/no-inbox")
    warning = await message.value
    assert warning.type == "warning"
    assert "data-inbox" in warning.text
    assert await page.locator("relaydesk-widget").count() == 0
    assert await page.evaluate("() => window.Relaydesk") is None
