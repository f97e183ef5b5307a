"""Email through the whole system into the console and back: mail delivered to a real
IMAP server (dovecot) is imported by the real worker (its mail poller and outbox relay,
running beside the app), shows up live in the agent's open list, and the agent's reply
leaves through the worker to a real SMTP server (aiosmtpd). Hostile HTML in a mail stays
inert on the ticket page, under the console's Content-Security-Policy."""

from __future__ import annotations

import asyncio
import email
import time
from collections.abc import AsyncIterator, Iterator
from email.message import Message
from email.policy import default
from typing import Any

import httpx
import pytest
from arq.worker import Worker
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import DatabaseSettings, RedisSettings, SecuritySettings, Settings, StorageSettings
from app.worker import create_worker
from tests.browser.conftest import Committed, Person
from tests.browser.support import screenshot
from tests.browser.test_console import sign_in
from tests.conftest import CHANNEL_PREFIX, REDIS_URL, SECRET_KEY
from tests.factories.agents import auth_headers, make_agent
from tests.servers.dovecot import Account, Dovecot
from tests.servers.smtp import SmtpServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning"),  # arq
]

LAPTOP = {"width": 1366, "height": 768}
SUPPORT = "support@shop.test"
HOSTILE_HTML = """<p>Please look at <b>this</b>.</p>
<script>window.pwned = 'script'</script>
<img src="x" onerror="window.pwned = 'onerror'">
<a href="javascript:window.pwned = 'link'">my invoice</a>
<iframe src="https://evil.example/"></iframe>
<form action="https://evil.example/"><input name="password"></form>"""


def plain_mail(subject: str, body: str, *, message_id: str) -> bytes:
    return (
        f"From: Kim Buyer <kim@customer.test>\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nDate: Wed, 02 Dec 2026 10:00:00 +0000\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def html_mail(subject: str, html: str, *, message_id: str) -> bytes:
    return (
        f"From: Kim Buyer <kim@customer.test>\r\nTo: {SUPPORT}\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nDate: Wed, 02 Dec 2026 10:00:00 +0000\r\n"
        f"Content-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
    ).encode()


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with Dovecot() as server:
        yield server


@pytest.fixture(scope="module")
def mailbox(dovecot: Dovecot) -> Account:
    return dovecot.new_account()


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
async def worker(
    live_database: str, redis_db: int, server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Worker]:
    """The real worker for the app's database and Redis: mail pollers, outbox relay,
    outbound sending."""
    settings = Settings(
        env="test",
        database=DatabaseSettings(url=live_database, pool_size=3),
        redis=RedisSettings(url=f"{REDIS_URL}/{redis_db}", channel_prefix=CHANNEL_PREFIX),
        security=SecuritySettings(secret_key=SECRET_KEY),
        storage=StorageSettings(data_dir=tmp_path_factory.mktemp("worker") / "data"),
    )
    worker = create_worker(settings, poll_delay=0.05)
    running = asyncio.create_task(worker.async_run())
    async with asyncio.timeout(10):
        while "supervisor" not in worker.ctx:  # noqa: ASYNC110 - arq's start-up
            await asyncio.sleep(0.05)
    yield worker
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    await worker.close()


@pytest.fixture(scope="module")
async def email_inbox(
    committed: Committed[Any],
    server_url: str,
    mailbox: Account,
    smtp: SmtpServer,
    worker: Worker,
) -> dict[str, Any]:
    """Connected as an admin would, through the API; the worker starts polling it."""

    async def seed(session: AsyncSession) -> dict[str, str]:
        return await auth_headers(session, await make_agent(session, role="admin"))

    headers = await committed(seed)
    settings = {
        "address": SUPPORT,
        "imap_host": mailbox.host,
        "imap_port": mailbox.port,
        "imap_security": "none",
        "imap_username": mailbox.address,
        "imap_password": mailbox.password,
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "smtp_security": "none",
    }
    async with httpx.AsyncClient(base_url=server_url, headers=headers) as http:
        body = {"name": "Support", "channel": "email", "settings": settings}
        response = await http.post("/api/v1/inboxes", json=body)
    assert response.status_code == 201, response.text
    inbox: dict[str, Any] = response.json()
    return inbox


async def sent_to(smtp: SmtpServer, recipient: str, *, within: float = 15) -> Message:
    deadline = time.monotonic() + within
    while True:
        for captured in smtp.messages:
            if recipient in captured.rcpt_tos:
                return email.message_from_bytes(captured.content, policy=default)
        assert time.monotonic() < deadline, f"nothing reached {recipient} by SMTP"
        await asyncio.sleep(0.1)


async def test_a_new_mail_appears_live_and_the_reply_reaches_the_smtp_server(
    page: Page, admin: Person, mailbox: Account, smtp: SmtpServer, email_inbox: dict[str, Any]
) -> None:
    await page.set_viewport_size(LAPTOP)
    await page.goto("/console/views/unassigned")
    await sign_in(page, admin)
    await expect(page.get_by_role("heading", name="Unassigned")).to_be_visible()
    await expect(page.get_by_label("Your availability")).to_be_enabled()
    rows = page.get_by_role("list", name="Tickets").get_by_role("link")

    mailbox.deliver(
        plain_mail("The blender is loud", "It makes a grinding noise.", message_id="<b1@kim>")
    )
    row = rows.filter(has_text="The blender is loud")
    await expect(row).to_be_visible(timeout=15_000)  # IMAP IDLE, import, relay, socket
    await expect(row).to_contain_text("Kim Buyer")
    await row.click()
    timeline = page.get_by_role("list", name="Timeline")
    await expect(timeline).to_contain_text("It makes a grinding noise.")

    reply = page.get_by_role("textbox", name="Reply")
    await reply.fill("Sorry to hear that. A replacement is on its way.")
    await page.get_by_role("button", name="Send reply", exact=True).click()
    sent = timeline.get_by_role("article").filter(has_text="A replacement is on its way.")
    await expect(sent.get_by_role("status")).to_have_text("Sent", timeout=15_000)

    message = await sent_to(smtp, "kim@customer.test")
    assert str(message["Subject"]).startswith("Re: The blender is loud")
    assert message["In-Reply-To"] == "<b1@kim>"
    assert "A replacement is on its way." in message.get_body(("plain",)).get_content()


async def test_hostile_mail_html_stays_inert(
    page: Page, admin: Person, mailbox: Account, email_inbox: dict[str, Any]
) -> None:
    mailbox.deliver(html_mail("Invoice attached", HOSTILE_HTML, message_id="<evil@kim>"))
    await page.set_viewport_size(LAPTOP)
    await page.goto("/console/views/unassigned")
    await sign_in(page, admin)
    row = (
        page.get_by_role("list", name="Tickets")
        .get_by_role("link")
        .filter(has_text="Invoice attached")
    )
    await expect(row).to_be_visible(timeout=15_000)
    await row.click()
    mail = page.get_by_role("list", name="Timeline").get_by_role("article").first
    await expect(mail).to_contain_text("Please look at this.")
    await expect(mail.get_by_text("my invoice")).to_be_visible()
    await mail.get_by_text("my invoice").click()  # a link that lost its script
    await page.wait_for_timeout(300)
    assert await page.evaluate("() => window.pwned") is None
    for dangerous in ("script", "iframe", "form", "input", "[onerror]", "a[href^='javascript']"):
        assert await mail.locator(dangerous).count() == 0, dangerous
    await screenshot(page, "console-hostile-mail")
