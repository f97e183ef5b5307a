"""A batch of mail imported at once (app.ingest.batch) against real dovecot and PostgreSQL:
what one message does to the next in the same batch, a message that breaks the batch, and
that the happy path stays a batch (a handful of statements, no per-message fallback)."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.models import Contact
from app.inbound.models import InboundItem
from app.messages.models import Message
from app.tickets.events import TicketEvent
from app.tickets.participants import TicketParticipant
from channels.email.parsing import MailParser
from channels.email.poller import InboxPoller
from channels.email.settings import EmailInboxSettings
from tests.channels.email.mailflow import like, mail, sync, tickets
from tests.servers.dovecot import Account

FALLBACK = "a batch import failed"


def reply(subject: str, *, to: str, message_id: str, sender: str = "kim@customer.test") -> bytes:
    return mail(
        f"Re: {subject}",
        "Thanks, one more thing.",
        sender=sender,
        message_id=message_id,
        headers={"In-Reply-To": to, "References": to},
    )


async def statuses(session: AsyncSession) -> list[str]:
    rows = await session.scalars(select(InboundItem.status).order_by(InboundItem.id))
    return list(rows.all())


@pytest.fixture
def statements(poller: InboxPoller) -> Counter[str]:
    """SQL statements by kind, on the poller's engine."""
    engine = poller.sessionmaker.kw["bind"].sync_engine
    seen: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        seen[sql.lstrip().split(None, 1)[0].upper()] += 1

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


async def test_a_batch_is_a_handful_of_statements_not_several_per_message(
    poller: InboxPoller,
    mailbox: Account,
    db_session: AsyncSession,
    statements: Counter[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    for n in range(20):
        mailbox.deliver(
            mail(f"Case {n}", sender=f"c{n}@customer.test", message_id=f"<case{n}@c.test>")
        )
    for n in range(10):  # each answers one of the first ten
        mailbox.deliver(
            reply(
                f"Case {n}",
                to=f"<case{n}@c.test>",
                message_id=f"<re{n}@c.test>",
                sender=f"c{n}@customer.test",
            )
        )

    with caplog.at_level(logging.WARNING):
        assert await sync(poller) == 30

    assert FALLBACK not in caplog.text
    assert len(await tickets(db_session)) == 20
    assert await statuses(db_session) == ["imported"] * 30
    # 30 messages, 20 new tickets and their acknowledgements: the whole sync (settings,
    # store, import, mark seen) in a few statements per table, not several per message
    # (the per-message path took about 20 for each).
    assert sum(statements.values()) < 60, statements


async def test_references_within_one_batch_thread_onto_each_other_both_ways(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    # A reply before the mail it answers (delivered out of order), then the mail, then a
    # second reply: one ticket, all in one batch.
    mailbox.deliver(reply("Order", to="<order@c.test>", message_id="<early@c.test>"))
    mailbox.deliver(mail("Order", message_id="<order@c.test>"))
    mailbox.deliver(reply("Order", to="<order@c.test>", message_id="<late@c.test>"))

    await sync(poller)

    [ticket] = await tickets(db_session)
    inbound = (
        await db_session.scalars(
            select(Message.external_id)
            .where(Message.ticket_id == ticket.id, Message.direction == "inbound")
            .order_by(Message.seq)
        )
    ).all()
    assert inbound == ["<early@c.test>", "<order@c.test>", "<late@c.test>"]
    # Seqs are the ticket's events in order, with nothing skipped or doubled.
    seqs = (
        await db_session.scalars(
            select(TicketEvent.seq)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.seq)
        )
    ).all()
    assert list(seqs) == list(range(1, ticket.last_seq + 1))


async def test_the_same_message_twice_in_one_batch_is_stored_once(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    copy = mail("Invoice", message_id="<invoice@c.test>")
    mailbox.deliver(copy)
    mailbox.deliver(copy)
    mailbox.deliver(mail("Other", message_id="<other@c.test>"))

    assert await sync(poller) == 2

    assert len(await tickets(db_session)) == 2
    assert await statuses(db_session) == ["imported", "imported"]
    for uid in (1, 2, 3):
        assert "\\Seen" in mailbox.server.flags(mailbox.address, uid)


async def test_a_senders_messages_in_one_batch_count_against_its_rate_limit(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    for n in range(7):  # the inbox allows five in ten minutes
        mailbox.deliver(mail(f"Loop {n}", sender="bot@customer.test", message_id=f"<l{n}@c.test>"))

    await sync(poller)

    assert await statuses(db_session) == ["imported"] * 5 + ["rate_limited"] * 2


async def test_an_auto_reply_kept_aside_is_pulled_in_by_its_original_in_the_same_batch(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    mailbox.deliver(
        mail(
            "Out of office",
            "I am away.",
            sender="kim@customer.test",
            message_id="<away@c.test>",
            headers={"Auto-Submitted": "auto-replied", "In-Reply-To": "<ask@c.test>"},
        )
    )
    mailbox.deliver(mail("A question", message_id="<ask@c.test>"))

    await sync(poller)

    [ticket] = await tickets(db_session)
    on_ticket = (
        await db_session.scalars(
            select(Message.external_id).where(
                Message.ticket_id == ticket.id, Message.direction == "inbound"
            )
        )
    ).all()
    assert sorted(on_ticket) == ["<ask@c.test>", "<away@c.test>"]
    assert await statuses(db_session) == ["imported", "imported"]


class RefusedByTheDatabase(InboxPoller):
    """Importing <broken@c.test> also writes a row PostgreSQL refuses (a value too long
    for its column): nothing notices until the batch is written."""

    async def import_one(
        self, session: AsyncSession, row: InboundItem, settings: EmailInboxSettings
    ) -> str:
        if row.external_id == "<broken@c.test>":
            session.add(Contact(name="K" * 300))  # contacts.name is VARCHAR(200)
        return await super().import_one(session, row, settings)


async def test_a_message_that_breaks_the_batch_fails_alone_and_the_rest_go_in(
    poller: InboxPoller,
    mailbox: Account,
    db_session: AsyncSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The batch's writes fail at the database: the batch rolls back, goes in again one
    message a transaction, and only the message that broke it is stored as failed."""
    for n in range(5):
        mailbox.deliver(
            mail(f"Order {n}", sender=f"o{n}@customer.test", message_id=f"<o{n}@c.test>")
        )
    mailbox.deliver(mail("Broken", sender="x@customer.test", message_id="<broken@c.test>"))
    mailbox.deliver(
        reply("Order 1", to="<o1@c.test>", message_id="<o1r@c.test>", sender="o1@customer.test")
    )

    with caplog.at_level(logging.WARNING):
        await sync(like(poller, RefusedByTheDatabase))

    assert FALLBACK in caplog.text
    rows = (await db_session.scalars(select(InboundItem).order_by(InboundItem.id))).all()
    assert [r.status for r in rows] == ["imported"] * 5 + ["failed", "imported"]
    assert rows[5].error is not None
    assert rows[5].error.startswith("import failed:")
    assert len(await tickets(db_session)) == 5  # the reply is on its ticket
    participants = (await db_session.scalars(select(TicketParticipant.address))).all()
    assert "x@customer.test" not in participants


async def test_a_sender_name_longer_than_a_contact_name_is_cut_not_refused(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    raw = mail("Hello", sender="long@customer.test", message_id="<long@c.test>")
    mailbox.deliver(raw.replace(b"From: Kim <", b"From: " + b"K" * 300 + b" <"))

    await sync(poller)

    assert await statuses(db_session) == ["imported"]
    contact = await db_session.scalar(select(Contact).where(Contact.email == "long@customer.test"))
    assert contact is not None
    assert contact.name == "K" * 200


async def test_mail_parsed_in_a_separate_process_imports_the_same(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    parser = MailParser(workers=1)
    pooled = like(poller, InboxPoller)
    pooled.parser = parser
    try:
        mailbox.deliver(mail("Grüße", "Schöne Grüße", message_id="<umlaut@c.test>"))
        mailbox.deliver(b"\r\n\r\n")  # nothing to parse: stored as failed
        await sync(pooled)
    finally:
        parser.close()

    [ticket] = await tickets(db_session)
    assert ticket.subject == "Grüße"
    rows = (await db_session.scalars(select(InboundItem).order_by(InboundItem.id))).all()
    assert [r.status for r in rows] == ["imported", "failed"]
    assert rows[1].error is not None
    assert "cannot parse" in rows[1].error
