"""Threading end to end (real dovecot IMAP): mail that arrives out of order, auto-replies
to nothing, and who may join a ticket by quoting its number."""

from __future__ import annotations

from pathlib import Path

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.inbound.models import InboundItem
from app.inboxes.models import Inbox
from app.ingest.receive import KEPT_ASIDE
from app.messages.models import Message
from app.tickets.models import Ticket
from app.tickets.participants import TicketParticipant
from channels.email.poller import InboxPoller
from tests.channels.email.mailflow import mail, outbound_queued, sync, tickets
from tests.factories.agents import auth_headers, make_agent
from tests.servers.dovecot import Account

SAMPLES = Path(__file__).parent / "samples"
OUT_OF_OFFICE = {"Auto-Submitted": "auto-replied"}


def reply(subject: str, message_id: str, to: str, *, at: str, **kwargs: object) -> bytes:
    headers = {"In-Reply-To": to, "References": to}
    headers.update(kwargs.pop("headers", {}))  # type: ignore[arg-type]
    return mail(
        subject,
        message_id=message_id,
        headers=headers,
        date=f"Wed, 25 Nov 2026 {at}:00 +0000",
        **kwargs,  # type: ignore[arg-type]
    )


async def inbound(session: AsyncSession) -> list[Message]:
    stmt = select(Message).where(Message.direction == "inbound").order_by(Message.id)
    return list((await session.scalars(stmt)).all())


async def rows(session: AsyncSession) -> list[InboundItem]:
    return list((await session.scalars(select(InboundItem).order_by(InboundItem.id))).all())


@pytest.mark.parametrize("batches", [1, 2], ids=["one batch", "two batches"])
async def test_an_original_arriving_after_its_reply_joins_the_reply_s_ticket_in_date_order(
    poller: InboxPoller,
    mailbox: Account,
    db_session: AsyncSession,
    client: AsyncClient,
    batches: int,
) -> None:
    """Greylisting delays the first mail; its reply, sent five minutes later, comes first.
    The original joins the reply's ticket as a new event (the next seq, so realtime clients
    miss nothing) and reads first in the ticket, by its Date. It is not acknowledged again."""
    mailbox.deliver(
        reply("Re: Broken lamp", "<lamp2@customer.test>", "<lamp1@customer.test>", at="10:05")
    )
    if batches == 2:
        await sync(poller)
    mailbox.deliver(
        mail("Broken lamp", message_id="<lamp1@customer.test>", date="Wed, 25 Nov 2026 10:00:00")
    )

    await sync(poller)

    [ticket] = await tickets(db_session)
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    body = (await client.get(f"/api/v1/tickets/{ticket.id}", headers=headers)).json()
    listed = [(m["subject"], m["seq"]) for m in body["messages"]]
    # 1: the ticket opened (by the reply), 2: the reply, 3: our acknowledgement of it
    assert listed == [("Broken lamp", 4), ("Re: Broken lamp", 2), (None, 3)]
    assert [m["dated_at"][:16] for m in body["messages"][:2]] == [
        "2026-11-25T10:00",
        "2026-11-25T10:05",
    ]
    assert len(await outbound_queued(db_session)) == 1
    assert [r.status for r in await rows(db_session)] == ["imported", "imported"]


async def test_an_original_tying_two_tickets_joins_the_older_and_links_the_other(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    """Two answers to one mail (the customer's and a colleague's) came before it and opened
    two tickets; the original joins the first and the second is linked to it for a merge."""
    for n, at in ((1, "10:05"), (2, "10:06")):
        mailbox.deliver(
            reply("Re: Invoice", f"<inv-re{n}@customer.test>", "<inv@customer.test>", at=at)
        )
    await sync(poller)
    first, second = await tickets(db_session)

    mailbox.deliver(mail("Invoice", message_id="<inv@customer.test>"))
    await sync(poller)

    await db_session.refresh(second)
    original = (await inbound(db_session))[-1]
    assert original.external_id == "<inv@customer.test>"
    assert original.ticket_id == first.id
    assert second.linked_ticket_id == first.id
    assert len(await tickets(db_session)) == 2


async def test_a_tie_goes_to_the_ticket_the_message_s_own_headers_name(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    mailbox.deliver(mail("Order 7", message_id="<order7@customer.test>"))
    await sync(poller)
    mailbox.deliver(
        reply("Re: Re: Order 7", "<order7-c@customer.test>", "<order7-b@customer.test>", at="11:00")
    )
    await sync(poller)
    named, replied_from = await tickets(db_session)

    # The missing middle message: it answers the first ticket's mail, and was answered.
    mailbox.deliver(
        reply("Re: Order 7", "<order7-b@customer.test>", "<order7@customer.test>", at="10:30")
    )
    await sync(poller)

    await db_session.refresh(replied_from)
    middle = (await inbound(db_session))[-1]
    assert middle.ticket_id == named.id
    assert replied_from.linked_ticket_id == named.id


async def test_an_auto_reply_to_nothing_opens_no_ticket_until_its_original_arrives(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    """A CC'd colleague's out-of-office answer overtook the mail it answers: kept aside,
    not a ticket; when the original comes, it joins the original's ticket, unanswered."""
    mailbox.deliver(
        reply(
            "Automatic reply: Broken chair",
            "<ooo-chair@customer.test>",
            "<chair@customer.test>",
            at="10:01",
            sender="lee@customer.test",
            headers=OUT_OF_OFFICE,
        )
    )
    await sync(poller)

    [kept] = await rows(db_session)
    assert (kept.status, kept.error) == ("ignored", KEPT_ASIDE)
    assert await tickets(db_session) == []
    assert await outbound_queued(db_session) == []

    mailbox.deliver(mail("Broken chair", message_id="<chair@customer.test>"))
    await sync(poller)

    [ticket] = await tickets(db_session)
    await db_session.refresh(kept)
    original, auto_reply = await inbound(db_session)
    assert {original.ticket_id, auto_reply.ticket_id} == {ticket.id}
    assert (kept.status, kept.error, kept.message_id) == ("imported", None, auto_reply.id)
    assert auto_reply.channel_data["automated"] is True
    assert len(await outbound_queued(db_session)) == 1  # the original's acknowledgement only


async def test_an_exchange_out_of_office_to_an_unknown_ticket_opens_none(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    """Recognised by its headers (Auto-Submitted, X-Auto-Response-Suppress), though it
    quotes a ticket tag of a ticket that does not exist."""
    mailbox.deliver((SAMPLES / "out_of_office.eml").read_bytes())

    await sync(poller)

    [kept] = await rows(db_session)
    assert kept.status == "ignored"
    assert await tickets(db_session) == []


async def test_an_auto_reply_to_a_closed_ticket_is_recorded_there(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    mailbox.deliver(mail("Lamp", message_id="<lamp@customer.test>"))
    await sync(poller)
    [ticket] = await tickets(db_session)
    ticket.status = "closed"
    await db_session.commit()
    mailbox.deliver(
        reply(
            "Automatic reply: Lamp",
            "<ooo-lamp@customer.test>",
            "<lamp@customer.test>",
            at="10:02",
            headers=OUT_OF_OFFICE,
        )
    )

    await sync(poller)

    await db_session.refresh(ticket)
    assert [t.id for t in await tickets(db_session)] == [ticket.id]
    assert [m.ticket_id for m in await inbound(db_session)] == [ticket.id, ticket.id]
    assert ticket.status == "closed"


async def test_quoting_a_ticket_number_from_the_same_free_mail_domain_opens_a_new_ticket(
    poller: InboxPoller, inbox: Inbox, mailbox: Account, db_session: AsyncSession
) -> None:
    """With same-domain participation on, a colleague at the customer's company joins (as
    CC), but a stranger at gmail.com quoting another gmail.com customer's number does not."""
    inbox.settings = {**inbox.settings, "same_domain_participants": True}
    await db_session.commit()
    mailbox.deliver(mail("Refund", sender="ann@gmail.com", message_id="<refund@gmail.com>"))
    mailbox.deliver(mail("Delivery", message_id="<delivery@customer.test>"))
    await sync(poller)
    ann_ticket, kim_ticket = await tickets(db_session)

    mailbox.deliver(
        mail(f"Re: [#{ann_ticket.number}] Refund", sender="eve@gmail.com", message_id="<e@g>")
    )
    mailbox.deliver(
        mail(
            f"Re: [#{kim_ticket.number}] Delivery",
            sender="boss@customer.test",
            message_id="<boss@customer.test>",
        )
    )
    await sync(poller)

    eve, boss = (await inbound(db_session))[2:]
    stranger_ticket = await db_session.get(Ticket, eve.ticket_id)
    assert stranger_ticket is not None
    assert stranger_ticket.id not in (ann_ticket.id, kim_ticket.id)
    assert stranger_ticket.linked_ticket_id == ann_ticket.id
    assert boss.ticket_id == kim_ticket.id
    roles = dict(
        (
            await db_session.execute(
                select(TicketParticipant.address, TicketParticipant.role).where(
                    TicketParticipant.ticket_id == kim_ticket.id
                )
            )
        ).all()
    )
    assert roles == {"kim@customer.test": "requester", "boss@customer.test": "cc"}
    count = select(func.count()).select_from(Ticket)
    assert await db_session.scalar(count) == 3
