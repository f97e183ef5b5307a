"""The ticket page as an agent works a ticket: the customer's mail with its signature and
quoted history folded away, a canned reply filled in, a reply on a ticket a colleague
changed meanwhile (the console says what changed and asks), a macro, a tag, and a failed
reply sent again."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.contacts.identities import Identity, resolve_contact
from app.messages.service import do_record_delivery
from app.replies.models import CannedReply, Macro
from app.tickets.events import EventActor
from app.tickets.lifecycle import NewMessage, NewTicket, append_message, open_ticket
from app.tickets.service import do_update_ticket
from tests.browser.conftest import Committed, Person
from tests.browser.support import assert_accessible, screenshot
from tests.browser.test_console import sign_in
from tests.factories.agents import make_agent

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}  # the screen the console is laid out for

MAIL = "It does not boil any more.\nCan you help?\n\n-- \nGrace Hopper\nUS Navy"
QUOTED = "On Monday, Support wrote:\n> Thanks for your order."


@dataclass(frozen=True)
class Kettle:
    ticket_id: int
    number: int
    bob_id: int


@pytest.fixture(scope="module")
async def kettle(admin: Person, committed: Committed[Any]) -> Kettle:
    async def seed(session: AsyncSession) -> Kettle:
        now = datetime.now(UTC)
        contact, _ = await resolve_contact(
            session, [Identity.of("email", "grace@customer.test")], name="Grace Hopper"
        )
        ticket, _ = await open_ticket(
            session,
            NewTicket(subject="Broken kettle", channel="email", contact_id=contact.id),
            first_message=NewMessage(
                direction="inbound",
                author_type="contact",
                author_contact_id=contact.id,
                body_text=MAIL,
                status="received",
                channel_data={"quoted_text": QUOTED},
            ),
            actor=EventActor.contact(contact.id),
            now=now,
        )
        earlier = await append_message(
            session,
            ticket,
            NewMessage(
                direction="outbound",
                author_type="agent",
                author_agent_id=admin.id,
                body_text="We are looking into it.",
                status="queued",
            ),
            actor=EventActor.agent(admin.id),
            now=now,
        )
        await do_record_delivery(
            session,
            message_id=earlier.id,
            status="failed",
            failure_reason="550 mailbox unavailable",
            now=now,
        )
        session.add_all(
            [
                CannedReply(
                    name="Kettle thanks",
                    body="Hi {{contact.first_name}}, about #{{ticket.number}}: {{agent.name}}",
                    owner_id=admin.id,
                    visibility="personal",
                ),
                Macro(
                    name="Replace and solve",
                    actions={
                        "reply": {"body": "A new kettle is on its way, {{contact.first_name}}."},
                        "status": "solved",
                        "add_tags": ["replaced"],
                    },
                    owner_id=admin.id,
                    visibility="everyone",
                ),
            ]
        )
        bob = await make_agent(session, role="supervisor", name="Bob Kahn")
        return Kettle(ticket.id, ticket.number, bob.id)

    return await committed(seed)


async def test_an_agent_works_a_ticket(
    page: Page, admin: Person, kettle: Kettle, committed: Committed[Any]
) -> None:
    await page.set_viewport_size(LAPTOP)
    await page.goto(f"/console/tickets/{kettle.ticket_id}")
    await sign_in(page, admin)
    await expect(page.get_by_role("heading", name="Broken kettle")).to_be_visible()
    timeline = page.get_by_role("list", name="Timeline")
    mail = timeline.get_by_role("article", name="Message from Grace Hopper")
    await expect(mail).to_contain_text("It does not boil any more.")
    # The signature and the quoted history are folded away until asked for.
    await expect(mail.get_by_text("US Navy")).to_be_hidden()
    await expect(mail.get_by_text("Thanks for your order.")).to_be_hidden()
    await mail.get_by_text("Quoted history").click()
    await expect(mail.get_by_text("Thanks for your order.")).to_be_visible()
    contact = page.get_by_role("region", name="Contact")
    await expect(contact).to_contain_text("grace@customer.test")

    # The earlier reply failed; the agent sends it again.
    earlier = timeline.get_by_role("article", name="Message from Ada Lovelace")
    await expect(earlier).to_contain_text("550 mailbox unavailable")
    await earlier.get_by_role("button", name="Retry").click()
    await expect(earlier.get_by_role("status")).to_have_text("Sending…")

    # A canned reply, filled in for this ticket.
    await page.get_by_text("Canned replies").click()
    await page.get_by_role("button", name="Kettle thanks").click()
    reply = page.get_by_role("textbox", name="Reply")
    await expect(reply).to_have_value(f"Hi Grace, about #{kettle.number}: Ada Lovelace")
    await reply.press("End")
    await reply.type(" We will send a new one.")

    # Meanwhile a colleague raises the priority: sending asks first.
    async def bob_changes(session: AsyncSession) -> None:
        bob = Actor(kettle.bob_id, "supervisor", frozenset(), frozenset({"read", "write"}))
        changes = {"priority": "urgent"}
        await do_update_ticket(
            session, bob, kettle.ticket_id, changes=changes, now=datetime.now(UTC)
        )

    await committed(bob_changes)
    await page.get_by_role("button", name="Send reply", exact=True).click()
    warning = page.get_by_role("alert").filter(has_text="changed since you started writing")
    await expect(warning).to_contain_text("Bob Kahn: priority Normal → Urgent")
    await screenshot(page, "console-stale-reply")
    await warning.get_by_role("button", name="Send reply anyway").click()
    await expect(warning).to_be_hidden()
    sent = timeline.get_by_role("article").filter(has_text="We will send a new one.")
    await expect(sent.get_by_role("status")).to_have_text("Sent")
    await expect(reply).to_have_value("")

    # A macro replies and solves in one action; then a tag by hand.
    await page.get_by_text("Macros").click()
    await page.get_by_role("button", name="Replace and solve").click()
    await expect(timeline).to_contain_text("A new kettle is on its way, Grace.")
    await expect(page.get_by_label("Status")).to_have_value("solved")
    tags = page.get_by_label("Add a tag")
    await tags.fill("vip")
    await tags.press("Enter")
    await expect(page.get_by_role("button", name="Remove tag vip")).to_be_visible()
    await expect(page.get_by_role("button", name="Remove tag replaced")).to_be_visible()
    await expect(timeline).to_contain_text(re.compile(r"Ada Lovelace\s+tagged vip"))
    await screenshot(page, "console-ticket")
    await assert_accessible(page)
