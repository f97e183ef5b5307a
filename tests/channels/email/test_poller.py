# ruff: noqa: E501  (raw RFC 5322 fixtures read best unwrapped)
"""The email channel end to end: real dovecot IMAP in, real aiosmtpd SMTP out."""

from __future__ import annotations

import asyncio
import email
from email.policy import default as default_policy
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.engine import SessionMaker
from app.inbound.models import InboundItem
from app.inboxes.models import Inbox
from app.messages.jobs import send_outbound
from app.messages.models import Message
from channels.email.poller import InboxPoller, run_owned
from channels.email.settings import EmailInboxSettings
from tests.channels.email.mailflow import (
    SUPPORT,
    job_ctx,
    like,
    mail,
    outbound_queued,
    sync,
    tickets,
)
from tests.channels.email.test_imap import all_uids
from tests.conftest import FrozenClock
from tests.factories.agents import auth_headers, make_agent
from tests.servers.dovecot import Account
from tests.servers.smtp import SmtpServer


async def test_new_mail_opens_a_ticket_and_is_marked_seen(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    mailbox.deliver(mail("Printer on fire", message_id="<first@customer.test>"))

    assert await sync(poller) == 1

    [ticket] = await tickets(db_session)
    assert ticket.subject == "Printer on fire"
    assert ticket.channel == "email"
    raw = await db_session.scalar(select(InboundItem))
    assert raw is not None
    assert (raw.status, raw.external_id) == ("imported", "<first@customer.test>")
    assert "\\Seen" in mailbox.server.flags(mailbox.address, 1)
    assert len(await outbound_queued(db_session)) == 1  # the automatic acknowledgement


async def test_replies_thread_by_reference_and_through_our_own_outbound_mail(
    poller: InboxPoller,
    mailbox: Account,
    db_session: AsyncSession,
    client: AsyncClient,
    sessionmaker: SessionMaker,
    settings: Settings,
    clock: FrozenClock,
    smtp_server: SmtpServer,
) -> None:
    mailbox.deliver(mail("Refund", message_id="<r1@customer.test>"))
    await sync(poller)
    [ticket] = await tickets(db_session)
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    reply = await client.post(
        f"/api/v1/tickets/{ticket.id}/messages", json={"body": "Refunded."}, headers=headers
    )
    for message in await outbound_queued(db_session):
        assert (
            await send_outbound(job_ctx(sessionmaker, settings, clock), message_id=message.id)
            == "sent"
        )
    sent = [
        email.message_from_bytes(m.content, policy=default_policy) for m in smtp_server.messages
    ]
    ours = next(m for m in sent if "Refunded." in m.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert ours["In-Reply-To"] == "<r1@customer.test>"
    assert f"[#{ticket.number}]" in ours["Subject"]

    mailbox.deliver(
        mail(
            "Re: Refund",
            "Thanks!",
            message_id="<r2@customer.test>",
            headers={"In-Reply-To": ours["Message-ID"]},
        )
    )
    mailbox.deliver(
        mail(
            "Another thing",
            "Also...",
            message_id="<r3@customer.test>",
            headers={"References": "<r1@customer.test>"},
        )
    )
    await sync(poller)

    assert reply.status_code == 201
    assert [t.id for t in await tickets(db_session)] == [ticket.id]
    texts = (
        await db_session.scalars(
            select(Message.body_text).where(
                Message.ticket_id == ticket.id, Message.direction == "inbound"
            )
        )
    ).all()
    assert sorted(texts) == sorted(["Hello, it does not work.", "Thanks!", "Also..."])


async def test_a_crash_mid_batch_imports_every_message_exactly_once(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    for n in range(30):
        mailbox.deliver(
            mail(f"Question {n}", sender=f"c{n}@customer.test", message_id=f"<q{n}@customer.test>")
        )

    class Crashing(InboxPoller):
        imports = 0

        async def import_one(
            self, session: AsyncSession, row: InboundItem, settings: EmailInboxSettings
        ) -> str:
            Crashing.imports += 1
            if Crashing.imports == 8:
                raise asyncio.CancelledError  # the worker is killed here
            return await super().import_one(session, row, settings)

    crashing = like(poller, Crashing)
    with pytest.raises(asyncio.CancelledError):
        await sync(crashing)
    await sync(poller)  # the restarted worker
    await sync(poller)

    inbound = (
        await db_session.scalars(select(Message.external_id).where(Message.direction == "inbound"))
    ).all()
    assert sorted(inbound) == sorted(f"<q{n}@customer.test>" for n in range(30))
    assert await db_session.scalar(select(func.count()).select_from(InboundItem)) == 30
    # The crash came before the batch was marked seen; the restart finished that too.
    for uid in (1, 8, 30):
        assert "\\Seen" in mailbox.server.flags(mailbox.address, uid)


async def test_a_message_that_breaks_the_import_fails_alone(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    """A bug hit by one message rolls back its batch; the batch goes in again message by
    message, and only that one is marked failed, with the reason."""
    for n in range(6):
        mailbox.deliver(
            mail(f"Order {n}", sender=f"o{n}@customer.test", message_id=f"<o{n}@c.test>")
        )

    class Buggy(InboxPoller):
        async def import_one(
            self, session: AsyncSession, row: InboundItem, settings: EmailInboxSettings
        ) -> str:
            if row.external_id == "<o3@c.test>":
                raise RuntimeError("a bug in the importer")
            return await super().import_one(session, row, settings)

    buggy = like(poller, Buggy)
    await sync(buggy)

    rows = (await db_session.scalars(select(InboundItem).order_by(InboundItem.id))).all()
    assert [r.status for r in rows] == ["imported"] * 3 + ["failed"] + ["imported"] * 2
    assert rows[3].error == "import failed: RuntimeError: a bug in the importer"
    assert len(await tickets(db_session)) == 5
    assert "\\Seen" in mailbox.server.flags(mailbox.address, 4)  # kept in the database instead


@pytest.mark.parametrize("after_import", ["move", "delete"])
async def test_imported_mail_is_moved_or_deleted_even_after_a_crash_before_that(
    poller: InboxPoller,
    mailbox: Account,
    db_session: AsyncSession,
    inbox: Inbox,
    after_import: str,
) -> None:
    inbox.settings = {**inbox.settings, "after_import": after_import, "move_to_folder": "Done"}
    await db_session.commit()
    for n in range(4):
        mailbox.deliver(
            mail(f"Case {n}", sender=f"m{n}@customer.test", message_id=f"<m{n}@c.test>")
        )

    class DiesBeforeTheMove(InboxPoller):
        async def _after_import(self, *args: Any) -> None:
            raise asyncio.CancelledError  # imported and committed, mailbox not yet touched

    with pytest.raises(asyncio.CancelledError):
        await sync(like(poller, DiesBeforeTheMove))
    assert await all_uids(mailbox) == [1, 2, 3, 4]
    mailbox.deliver(mail("Case 4", sender="m4@customer.test", message_id="<m4@c.test>"))

    await sync(poller)

    assert await all_uids(mailbox) == []
    if after_import == "move":
        assert await all_uids(mailbox, "Done") == [1, 2, 3, 4, 5]
    statuses = (await db_session.scalars(select(InboundItem.status))).all()
    assert statuses == ["imported"] * 5


async def test_a_new_uidvalidity_does_not_import_the_mailbox_twice(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    messages = [mail(f"M{n}", message_id=f"<m{n}@customer.test>") for n in range(3)]
    for raw in messages:
        mailbox.deliver(raw)
    await sync(poller)
    mailbox.recreate_mailbox()
    for raw in [*messages, mail("M3", message_id="<m3@customer.test>")]:
        mailbox.deliver(raw)

    await sync(poller)

    assert (
        await db_session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "inbound")
        )
        == 4
    )
    assert len(await tickets(db_session)) == 4


async def test_garbage_is_kept_reported_and_does_not_block_the_next_message(
    poller: InboxPoller,
    mailbox: Account,
    db_session: AsyncSession,
    client: AsyncClient,
    inbox: Inbox,
) -> None:
    mailbox.deliver(b"\x00\x01\x02 this is not an email at all \xff\xfe")
    mailbox.deliver(mail("After the garbage", message_id="<after@customer.test>"))

    await sync(poller)

    rows = (await db_session.scalars(select(InboundItem).order_by(InboundItem.id))).all()
    assert [r.status for r in rows] == ["failed", "imported"]
    assert rows[0].error
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    listed = (
        await client.get(
            f"/api/v1/inboxes/{inbox.id}/emails", params={"status": "failed"}, headers=headers
        )
    ).json()
    assert [e["id"] for e in listed["items"]] == [rows[0].id]
    raw = await client.get(listed["items"][0]["raw_url"], headers=headers)
    assert b"this is not an email at all" in raw.content  # as received (dovecot maps NUL)
    retried = await client.post(
        f"/api/v1/inboxes/{inbox.id}/emails/{rows[0].id}/retry", headers=headers
    )
    assert retried.json()["status"] == "pending"


async def test_hostile_html_mail_is_stored_safe(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession
) -> None:
    html = (
        '<div onclick="steal()"><script>alert(1)</script><a href="javascript:alert(2)">click</a>'
        '<img src="https://tracker.test/pixel.gif"><p style="width: expression(alert(3))">Hi</p>'
        '<iframe src="https://evil.test"></iframe></div>'
    )
    raw = (
        f"From: Eve <eve@evil.test>\r\nTo: {SUPPORT}\r\nSubject: Invoice\r\nMessage-ID: <evil@evil.test>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
    ).encode()
    mailbox.deliver(raw)

    await sync(poller)

    stored = await db_session.scalar(
        select(Message).where(Message.external_id == "<evil@evil.test>")
    )
    assert stored is not None
    assert stored.body_html is not None
    for bad in (
        "<script",
        "onclick",
        "javascript:",
        "tracker.test",
        "expression(",
        "<iframe",
        "style=",
    ):
        assert bad not in stored.body_html
    assert "Hi" in stored.body_text


async def test_only_one_process_polls_an_inbox(engine: Any, poller: InboxPoller) -> None:

    started = asyncio.Event()
    release = asyncio.Event()

    class Holding(InboxPoller):
        async def run(self) -> None:
            started.set()
            await release.wait()

    first = like(poller, Holding)
    task = asyncio.create_task(run_owned(first, engine))
    await asyncio.wait_for(started.wait(), 5)

    assert await run_owned(first, engine) is False  # a second process finds it taken
    release.set()
    assert await task is True
    started.clear()
    release.set()
    assert await run_owned(first, engine) is True  # free again once the owner stopped


async def test_an_imported_reply_reads_through_the_api_with_new_text_quote_and_attachment(
    poller: InboxPoller, mailbox: Account, db_session: AsyncSession, client: AsyncClient
) -> None:
    mailbox.deliver(mail("Broken lamp", message_id="<lamp1@customer.test>"))
    reply = (
        f"From: Kim <kim@customer.test>\r\nTo: {SUPPORT}\r\nSubject: Re: Broken lamp\r\n"
        "Message-ID: <lamp2@customer.test>\r\nIn-Reply-To: <lamp1@customer.test>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="M"\r\n\r\n'
        '--M\r\nContent-Type: multipart/alternative; boundary="A"\r\n\r\n'
        "--A\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        "Here is a photo, sch=F6n kaputt.\r\n\r\nOn Tue, 24 Nov 2026 at 10:00, Support <support@shop.test> wrote:\r\n"
        "> Could you send a photo?\r\n"
        "--A\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        "<p>Here is a photo, sch\xc3\xb6n kaputt.</p><blockquote>Could you send a photo?</blockquote>\r\n"
        "--A--\r\n"
        '--M\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename="lamp.png"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--M--\r\n"
    ).encode("latin-1")
    mailbox.deliver(reply)

    await sync(poller)

    [ticket] = await tickets(db_session)
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    body = (await client.get(f"/api/v1/tickets/{ticket.id}", headers=headers)).json()
    first, ack, second = body["messages"]
    assert (ack["direction"], ack["author_type"]) == ("outbound", "system")
    assert (first["direction"], first["internal"], first["status"]) == (
        "inbound",
        False,
        "received",
    )
    assert second["body_text"] == "Here is a photo, schön kaputt."
    assert "> Could you send a photo?" in second["quoted_text"]
    assert "schön kaputt" in second["body_html"]
    [attachment] = second["attachments"]
    assert (attachment["filename"], attachment["content_type"]) == ("lamp.png", "image/png")
    download = await client.get(attachment["url"], headers=headers)
    assert download.content == b"\x89PNG\r\n\x1a\n"
    assert first["quoted_text"] is None
