"""The README's screenshots of the console, taken on the demo helpdesk.

`make screenshots`: a scratch database `relaydesk_screenshots` is migrated and filled by
`relaydesk seed-demo`, the app is served, and Debian's Chromium visits each main screen
as Dana Admin (a colleague opens the same ticket for the collision warning; on the admin
screens, an agent's skills and capacity are being edited and a team's deletion asks
first). The files go to docs/screenshots/; look at them before committing.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from harness import (  # noqa: E402
    Server,
    database_url,
    drop_database,
    migrate,
    recreate_database,
    relaydesk_command,
)

from app.seed.content import DEMO_ADMIN_EMAIL, DEMO_DOMAIN, DEMO_PASSWORD  # noqa: E402

DATABASE = "relaydesk_screenshots"
OUT = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic",
                 "--no-first-run"]  # fmt: skip
LAPTOP = {"width": 1366, "height": 768}
COLLEAGUE = f"sam.supervisor@{DEMO_DOMAIN}"


async def signed_in(browser: Browser, base: str, email: str, viewport: dict[str, int]) -> Page:
    context = await browser.new_context(base_url=base, viewport=viewport, locale="en-US")
    page = await context.new_page()
    await page.goto("/console/sign-in")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_label("Password").press("Enter")
    await page.get_by_role("heading", name="Mine").wait_for()
    await page.get_by_label("Your availability").wait_for()
    return page


async def shoot(page: Page, name: str) -> None:
    await page.wait_for_timeout(400)  # fonts and the last frames settle
    await page.screenshot(path=OUT / f"{name}.png")
    print(f"docs/screenshots/{name}.png")


async def ticket_with(page: Page, view: str, text: str) -> None:
    """Open the first ticket of `view` whose row contains `text`."""
    await page.goto(f"/console/views/{view}")
    row = page.locator("a.row").filter(has_text=text).first
    await row.wait_for()
    await row.click()
    await page.get_by_role("list", name="Timeline").wait_for()


async def take(base: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True
        )
        context = await browser.new_context(base_url=base, viewport=LAPTOP, locale="en-US")
        sign_in = await context.new_page()
        await sign_in.goto("/console/sign-in")
        await shoot(sign_in, "console-sign-in")
        await context.close()

        page = await signed_in(browser, base, DEMO_ADMIN_EMAIL, LAPTOP)
        await page.goto("/console/views/all")
        await page.locator("a.row").first.wait_for()
        await shoot(page, "console-view")

        await ticket_with(page, "all", "Email")
        await shoot(page, "console-ticket")

        await ticket_with(page, "all", "Chat")
        ticket_url = page.url
        colleague = await signed_in(browser, base, COLLEAGUE, LAPTOP)
        await colleague.goto(ticket_url)
        await colleague.get_by_role("list", name="Timeline").wait_for()
        await colleague.get_by_role("textbox", name="Reply").type("Let me check the order")
        await page.get_by_role("status", name="Also on this ticket").wait_for()
        await page.get_by_text("is typing…").wait_for()
        await shoot(page, "console-collision")
        await colleague.context.close()

        await page.goto("/console/admin/inboxes")
        await page.get_by_role("table", name="Inboxes").wait_for()
        await shoot(page, "console-admin-inboxes")
        await page.goto("/console/admin/macros")
        await page.get_by_role("table", name="Macros").get_by_role("row").nth(1).wait_for()
        await shoot(page, "console-admin-macros")
        await page.goto("/console/admin/skills")
        await page.get_by_role("table", name="Skills").get_by_role("row").nth(1).wait_for()
        await shoot(page, "console-admin-skills")
        await page.goto("/console/admin/agents")
        agents = page.get_by_role("table", name="Agents")
        await agents.get_by_role("button", name="Edit").nth(1).click()
        editor = page.get_by_role("form", name="Edit")
        await editor.get_by_role("group", name="Teams").evaluate(
            "(el) => el.scrollIntoView({ block: 'start' })"
        )
        await shoot(page, "console-admin-agent-edit")
        await page.goto("/console/admin/teams")
        teams = page.get_by_role("table", name="Teams")
        await teams.get_by_role("button", name="Delete").first.click()
        await page.get_by_role("alertdialog").wait_for()
        await shoot(page, "console-admin-delete-team")

        await page.keyboard.press("?")
        await page.get_by_role("dialog", name="Keyboard shortcuts").wait_for()
        await shoot(page, "console-shortcuts")
        await page.context.close()

        phone = await signed_in(browser, base, DEMO_ADMIN_EMAIL, {"width": 390, "height": 844})
        await phone.goto("/console/views/all")
        await phone.locator("a.row").first.wait_for()
        await shoot(phone, "console-phone")
        await browser.close()


async def main() -> int:
    url = database_url(DATABASE)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "RELAYDESK_ENV": "dev",
        "RELAYDESK_SECRET_KEY": secrets.token_urlsafe(48),
        "RELAYDESK_DATA_DIR": str(ROOT / "bench" / "results" / "screenshots-data"),
    }
    await recreate_database(DATABASE)
    migrate(url)
    seed = await asyncio.create_subprocess_exec(
        *relaydesk_command(), "seed-demo", cwd=ROOT, env=env
    )
    if await seed.wait() != 0:
        raise SystemExit("relaydesk seed-demo failed")
    server = Server(env=env, workers=1)
    try:
        server.start()
        await server.wait_ready()
        await take(server.base_url)
    finally:
        server.stop()
        await drop_database(DATABASE)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
