"""The console as an agent uses it: open the site, sign in, see who you are, sign out."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import Person
from tests.browser.support import BrowserProblems, assert_accessible, screenshot

pytestmark = pytest.mark.browser


async def sign_in(page: Page, person: Person, *, password: str | None = None) -> None:
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password").fill(password or person.password)
    await page.get_by_label("Password").press("Enter")


async def test_sign_in_see_your_name_and_sign_out(page: Page, admin: Person) -> None:
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    await expect(page.get_by_role("heading", name="Sign in to Relaydesk")).to_be_visible()
    await screenshot(page, "console-sign-in")

    await sign_in(page, admin)
    # Signing in opens the agent's own tickets.
    await expect(page.get_by_role("heading", name="Mine")).to_be_visible()
    await expect(page).to_have_url(re.compile(r"/console/views/mine$"))

    # The session survives a reload: the cookie, not the page's memory, signs the agent in.
    await page.reload()
    await expect(page.get_by_text(f"Signed in as {admin.name}")).to_be_visible()

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    await page.goto("/console/")
    await expect(page).to_have_url(re.compile(r"/console/sign-in$"))


async def test_a_wrong_password_says_so_and_keeps_the_email(page: Page, admin: Person) -> None:
    await page.goto("/console")
    await sign_in(page, admin, password="not the password")
    await expect(page.get_by_role("alert")).to_have_text("The email or password is wrong")
    await expect(page.get_by_label("Email")).to_have_value(admin.email)
    await expect(page.get_by_label("Password")).to_have_value("")
    await screenshot(page, "console-wrong-password")


async def test_a_deep_link_returns_there_after_signing_in(page: Page, admin: Person) -> None:
    await page.goto("/console/tickets/42")
    await expect(page).to_have_url(re.compile(r"/console/sign-in\?next=/tickets/42$"))
    await sign_in(page, admin)
    await expect(page).to_have_url(re.compile(r"/console/tickets/42$"))
    await expect(page.get_by_role("alert")).to_contain_text("ticket 42 does not exist")


async def test_the_sign_in_page_has_no_serious_accessibility_violation(page: Page) -> None:
    await page.goto("/console/sign-in")
    await expect(page.get_by_label("Email")).to_be_focused()
    await assert_accessible(page)


async def test_an_inline_script_is_refused_and_fails_the_test(
    page: Page, browser_problems: BrowserProblems
) -> None:
    """The policy holds in a real browser, and the fixtures notice when it is broken."""
    await page.goto("/console/sign-in")
    async with page.expect_console_message(lambda m: "CSP violation" in m.text):
        await page.evaluate(
            """() => {
                const script = document.createElement('script')
                script.textContent = 'window.injected = true'
                document.head.append(script)
            }"""
        )
    assert await page.evaluate("() => window.injected") is None
    assert any("script-src" in problem for problem in browser_problems.found)
    browser_problems.found.clear()  # the fixture would fail this test on them otherwise


async def test_an_uncaught_script_error_fails_the_test(
    page: Page, browser_problems: BrowserProblems
) -> None:
    await page.goto("/console/sign-in")
    async with page.expect_event("pageerror"):
        await page.evaluate("() => { setTimeout(() => { throw new Error('boom') }) }")
    assert browser_problems.found == ["uncaught Error: boom"]
    browser_problems.found.clear()  # the fixture would fail this test on it otherwise
