"""Builds the channel-neutral `OutboundMessage` for a queued reply."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.attachments.storage import AttachmentStore
from app.contacts.models import Contact, ContactIdentity
from app.inboxes.channels import channel
from app.inboxes.models import Inbox
from app.ingest.types import OutboundAttachment, OutboundMessage, SenderIdentity
from app.messages.models import Message
from app.security.crypto import SecretBox
from app.tickets.models import Ticket


class Undeliverable(Exception):
    """The reply cannot be sent at all (no address, no inbox); retrying will not help."""


async def _recipient(session: AsyncSession, ticket: Ticket) -> SenderIdentity:
    kinds = channel(ticket.channel).identity_kinds  # in order of preference
    contact = await session.get(Contact, ticket.contact_id)
    assert contact is not None
    identities = (
        await session.scalars(
            select(ContactIdentity)
            .where(ContactIdentity.contact_id == contact.id, ContactIdentity.kind.in_(kinds))
            .order_by(ContactIdentity.id)
        )
    ).all()
    if ticket.channel == "email" and contact.email:
        return SenderIdentity("email", contact.email)
    for kind in kinds:  # in order of preference
        for identity in identities:
            if identity.kind == kind:
                return SenderIdentity(kind, identity.value)
    raise Undeliverable(f"the contact has no {' or '.join(kinds) or ticket.channel} address")


async def build_outbound(
    session: AsyncSession, message: Message, *, store: AttachmentStore, box: SecretBox
) -> tuple[OutboundMessage, dict[str, Any], dict[str, Any]]:
    """(the message, the inbox's settings, its decrypted secrets) for the channel adapter."""
    ticket = await session.get(Ticket, message.ticket_id)
    assert ticket is not None
    inbox = await session.get(Inbox, ticket.inbox_id) if ticket.inbox_id else None
    if inbox is None:
        raise Undeliverable("the ticket has no inbox to send from")
    earlier = (
        await session.execute(
            select(Message.external_id, Message.direction)
            .where(
                Message.ticket_id == ticket.id,
                Message.external_id.is_not(None),
                Message.seq < message.seq,
            )
            .order_by(Message.seq)
        )
    ).all()
    thread = [external_id for external_id, _ in earlier]
    customer = [external_id for external_id, direction in earlier if direction == "inbound"]
    loaded = await session.scalar(
        select(Message).where(Message.id == message.id).options(selectinload(Message.attachments))
    )
    assert loaded is not None
    outbound = OutboundMessage(
        message_id=message.id,
        ticket_id=ticket.id,
        ticket_number=ticket.number,
        channel=ticket.channel,
        inbox_id=inbox.id,
        recipient=await _recipient(session, ticket),
        subject=ticket.subject,
        text=message.body_text,
        html=message.body_html,
        attachments=tuple(
            OutboundAttachment(a.filename, a.content_type, str(store.path_for(a.sha256)))
            for a in loaded.attachments
        ),
        thread_external_ids=tuple(e for e in thread if e),
        in_reply_to=customer[-1] if customer else None,
        automated=message.author_type == "system",
    )
    secrets = box.open(inbox.secrets_encrypted) if inbox.secrets_encrypted else {}
    return outbound, dict(inbox.settings), secrets
