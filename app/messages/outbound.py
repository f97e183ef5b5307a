"""Builds the channel-neutral `OutboundMessage` for queued replies, many at a time.

`build_outbounds` asks for what a batch of replies needs (tickets, inboxes, the thread's
external ids, attachments, contacts and their addresses) in one query each, so a job
sending fifty acknowledgements makes six queries, not three hundred.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.storage import AttachmentStore
from app.contacts.models import Contact, ContactIdentity
from app.inboxes.channels import channel
from app.inboxes.models import Inbox
from app.ingest.types import OutboundAttachment, OutboundMessage, SenderIdentity
from app.messages.models import Attachment, Message
from app.security.crypto import SecretBox
from app.tickets.models import Ticket

# (the message, the inbox's settings, its decrypted secrets) for the channel adapter
Built = tuple[OutboundMessage, dict[str, Any], dict[str, Any]]


class Undeliverable(Exception):
    """The reply cannot be sent at all (no address, no inbox); retrying will not help."""


def _recipient(
    ticket: Ticket, contact: Contact, identities: Sequence[ContactIdentity]
) -> SenderIdentity:
    kinds = channel(ticket.channel).identity_kinds  # in order of preference
    if ticket.channel == "email" and contact.email:
        return SenderIdentity("email", contact.email)
    for kind in kinds:
        for identity in identities:  # in id order
            if identity.kind == kind:
                return SenderIdentity(kind, identity.value)
    raise Undeliverable(f"the contact has no {' or '.join(kinds) or ticket.channel} address")


async def build_outbounds(
    session: AsyncSession, messages: Sequence[Message], *, store: AttachmentStore, box: SecretBox
) -> dict[int, Built | Undeliverable]:
    """For each message by id: what its channel adapter needs, or why it cannot be sent."""
    if not messages:
        return {}
    tickets = {
        t.id: t
        for t in await session.scalars(
            select(Ticket).where(Ticket.id.in_({m.ticket_id for m in messages}))
        )
    }
    inbox_ids = {t.inbox_id for t in tickets.values() if t.inbox_id}
    inboxes = (
        {i.id: i for i in await session.scalars(select(Inbox).where(Inbox.id.in_(inbox_ids)))}
        if inbox_ids
        else {}
    )
    # The thread of each ticket: its messages with an external id, in seq order.
    thread: dict[int, list[tuple[int, str | None, str]]] = {}
    for ticket_id, seq, external_id, direction in await session.execute(
        select(Message.ticket_id, Message.seq, Message.external_id, Message.direction)
        .where(Message.ticket_id.in_(tickets.keys()), Message.external_id.is_not(None))
        .order_by(Message.ticket_id, Message.seq)
    ):
        thread.setdefault(ticket_id, []).append((seq, external_id, direction))
    attachments = await outbound_attachments(session, [m.id for m in messages], store=store)
    contact_ids = {t.contact_id for t in tickets.values()}
    contacts = {
        c.id: c for c in await session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))
    }
    identities: dict[int, list[ContactIdentity]] = {}
    for identity in await session.scalars(
        select(ContactIdentity)
        .where(ContactIdentity.contact_id.in_(contact_ids))
        .order_by(ContactIdentity.id)
    ):
        identities.setdefault(identity.contact_id, []).append(identity)
    secrets: dict[int, dict[str, Any]] = {}
    built: dict[int, Built | Undeliverable] = {}
    for message in messages:
        ticket = tickets[message.ticket_id]
        inbox = inboxes.get(ticket.inbox_id) if ticket.inbox_id else None
        if inbox is None:
            built[message.id] = Undeliverable("the ticket has no inbox to send from")
            continue
        try:
            recipient = _recipient(
                ticket, contacts[ticket.contact_id], identities.get(ticket.contact_id, [])
            )
        except Undeliverable as exc:
            built[message.id] = exc
            continue
        earlier = [(e, d) for seq, e, d in thread.get(ticket.id, []) if seq < message.seq]
        customer = [e for e, d in earlier if d == "inbound"]
        if inbox.id not in secrets:
            secrets[inbox.id] = box.open(inbox.secrets_encrypted) if inbox.secrets_encrypted else {}
        outbound = OutboundMessage(
            message_id=message.id,
            ticket_id=ticket.id,
            ticket_number=ticket.number,
            channel=ticket.channel,
            inbox_id=inbox.id,
            recipient=recipient,
            subject=ticket.subject,
            text=message.body_text,
            html=message.body_html,
            attachments=attachments.get(message.id, ()),
            thread_external_ids=tuple(e for e, _ in earlier if e),
            in_reply_to=customer[-1] if customer else None,
            automated=message.author_type == "system",
        )
        built[message.id] = (outbound, dict(inbox.settings), secrets[inbox.id])
    return built


async def outbound_attachments(
    session: AsyncSession, message_ids: Sequence[int], *, store: AttachmentStore
) -> dict[int, tuple[OutboundAttachment, ...]]:
    """The files each message carries, as its channel sender reads them from the store."""
    found: dict[int, list[OutboundAttachment]] = {}
    for attachment in await session.scalars(
        select(Attachment).where(Attachment.message_id.in_(message_ids)).order_by(Attachment.id)
    ):
        assert attachment.message_id is not None
        found.setdefault(attachment.message_id, []).append(
            OutboundAttachment(
                attachment.filename,
                attachment.content_type,
                str(store.path_for(attachment.sha256)),
            )
        )
    return {message_id: tuple(files) for message_id, files in found.items()}


async def build_outbound(
    session: AsyncSession, message: Message, *, store: AttachmentStore, box: SecretBox
) -> Built:
    """`build_outbounds` for one message; raises `Undeliverable`."""
    built = (await build_outbounds(session, [message], store=store, box=box))[message.id]
    if isinstance(built, Undeliverable):
        raise built
    return built
