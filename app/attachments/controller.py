from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import File
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.service import access_attachment, do_upload
from app.attachments.storage import AttachmentStore, safe_content_type
from app.auth.actor import Actor
from app.errors import NotFound, ValidationFailed
from app.messages.schemas import AttachmentOut
from app.messages.service import attachment_out


class AttachmentController(Controller):
    path = "/api/v1/attachments"
    tags = ["attachments"]

    @post("/", summary="Upload a file (multipart field `file`) to attach to a reply")
    async def upload(
        self,
        data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
        actor: Actor,
        db_session: AsyncSession,
        state: State,
    ) -> AttachmentOut:
        upload = data.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed.field("file", "send the file as multipart field `file`")
        store: AttachmentStore = state.attachment_store
        content = await upload.read(store.max_bytes + 1)
        attachment = await do_upload(
            db_session,
            actor,
            store=store,
            filename=upload.filename or "attachment",
            content_type=upload.content_type,
            data=content,
        )
        return attachment_out(attachment)

    @get("/{attachment_id:int}", summary="Download a file; always as an attachment, never rendered")
    async def download(
        self, attachment_id: int, actor: Actor, db_session: AsyncSession, state: State
    ) -> File:
        attachment = await access_attachment(db_session, actor, attachment_id)
        store: AttachmentStore = state.attachment_store
        path = store.path_for(attachment.sha256)
        if not path.exists():
            raise NotFound(f"the content of attachment {attachment_id} is missing from storage")
        return File(
            path=path,
            filename=attachment.filename,
            media_type=safe_content_type(attachment.content_type),
            content_disposition_type="attachment",
            headers={
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cache-Control": "private, max-age=0",
            },
        )
