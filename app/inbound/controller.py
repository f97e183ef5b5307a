"""Admins see every delivery an inbox received, download it as received, and retry
failures. `/inbound` serves every channel; `/emails` is its older email-only alias."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from litestar import Controller, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.http.params import Cursor, PageSize
from app.inbound.models import InboundItem
from app.inbound.schemas import InboundEmailOut, InboundItemOut, InboundStatus
from app.inbound.service import access_item, decompress, do_retry_item, list_items
from app.pagination import DEFAULT_LIMIT, decode_cursor, encode_cursor
from app.schemas import Page

EXTENSIONS = {"message/rfc822": "eml", "application/json": "json"}


def item_out(item: InboundItem) -> InboundItemOut:
    return InboundItemOut(
        id=item.id,
        inbox_id=item.inbox_id,
        channel=item.channel,
        delivery_key=item.delivery_key,
        external_id=item.external_id,
        content_type=item.content_type,
        size=item.size,
        status=item.status,
        reason=item.error,
        attempts=item.attempts,
        message_id=item.message_id,
        received_at=item.received_at,
        processed_at=item.processed_at,
        raw_url=f"/api/v1/inboxes/{item.inbox_id}/inbound/{item.id}/raw",
    )


def email_out(item: InboundItem) -> InboundEmailOut:
    return InboundEmailOut(
        id=item.id,
        inbox_id=item.inbox_id,
        uid=int(item.meta.get("uid", 0)),
        uidvalidity=int(item.meta.get("uidvalidity", 0)),
        message_id_header=item.external_id,
        size=item.size,
        status=item.status,
        error=item.error,
        attempts=item.attempts,
        message_id=item.message_id,
        received_at=item.received_at,
        processed_at=item.processed_at,
        raw_url=f"/api/v1/inboxes/{item.inbox_id}/emails/{item.id}/raw",
    )


def raw_response(item: InboundItem) -> Response[bytes]:
    extension = EXTENSIONS.get(item.content_type, "bin")
    return Response(
        decompress(item.raw_compressed),
        media_type=item.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="inbound-{item.id}.{extension}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


async def _page(
    session: AsyncSession,
    actor: Actor,
    inbox_id: int,
    statuses: Sequence[str] | None,
    limit: int,
    cursor: str | None,
) -> tuple[builtins.list[InboundItem], str | None]:
    items = await list_items(
        session,
        actor,
        inbox_id,
        statuses=statuses or [],
        limit=limit,
        before_id=decode_cursor(cursor) if cursor else None,
    )
    more = len(items) > limit
    items = items[:limit]
    return items, encode_cursor(items[-1].id) if more else None


class InboundController(Controller):
    path = "/api/v1/inboxes/{inbox_id:int}/inbound"
    tags = ["inboxes"]

    @get("/", summary="Deliveries an inbox received, newest first (failed ones: status=failed)")
    async def list(
        self,
        inbox_id: int,
        actor: Actor,
        db_session: AsyncSession,
        # The handler is named `list`, which shadows the builtin in this class body.
        status: builtins.list[InboundStatus] | None = None,
        limit: PageSize = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[InboundItemOut]:
        items, next_cursor = await _page(db_session, actor, inbox_id, status, limit, cursor)
        return Page(items=[item_out(i) for i in items], next_cursor=next_cursor)

    @get("/{item_id:int}/raw", summary="The delivery exactly as received")
    async def raw(
        self, inbox_id: int, item_id: int, actor: Actor, db_session: AsyncSession
    ) -> Response[bytes]:
        return raw_response(await access_item(db_session, actor, inbox_id, item_id))

    @post(
        "/{item_id:int}/retry",
        status_code=200,
        summary="Process a failed or held-back delivery again",
    )
    async def retry(
        self, inbox_id: int, item_id: int, actor: Actor, db_session: AsyncSession
    ) -> InboundItemOut:
        return item_out(await do_retry_item(db_session, actor, inbox_id, item_id))


class InboundEmailController(Controller):
    """The email-only names of the endpoints above, kept as aliases in their old shape."""

    path = "/api/v1/inboxes/{inbox_id:int}/emails"
    tags = ["inboxes"]

    @get(
        "/",
        summary="Alias of GET .../inbound for email inboxes (older shape)",
        deprecated=True,
    )
    async def list(
        self,
        inbox_id: int,
        actor: Actor,
        db_session: AsyncSession,
        status: builtins.list[InboundStatus] | None = None,
        limit: PageSize = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[InboundEmailOut]:
        items, next_cursor = await _page(db_session, actor, inbox_id, status, limit, cursor)
        return Page(items=[email_out(i) for i in items], next_cursor=next_cursor)

    @get("/{email_id:int}/raw", summary="Alias of GET .../inbound/{id}/raw", deprecated=True)
    async def raw(
        self, inbox_id: int, email_id: int, actor: Actor, db_session: AsyncSession
    ) -> Response[bytes]:
        return raw_response(await access_item(db_session, actor, inbox_id, email_id))

    @post("/{email_id:int}/retry", summary="Alias of POST .../inbound/{id}/retry", deprecated=True)
    async def retry(
        self, inbox_id: int, email_id: int, actor: Actor, db_session: AsyncSession
    ) -> InboundEmailOut:
        return email_out(await do_retry_item(db_session, actor, inbox_id, email_id))
