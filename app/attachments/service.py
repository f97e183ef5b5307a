"""Uploading files for replies and serving stored files to those allowed to see them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.storage import AttachmentStore, safe_filename
from app.auth.actor import Actor
from app.errors import NotFound
from app.ingest.types import InboundAttachment
from app.messages.models import Attachment, Message
from app.tickets.models import Ticket
from app.tickets.repository import readable_by


async def store_received_files(
    session: AsyncSession, *, store: AttachmentStore, files: Sequence[InboundAttachment]
) -> list[Attachment]:
    """Files that came with an inbound message, stored and numbered before the message
    itself (its HTML points at them by id); the lifecycle attaches them to it."""
    stored = [
        Attachment(
            filename=safe_filename(item.filename),
            content_type=item.content_type.lower(),
            size=len(item.data),
            sha256=await store.save(item.data),
            content_id=item.content_id,
            inline=item.inline,
        )
        for item in files
    ]
    if stored:
        session.add_all(stored)
        await session.flush()
    return stored


async def do_upload(
    session: AsyncSession,
    actor: Actor,
    *,
    store: AttachmentStore,
    filename: str,
    content_type: str,
    data: bytes,
) -> Attachment:
    """An upload not yet on any message; a reply claims it with `attachment_ids`."""
    content_type = (content_type or "application/octet-stream").split(";")[0].strip().lower()
    store.check(size=len(data), content_type=content_type)
    attachment = Attachment(
        uploaded_by_id=actor.agent_id,
        filename=safe_filename(filename),
        content_type=content_type,
        size=len(data),
        sha256=await store.save(data),
    )
    session.add(attachment)
    await session.flush()
    return attachment


async def access_attachment(session: AsyncSession, actor: Actor, attachment_id: int) -> Attachment:
    """Visible when its ticket is, or, before it is attached, to the agent who uploaded it."""
    on_ticket = (
        select(Attachment)
        .join(Message, Message.id == Attachment.message_id)
        .join(Ticket, Ticket.id == Message.ticket_id)
        .where(Attachment.id == attachment_id, readable_by(actor))
    )
    attachment = await session.scalar(on_ticket)
    if attachment is None:
        attachment = await session.scalar(
            select(Attachment).where(
                Attachment.id == attachment_id,
                Attachment.message_id.is_(None),
                Attachment.uploaded_by_id == actor.agent_id,
            )
        )
    if attachment is None:
        raise NotFound(f"attachment {attachment_id} does not exist")
    return attachment
