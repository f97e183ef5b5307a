from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.storage import AttachmentStore
from app.config import Settings
from app.contacts.models import ContactIdentity
from app.db.engine import SessionMaker
from app.inboxes.models import Inbox
from app.ingest.service import REFERENCES_KEPT, ingest
from app.ingest.types import InboundAttachment, InboundMessage, SenderIdentity, ThreadHints
from app.messages.models import Attachment, Message
from app.outbox.models import OutboxEvent
from app.tickets.models import Ticket
from tests.conftest import FrozenClock


@pytest.fixture
def store(settings: Settings) -> AttachmentStore:
    return AttachmentStore(settings.storage)


async def _inbox(session: AsyncSession, channel: str = "email") -> Inbox:
    inbox = Inbox(name="Support", channel=channel, settings={})
    session.add(inbox)
    await session.flush()
    return inbox


def _mail(inbox: Inbox, external_id: str, **kwargs: object) -> InboundMessage:
    defaults: dict[str, object] = {
        "channel": "email",
        "inbox_id": inbox.id,
        "sender": (SenderIdentity("email", "Kim@Customer.test"),),
        "sender_name": "Kim",
        "external_id": external_id,
        "subject": "Cannot log in",
        "text": "Help please",
    }
    return InboundMessage(**{**defaults, **kwargs})  # type: ignore[arg-type]


async def test_new_message_opens_a_ticket_with_contact_and_events(
    db_session: AsyncSession, store: AttachmentStore, clock: FrozenClock
) -> None:
    inbox = await _inbox(db_session)

    result = await ingest(db_session, _mail(inbox, "<a@x>"), store=store, now=clock())

    assert result.created_ticket
    assert not result.duplicate
    assert result.ticket.subject == "Cannot log in"
    assert result.ticket.status == "new"
    assert result.contact.email == "kim@customer.test"
    assert result.message.seq == 2
    topics = (
        await db_session.scalars(
            select(OutboxEvent.topic)
            .where(OutboxEvent.ticket_id == result.ticket.id)
            .order_by(OutboxEvent.seq)
        )
    ).all()
    assert topics == ["ticket.created", "message.created"]


async def test_redelivery_returns_the_stored_message_and_changes_nothing(
    db_session: AsyncSession, store: AttachmentStore, clock: FrozenClock
) -> None:
    inbox = await _inbox(db_session)
    first = await ingest(db_session, _mail(inbox, "<dup@x>"), store=store, now=clock())
    events_before = await db_session.scalar(select(func.count()).select_from(OutboxEvent))

    again = await ingest(
        db_session, _mail(inbox, "<dup@x>", text="changed"), store=store, now=clock()
    )

    assert again.duplicate
    assert again.message.id == first.message.id
    assert await db_session.scalar(select(func.count()).select_from(Message)) == 1
    assert await db_session.scalar(select(func.count()).select_from(OutboxEvent)) == events_before


async def test_reply_threads_by_reference_and_reopens_a_solved_ticket(
    db_session: AsyncSession, store: AttachmentStore, clock: FrozenClock
) -> None:
    inbox = await _inbox(db_session)
    first = await ingest(db_session, _mail(inbox, "<1@x>"), store=store, now=clock())
    first.ticket.status = "solved"
    await db_session.flush()

    reply = await ingest(
        db_session,
        _mail(
            inbox, "<2@x>", subject="Re: Cannot log in", thread=ThreadHints(replies_to=("<1@x>",))
        ),
        store=store,
        now=clock(),
    )

    assert reply.ticket.id == first.ticket.id
    assert not reply.created_ticket
    assert reply.ticket.status == "open"


async def test_same_subject_alone_never_threads(
    db_session: AsyncSession, store: AttachmentStore, clock: FrozenClock
) -> None:
    inbox = await _inbox(db_session)
    first = await ingest(db_session, _mail(inbox, "<s1@x>"), store=store, now=clock())

    second = await ingest(db_session, _mail(inbox, "<s2@x>"), store=store, now=clock())

    assert second.ticket.id != first.ticket.id


async def test_automated_reply_does_not_reopen(
    db_session: AsyncSession, store: AttachmentStore, clock: FrozenClock
) -> None:
    inbox = await _inbox(db_session)
    first = await ingest(db_session, _mail(inbox, "<r1@x>"), store=store, now=clock())
    first.ticket.status = "pending"
    await db_session.flush()

    auto = await ingest(
        db_session,
        _mail(inbox, "<r2@x>", automated=True, thread=ThreadHints(replies_to=("<r1@x>",))),
        store=store,
        now=clock(),
    )

    assert auto.ticket.id == first.ticket.id
    assert auto.ticket.status == "pending"


async def test_reply_to_a_closed_ticket_opens_a_linked_one(
    db_session: AsyncSession, store: AttachmentStore, clock: FrozenClock
) -> None:
    inbox = await _inbox(db_session)
    first = await ingest(db_session, _mail(inbox, "<c1@x>"), store=store, now=clock())
    first.ticket.status = "closed"
    await db_session.flush()

    reply = await ingest(
        db_session,
        _mail(inbox, "<c2@x>", thread=ThreadHints(replies_to=("<c1@x>",))),
        store=store,
        now=clock(),
    )

    assert reply.created_ticket
    assert reply.ticket.linked_ticket_id == first.ticket.id


async def test_quoted_ticket_number_from_a_stranger_opens_a_new_ticket(
    db_session: AsyncSession, store: AttachmentStore, clock: FrozenClock
) -> None:
    inbox = await _inbox(db_session)
    first = await ingest(db_session, _mail(inbox, "<n1@x>"), store=store, now=clock())
    number = ThreadHints(ticket_number=first.ticket.number)

    own = await ingest(db_session, _mail(inbox, "<n2@x>", thread=number), store=store, now=clock())
    stranger = await ingest(
        db_session,
        _mail(
            inbox, "<n3@x>", thread=number, sender=(SenderIdentity("email", "eve@elsewhere.test"),)
        ),
        store=store,
        now=clock(),
    )

    assert own.ticket.id == first.ticket.id
    assert stranger.ticket.id != first.ticket.id


async def test_chat_continues_the_open_conversation_and_identities_join_one_contact(
    db_session: AsyncSession, store: AttachmentStore, clock: FrozenClock
) -> None:
    inbox = await _inbox(db_session, channel="whatsapp")
    hints = ThreadHints(continue_open_conversation=True)
    sender = (SenderIdentity("whatsapp", "+44 7700 900123"),)
    first = await ingest(
        db_session,
        _mail(inbox, "wamid.1", channel="whatsapp", sender=sender, subject=None, thread=hints),
        store=store,
        now=clock(),
    )
    second = await ingest(
        db_session,
        _mail(inbox, "wamid.2", channel="whatsapp", sender=sender, subject=None, thread=hints),
        store=store,
        now=clock(),
    )
    email_inbox = await _inbox(db_session)
    by_phone_and_email = await ingest(
        db_session,
        _mail(
            email_inbox,
            "<p@x>",
            sender=(
                SenderIdentity("email", "sam@x.test"),
                SenderIdentity("phone", "+447700900123"),
            ),
        ),
        store=store,
        now=clock(),
    )

    assert second.ticket.id == first.ticket.id
    assert first.ticket.subject == "Help please"
    assert by_phone_and_email.contact.id == first.contact.id
    kinds = (
        await db_session.scalars(
            select(ContactIdentity.kind).where(ContactIdentity.contact_id == first.contact.id)
        )
    ).all()
    assert sorted(kinds) == ["email", "phone", "whatsapp"]


async def test_hostile_html_is_sanitized_and_attachments_are_stored(
    db_session: AsyncSession, store: AttachmentStore, clock: FrozenClock, tmp_path: Path
) -> None:
    inbox = await _inbox(db_session)
    html = '<p onmouseover="steal()">Hi<script>x()</script><a href="javascript:alert(1)">a</a><img src="https://track.test/p.gif"></p>'
    inbound = _mail(
        inbox,
        "<h@x>",
        text="",
        html=html,
        attachments=(
            InboundAttachment(
                "logo.png", "image/png", b"\x89PNG...", content_id="logo@x", inline=True
            ),
        ),
    )

    result = await ingest(db_session, inbound, store=store, now=clock())

    assert result.message.body_html is not None
    for bad in ("script", "onmouseover", "javascript:", "track.test"):
        assert bad not in result.message.body_html
    assert result.message.body_text == "Hia"
    stored = await db_session.scalar(
        select(Attachment).where(Attachment.message_id == result.message.id)
    )
    assert stored is not None
    assert stored.content_id == "logo@x"
    assert store.path_for(stored.sha256).read_bytes() == b"\x89PNG..."


@pytest.mark.committing
async def test_concurrent_deliveries_of_one_message_store_it_once(
    committing_sessionmaker: SessionMaker, store: AttachmentStore, clock: FrozenClock
) -> None:
    async with committing_sessionmaker() as session, session.begin():
        inbox = await _inbox(session)

    async def deliver() -> bool:
        async with committing_sessionmaker() as session, session.begin():
            result = await ingest(session, _mail(inbox, "<race@x>"), store=store, now=clock())
            await asyncio.sleep(0.05)  # hold the transaction open so the other overlaps
            return result.duplicate

    outcomes = await asyncio.gather(*(deliver() for _ in range(4)))

    async with committing_sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Message)) == 1
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 1
    assert sorted(outcomes) == [False, True, True, True]


async def test_quoted_number_admits_participants_and_links_strangers(
    db_session: AsyncSession, store: AttachmentStore, clock: FrozenClock
) -> None:
    inbox = await _inbox(db_session)
    first = await ingest(
        db_session,
        _mail(inbox, "<p1@x>", participants=("cc.person@partner.test",)),
        store=store,
        now=clock(),
    )
    number = ThreadHints(ticket_number=first.ticket.number, same_domain_participants=True)

    def sender(address: str) -> tuple[SenderIdentity, ...]:
        return (SenderIdentity("email", address),)

    cc = await ingest(
        db_session,
        _mail(inbox, "<p2@x>", thread=number, sender=sender("CC.Person@partner.test")),
        store=store,
        now=clock(),
    )
    colleague = await ingest(
        db_session,
        _mail(inbox, "<p3@x>", thread=number, sender=sender("boss@customer.test")),
        store=store,
        now=clock(),
    )
    stranger = await ingest(
        db_session,
        _mail(inbox, "<p4@x>", thread=number, sender=sender("eve@elsewhere.test")),
        store=store,
        now=clock(),
    )
    strict = ThreadHints(ticket_number=first.ticket.number)  # the default
    colleague_strict = await ingest(
        db_session,
        _mail(inbox, "<p5@x>", thread=strict, sender=sender("intern@customer.test")),
        store=store,
        now=clock(),
    )

    assert cc.ticket.id == first.ticket.id
    assert colleague.ticket.id == first.ticket.id
    assert stranger.created_ticket
    assert stranger.ticket.linked_ticket_id == first.ticket.id
    assert colleague_strict.ticket.linked_ticket_id == first.ticket.id


async def test_inbox_can_choose_to_reopen_closed_tickets(
    db_session: AsyncSession, store: AttachmentStore, clock: FrozenClock
) -> None:
    inbox = await _inbox(db_session)
    first = await ingest(db_session, _mail(inbox, "<o1@x>"), store=store, now=clock())
    first.ticket.status = "closed"
    await db_session.flush()

    reply = await ingest(
        db_session,
        _mail(inbox, "<o2@x>", thread=ThreadHints(replies_to=("<o1@x>",), reopen_closed=True)),
        store=store,
        now=clock(),
    )

    assert reply.ticket.id == first.ticket.id
    assert reply.ticket.status == "open"


async def test_inline_cid_images_point_at_stored_attachments(
    db_session: AsyncSession, store: AttachmentStore, clock: FrozenClock
) -> None:
    inbox = await _inbox(db_session)
    inbound = _mail(
        inbox,
        "<cid@x>",
        html='<p>Logo: <img src="cid:logo@x"></p>',
        attachments=(
            InboundAttachment("logo.png", "image/png", b"png", content_id="<logo@x>", inline=True),
        ),
    )

    result = await ingest(db_session, inbound, store=store, now=clock())

    stored = await db_session.scalar(
        select(Attachment).where(Attachment.message_id == result.message.id)
    )
    assert stored is not None
    assert result.message.body_html == f'<p>Logo: <img src="/api/v1/attachments/{stored.id}"></p>'


async def test_a_hostile_references_list_is_kept_to_the_nearest_ids(
    db_session: AsyncSession, store: AttachmentStore, clock: FrozenClock
) -> None:
    inbox = await _inbox(db_session)
    references = tuple(f"<ref{n}@x>" for n in range(5000))

    result = await ingest(
        db_session,
        _mail(inbox, "<many@x>", thread=ThreadHints(replies_to=references)),
        store=store,
        now=clock(),
    )

    assert result.message.referenced_ids == list(references[:REFERENCES_KEPT])
