"""The admin screens as an admin sets up a helpdesk: connect a mailbox (the connection test
names what failed, against real dovecot and aiosmtpd), create a chat inbox and copy its
embed snippet, add an agent and a team, keep a canned reply and a macro."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import Person
from tests.browser.support import assert_accessible, screenshot
from tests.browser.test_console import sign_in
from tests.servers.dovecot import Account, Dovecot
from tests.servers.smtp import SmtpServer

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Account]:
    with Dovecot() as server:
        yield server.new_account()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


async def test_an_admin_connects_a_mailbox_and_a_chat(
    page: Page, admin: Person, mailbox: Account, smtp: SmtpServer
) -> None:
    await page.set_viewport_size(LAPTOP)
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await page.goto("/console")
    await sign_in(page, admin)
    await page.get_by_role("link", name="Inboxes, agents, teams…").click()
    await expect(page.get_by_role("heading", name="Inboxes", exact=True)).to_be_visible()

    form = page.get_by_role("form", name="Connect a mailbox")
    await form.get_by_label("Email address").fill("support@shop.test")
    await form.get_by_label("IMAP server").fill(mailbox.host)
    await form.get_by_label("IMAP port").fill(str(mailbox.port))
    await form.get_by_label("IMAP security").select_option("none")
    await form.get_by_label("IMAP username").fill(mailbox.address)
    await form.get_by_label("IMAP password").fill("not the password")
    await form.get_by_label("SMTP server").fill(smtp.host)
    await form.get_by_label("SMTP port").fill(str(smtp.port))
    await form.get_by_label("SMTP security").select_option("none")
    await form.get_by_role("button", name="Test connection").click()
    checks = form.get_by_role("list", name="Connection test")
    await expect(checks.get_by_role("listitem").first).to_contain_text(re.compile("✗ IMAP: .*"))
    await expect(checks.get_by_role("listitem").nth(1)).to_contain_text("✓ SMTP")
    await screenshot(page, "console-admin-connection-test")

    await form.get_by_label("IMAP password").fill(mailbox.password)
    await form.get_by_role("button", name="Test connection").click()
    await expect(checks.get_by_role("listitem").first).to_contain_text("✓ IMAP")
    await form.get_by_role("button", name="Connect mailbox").click()
    await expect(form.get_by_role("status")).to_contain_text("Support is connected")
    inboxes = page.get_by_role("table", name="Inboxes")
    await expect(inboxes).to_contain_text("support@shop.test")

    chat = page.get_by_role("form", name="Create a chat inbox")
    await chat.get_by_label("Sites allowed to embed it").fill("https://shop.example")
    await chat.get_by_role("button", name="Create chat inbox").click()
    snippet = chat.get_by_label("Embed snippet")
    tag = re.compile(r'<script src="http://[^"]+/widget.js" data-inbox="')
    await expect(snippet).to_have_value(tag)
    await chat.get_by_role("button", name="Copy snippet").click()
    await expect(chat.get_by_role("button", name="Copied")).to_be_visible()
    copied = await page.evaluate("() => navigator.clipboard.readText()")
    assert copied == await snippet.input_value()
    await expect(inboxes).to_contain_text("https://shop.example")
    await screenshot(page, "console-admin-chat-snippet")
    await assert_accessible(page)


async def test_an_admin_adds_an_agent_a_team_a_canned_reply_and_a_macro(
    page: Page, admin: Person
) -> None:
    await page.set_viewport_size(LAPTOP)
    await page.goto("/console/admin/teams")
    await sign_in(page, admin)
    team = page.get_by_role("form", name="Create a team")
    await team.get_by_label("Name").fill("Returns")
    await team.get_by_role("button", name="Create team").click()
    await expect(page.get_by_role("table", name="Teams")).to_contain_text("Returns")

    await page.get_by_role("navigation", name="Admin").get_by_role("link", name="Agents").click()
    agent = page.get_by_role("form", name="Add an agent")
    await agent.get_by_label("Name").fill("Carla Diaz")
    await agent.get_by_label("Email").fill("carla@example.test")
    await agent.get_by_label("Team").select_option(label="Returns")
    await agent.get_by_label("First password").fill("a long first password")
    await agent.get_by_role("button", name="Add agent").click()
    agents = page.get_by_role("table", name="Agents")
    await expect(agents.get_by_role("row").filter(has_text="Carla Diaz")).to_contain_text("Returns")
    await agent.get_by_label("Name").fill("Carla Again")
    await agent.get_by_label("Email").fill("carla@example.test")
    await agent.get_by_label("First password").fill("a long first password")
    await agent.get_by_role("button", name="Add agent").click()
    await expect(agent.get_by_role("alert")).to_contain_text("email")  # taken: says which field
    await screenshot(page, "console-admin-agents")

    await page.get_by_role("link", name="Canned replies").click()
    canned = page.get_by_role("form", name="New canned reply")
    await canned.get_by_label("Name", exact=True).fill("Refund sent")
    text = canned.get_by_role("textbox", name=re.compile("placeholders"))
    await text.fill("Hi {{contact.first_name}}, your refund is on its way.")
    await canned.get_by_role("button", name="Save canned reply").click()
    await expect(page.get_by_role("table", name="Canned replies")).to_contain_text("Refund sent")

    await page.get_by_role("link", name="Macros").click()
    macro = page.get_by_role("form", name="New macro")
    await macro.get_by_label("Name", exact=True).fill("Refund and solve")
    await macro.get_by_label("Set status").select_option("solved")
    await macro.get_by_label("Add tags").fill("refund, billing")
    await macro.get_by_label("Reply with").fill("Your refund is on its way.")
    await macro.get_by_role("button", name="Save macro").click()
    macros = page.get_by_role("table", name="Macros")
    await expect(macros).to_contain_text("sets status Solved; tags refund, billing")
    await screenshot(page, "console-admin-new-macro")
    await assert_accessible(page)
