"""Files a visitor attaches: uploaded first (the inbox's size and type limits, within the
server's), claimed by the visitor's next `message.send`, then served back to the visitor
only from their own conversations' public messages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import anyio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.storage import AttachmentStore, safe_filename
from app.chat.models import ChatUpload, ChatVisitor
from app.chat.port import ChatSettings
from app.chat.service import visitor_contact_id
from app.errors import NotFound, ValidationFailed
from app.ingest.types import InboundAttachment
from app.messages.models import Attachment, Message
from app.tickets.models import Ticket

MAX_ATTACHMENTS = 10


def check_upload(
    settings: ChatSettings, store: AttachmentStore, *, size: int, content_type: str
) -> None:
    limit = min(settings.max_attachment_bytes, store.max_bytes)
    if size > limit:
        raise ValidationFailed.field("file", f"is {size} bytes; the limit is {limit}")
    if size == 0:
        raise ValidationFailed.field("file", "is empty")
    if not settings.allows_type(content_type):
        allowed = ", ".join(settings.attachment_types)
        raise ValidationFailed.field("file", f"type {content_type} is not allowed (only {allowed})")


async def do_upload(
    session: AsyncSession,
    visitor: ChatVisitor,
    *,
    settings: ChatSettings,
    store: AttachmentStore,
    filename: str,
    content_type: str,
    data: bytes,
) -> ChatUpload:
    content_type = (content_type or "application/octet-stream").split(";")[0].strip().lower()
    check_upload(settings, store, size=len(data), content_type=content_type)
    upload = ChatUpload(
        visitor_id=visitor.id,
        filename=safe_filename(filename),
        content_type=content_type,
        size=len(data),
        sha256=await store.save(data),
    )
    session.add(upload)
    await session.flush()
    return upload


async def claim_uploads(
    session: AsyncSession,
    visitor: ChatVisitor,
    upload_ids: Sequence[int],
    *,
    store: AttachmentStore,
    now: datetime,
) -> list[InboundAttachment]:
    """The visitor's unsent uploads, as the files of their message (marked used)."""
    if not upload_ids:
        return []
    if len(upload_ids) > MAX_ATTACHMENTS:
        raise ValidationFailed.field("attachment_ids", f"at most {MAX_ATTACHMENTS} files")
    uploads = (
        await session.scalars(
            select(ChatUpload)
            .where(
                ChatUpload.id.in_(upload_ids),
                ChatUpload.visitor_id == visitor.id,
                ChatUpload.used_at.is_(None),
            )
            .order_by(ChatUpload.id)
            .with_for_update()
        )
    ).all()
    missing = sorted(set(upload_ids) - {u.id for u in uploads})
    if missing:
        raise ValidationFailed.field(
            "attachment_ids", f"no unsent upload of yours with id {missing}"
        )
    files = []
    for upload in uploads:
        upload.used_at = now
        data = await anyio.Path(store.path_for(upload.sha256)).read_bytes()
        files.append(InboundAttachment(upload.filename, upload.content_type, data))
    return files


async def visitor_attachment(
    session: AsyncSession, visitor: ChatVisitor, attachment_id: int
) -> Attachment:
    """An attachment of a public message on one of the visitor's conversations; 404
    otherwise, so ids reveal nothing."""
    contact_id = await visitor_contact_id(session, visitor)
    attachment = None
    if contact_id is not None and 0 < attachment_id < 2**63:
        attachment = await session.scalar(
            select(Attachment)
            .join(Message, Message.id == Attachment.message_id)
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(
                Attachment.id == attachment_id,
                Message.internal.is_(False),
                Ticket.contact_id == contact_id,
                Ticket.inbox_id == visitor.inbox_id,
                Ticket.channel == "chat",
            )
        )
    if attachment is None:
        raise NotFound(f"attachment {attachment_id} does not exist")
    return attachment
