"""Two-factor sign-in in the console: an agent turns it on with the QR code's key, keeps
their recovery codes, and from then on signs in with a code; a wrong one is refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from tests.browser.conftest import Committed, Person
from tests.browser.support import assert_accessible, screenshot
from tests.browser.test_console import sign_in
from tests.factories.agents import PASSWORD, make_agent

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def grace(committed: Committed[Any]) -> Person:
    async def seed(session: AsyncSession) -> Person:
        agent = await make_agent(session, email="grace@example.test", name="Grace Hopper")
        return Person(email=agent.email, password=PASSWORD, name=agent.name, id=agent.id)

    return await committed(seed)


async def test_an_agent_turns_on_two_factor_and_signs_in_with_a_code(
    page: Page, grace: Person
) -> None:
    await page.goto("/console/settings/security")
    await sign_in(page, grace)
    await page.get_by_role("button", name="Set up two-factor sign-in").click()
    await expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    await assert_accessible(page)
    secret = (await page.locator(".secret code").text_content() or "").strip()
    totp = pyotp.TOTP(secret)
    await page.get_by_label("Code from the app").fill("000000")
    await page.get_by_role("button", name="Turn on").click()
    await expect(page.get_by_role("alert")).to_contain_text("the code is wrong")
    await page.get_by_label("Code from the app").fill(totp.now())
    await page.get_by_role("button", name="Turn on").click()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    await expect(codes).to_have_count(10)
    await screenshot(page, "console-recovery-codes")
    await page.get_by_role("button", name="I have saved them").click()
    await page.get_by_role("button", name="Sign out").click()

    await sign_in(page, grace)
    code_field = page.get_by_label("Authentication code")
    await expect(code_field).to_be_focused()
    await code_field.fill("123456")
    await code_field.press("Enter")
    await expect(page.get_by_role("alert")).to_have_text("The code is wrong or was used already")
    # The next step's code: the one used to turn it on is spent.
    await code_field.fill(totp.at(datetime.now(UTC) + timedelta(seconds=30)))
    await code_field.press("Enter")
    await expect(page.get_by_role("heading", name="Mine")).to_be_visible()
