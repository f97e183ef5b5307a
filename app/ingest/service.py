"""Ingest: one inbound message from any channel becomes a stored message on a ticket.

Contact, ticket, message, attachments and outbox events are written in the caller's
transaction. The (inbox, external id) unique constraint makes a redelivery a no-op that
returns the stored message, even when two deliveries race.

A message that arrives after its replies (threaded backwards, see `threading`) is a new
event on the ticket: it gets the next `seq`, as realtime clients resume by seq and must
never see old numbers change. Its place in the conversation is its own date (`dated_at`,
email's Date, never later than it arrived), which orders the ticket's message list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.service import store_received_files
from app.attachments.storage import AttachmentStore
from app.contacts.identities import Identity, resolve_contact
from app.contacts.models import Contact
from app.errors import ValidationFailed
from app.inboxes.models import Inbox
from app.ingest.threading import Thread, find_thread
from app.ingest.types import InboundMessage
from app.messages.models import Attachment, Message
from app.messages.sanitize import sanitize_html, text_from_html
from app.tickets.events import EventActor
from app.tickets.lifecycle import NewMessage, NewTicket, append_message, change_ticket, open_ticket
from app.tickets.models import Ticket
from app.tickets.participants import add_participants

SUBJECT_FROM_TEXT_LENGTH = 80
# The nearest references kept per message for backward threading; a hostile References
# header of thousands of ids is cut here.
REFERENCES_KEPT = 50


class Unthreaded(Exception):
    """The message may only join an existing conversation (`may_open_ticket=False`) and
    none was found; nothing was stored."""


def link_inline_images(html: str, attachments: list[Attachment]) -> str:
    """Point `cid:` images at the stored attachments, which the API serves with access checks."""
    for attachment in attachments:
        if attachment.content_id:
            cid = attachment.content_id.strip("<>")
            html = html.replace(f'src="cid:{cid}"', f'src="/api/v1/attachments/{attachment.id}"')
    return html


@dataclass(frozen=True)
class IngestResult:
    ticket: Ticket
    message: Message
    contact: Contact
    created_ticket: bool
    duplicate: bool


async def _stored(session: AsyncSession, inbound: InboundMessage) -> Message | None:
    return await session.scalar(
        select(Message).where(
            Message.inbox_id == inbound.inbox_id, Message.external_id == inbound.external_id
        )
    )


async def _stored_and_replies(
    session: AsyncSession, inbound: InboundMessage
) -> tuple[Message | None, list[int]]:
    """(the message stored under this external id, if this is a redelivery; the tickets of
    stored messages that reference it), in one statement: every message asks both."""
    found = (
        await session.scalars(
            select(Message).where(
                Message.inbox_id == inbound.inbox_id,
                or_(
                    Message.external_id == inbound.external_id,
                    Message.referenced_ids.contains([inbound.external_id]),  # the GIN index
                ),
            )
        )
    ).all()
    stored = next((m for m in found if m.external_id == inbound.external_id), None)
    return stored, sorted({m.ticket_id for m in found if m is not stored})


async def _duplicate(session: AsyncSession, message: Message) -> IngestResult:
    """The stored message under this external id. It may be one of our own outbound ones
    (a mail loop); the caller tells by its `direction`."""
    ticket = await session.get(Ticket, message.ticket_id)
    assert ticket is not None
    contact = await session.get(Contact, message.author_contact_id or ticket.contact_id)
    assert contact is not None
    return IngestResult(ticket, message, contact, created_ticket=False, duplicate=True)


def _subject(inbound: InboundMessage, text: str) -> str:
    if inbound.subject and inbound.subject.strip():
        return inbound.subject.strip()[:500]
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first_line[:SUBJECT_FROM_TEXT_LENGTH] or "(no subject)"


async def stored_content(
    session: AsyncSession, inbound: InboundMessage, *, store: AttachmentStore
) -> tuple[str | None, list[Attachment]]:
    """(the sanitized HTML, pointing at the stored inline images; the stored attachments).
    Attachments first (with no message yet), so inline images can point at them."""
    html = sanitize_html(inbound.html) if inbound.html else None
    stored = []
    if inbound.attachments:
        stored = await store_received_files(session, store=store, files=inbound.attachments)
    if html and stored:
        html = link_inline_images(html, stored)
    return html, stored


def new_inbound_message(
    inbound: InboundMessage, *, contact: Contact, html: str | None, now: datetime
) -> NewMessage:
    received = inbound.received_at or now
    return NewMessage(
        direction="inbound",
        author_type="contact",
        author_contact_id=contact.id,
        subject=inbound.subject[:998] if inbound.subject else None,
        body_text=inbound.text or (text_from_html(html) if html else ""),
        body_html=html,
        inbox_id=inbound.inbox_id,
        external_id=inbound.external_id,
        status="received",
        channel_data={**inbound.channel_data, "automated": inbound.automated},
        automated=inbound.automated,
        referenced_ids=tuple(inbound.thread.replies_to[:REFERENCES_KEPT]),
        created_at=received,
        dated_at=min(inbound.sent_at, received) if inbound.sent_at else None,
    )


def new_inbound_ticket(
    inbound: InboundMessage, *, contact: Contact, inbox: Inbox | None, linked_to: int | None
) -> NewTicket:
    return NewTicket(
        subject=_subject(inbound, inbound.text or text_from_html(inbound.html or "")),
        channel=inbound.channel,
        inbox_id=inbound.inbox_id,
        contact_id=contact.id,
        account_id=contact.account_id,
        team_id=inbox.team_id if inbox else None,
        linked_ticket_id=linked_to,
    )


def participants_of(
    inbound: InboundMessage, ticket: Ticket, *, contact: Contact, created: bool
) -> list[tuple[str, str]]:
    """Whoever else writes on a ticket (a colleague of the same domain, say) takes part as
    CC; only the ticket's own contact is its requester."""
    requester = created or ticket.contact_id == contact.id
    if not (inbound.participants or not requester or created):
        return []
    sender = [s.address for s in inbound.sender if s.kind == "email"][:1]
    role = "requester" if requester else "cc"
    return [(a, role) for a in sender] + [(a, "cc") for a in inbound.participants]


async def _link_tied(
    session: AsyncSession, ticket: Ticket, thread: Thread, *, actor: EventActor, now: datetime
) -> None:
    """Link the tickets this message ties to its own, for an agent to merge: the other one
    points at this one, or, if it already points elsewhere, this one at it."""
    for other in thread.tied:
        if ticket.id == other.linked_ticket_id or other.id == ticket.linked_ticket_id:
            continue  # linked already
        if other.linked_ticket_id is None:
            source, target = other, ticket
        elif ticket.linked_ticket_id is None:
            source, target = ticket, other
        else:
            continue
        await change_ticket(session, source, {"linked_ticket_id": target.id}, actor=actor, now=now)


async def ingest(
    session: AsyncSession,
    inbound: InboundMessage,
    *,
    store: AttachmentStore,
    now: datetime,
) -> IngestResult:
    if not inbound.external_id:
        raise ValidationFailed.field("external_id", "every inbound message needs one")
    existing, replied_from = await _stored_and_replies(session, inbound)
    if existing is not None:
        return await _duplicate(session, existing)
    try:
        async with session.begin_nested():
            return await _ingest_new(
                session, inbound, store=store, now=now, replied_from=replied_from
            )
    except IntegrityError as exc:
        if "uq_messages_inbox_id_external_id" not in str(exc.orig):
            raise
        # A concurrent delivery of the same message won; answer with what it stored.
        existing = await _stored(session, inbound)
        assert existing is not None
        return await _duplicate(session, existing)


async def _ingest_new(
    session: AsyncSession,
    inbound: InboundMessage,
    *,
    store: AttachmentStore,
    now: datetime,
    replied_from: list[int],
) -> IngestResult:
    identities = [Identity.of(s.kind, s.address) for s in inbound.sender]
    contact, _ = await resolve_contact(session, identities, name=inbound.sender_name)
    inbox = await session.get(Inbox, inbound.inbox_id) if inbound.inbox_id else None

    thread = await find_thread(session, inbound, contact=contact, replied_from=replied_from)
    ticket, linked_from = thread.ticket, thread.link_new_to
    if ticket is None and not inbound.may_open_ticket:
        raise Unthreaded(inbound.external_id)
    html, stored = await stored_content(session, inbound, store=store)
    new_message = new_inbound_message(inbound, contact=contact, html=html, now=now)
    actor = EventActor.contact(contact.id)
    created = ticket is None
    if ticket is None:
        new_ticket = new_inbound_ticket(
            inbound, contact=contact, inbox=inbox, linked_to=linked_from
        )
        ticket, message = await open_ticket(
            session, new_ticket, first_message=new_message, attachments=stored, actor=actor, now=now
        )
    else:
        message = await append_message(
            session, ticket, new_message, attachments=stored, actor=actor, now=now
        )
    people = participants_of(inbound, ticket, contact=contact, created=created)
    if people:
        await add_participants(session, ticket.id, people)
    await _link_tied(session, ticket, thread, actor=actor, now=now)
    return IngestResult(ticket, message, contact, created_ticket=created, duplicate=False)
