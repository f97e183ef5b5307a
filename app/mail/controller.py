from __future__ import annotations

import builtins
from typing import Annotated, Literal

from litestar import Controller, Response, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.mail.models import InboundEmail
from app.mail.schemas import InboundEmailOut
from app.mail.service import access_email, decompress, do_retry_email, list_emails
from app.pagination import DEFAULT_LIMIT, decode_cursor, encode_cursor
from app.schemas import Page

EmailStatus = Literal["pending", "imported", "duplicate", "ignored", "rate_limited", "failed"]


def email_out(row: InboundEmail) -> InboundEmailOut:
    fields = {f: getattr(row, f) for f in InboundEmailOut.__struct_fields__ if f != "raw_url"}
    return InboundEmailOut(**fields, raw_url=f"/api/v1/inboxes/{row.inbox_id}/emails/{row.id}/raw")


class InboundEmailController(Controller):
    """Admins see every message an email inbox received, as received, and retry failures."""

    path = "/api/v1/inboxes/{inbox_id:int}/emails"
    tags = ["inboxes"]

    @get(
        "/",
        summary="Messages received by an email inbox, newest first (failed ones: status=failed)",
    )
    async def list(
        self,
        inbox_id: int,
        actor: Actor,
        db_session: AsyncSession,
        # The handler is named `list`, which shadows the builtin in this class body.
        status: builtins.list[EmailStatus] | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[InboundEmailOut]:
        rows = await list_emails(
            db_session,
            actor,
            inbox_id,
            statuses=status or [],
            limit=limit,
            before_id=decode_cursor(cursor) if cursor else None,
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return Page(
            items=[email_out(r) for r in rows],
            next_cursor=encode_cursor(rows[-1].id) if more else None,
        )

    @get("/{email_id:int}/raw", summary="The message exactly as received (message/rfc822)")
    async def raw(
        self, inbox_id: int, email_id: int, actor: Actor, db_session: AsyncSession
    ) -> Response[bytes]:
        row = await access_email(db_session, actor, inbox_id, email_id)
        return Response(
            decompress(row.raw_compressed),
            media_type="message/rfc822",
            headers={
                "Content-Disposition": f'attachment; filename="inbound-{row.id}.eml"',
                "X-Content-Type-Options": "nosniff",
            },
        )

    @post("/{email_id:int}/retry", summary="Import a failed or rate-limited message again")
    async def retry(
        self, inbox_id: int, email_id: int, actor: Actor, db_session: AsyncSession
    ) -> InboundEmailOut:
        return email_out(await do_retry_email(db_session, actor, inbox_id, email_id))
