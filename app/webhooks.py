"""`/webhooks/{channel}/{inbox public key}`: where providers deliver, routed to the adapter.

The composition root passes the adapters in (`create_app(webhook_adapters=...)`). A POST
is verified by the adapter before anything reads it, then stored raw (app.inbound) in the
request's transaction, which commits before the provider is answered; a job parses it
afterwards. So a provider's delivery is acknowledged only once it is safe, and a slow or
broken parser never makes the provider retry or give up. These routes take no agent
credentials: the provider's signature is the authentication.
"""

from __future__ import annotations

import hashlib
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import NotAuthenticated, NotFound, PermissionDenied
from app.http.openapi import problem_responses
from app.inbound.jobs import inbox_context
from app.inbound.service import Delivery, store_deliveries
from app.inboxes.models import Inbox
from app.ingest.webhooks import (
    InboxContext,
    WebhookAdapter,
    WebhookRejected,
    WebhookReply,
    WebhookRequest,
)

MAX_KEY_LENGTH = 64
# What the channel's adapter answers, in the media type the provider expects.
ADAPTER_REPLY = ResponseSpec(
    bytes, media_type="*/*", description="The adapter's answer", generate_examples=False
)


async def _route(
    state: State, session: AsyncSession, channel: str, public_key: str
) -> tuple[WebhookAdapter, Inbox, InboxContext]:
    """The adapter and the active inbox of this channel; 404 alike for anything else, so
    the endpoint says nothing about which keys exist."""
    adapter = state.webhook_adapters.get(channel)
    inbox = None
    if adapter is not None and len(public_key) <= MAX_KEY_LENGTH:
        inbox = await session.scalar(
            select(Inbox).where(
                Inbox.public_key == public_key, Inbox.channel == channel, Inbox.is_active
            )
        )
    if adapter is None or inbox is None:
        raise NotFound(f"no {channel} webhook here")
    return adapter, inbox, inbox_context(inbox, state.secret_box)


async def _plain(request: Request[Any, Any, Any]) -> WebhookRequest:
    return WebhookRequest(
        method=request.method,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query_params.items()),
        body=await request.body(),
    )


def _reply(reply: WebhookReply) -> Response[bytes]:
    return Response(reply.body, status_code=reply.status, media_type=reply.content_type)


@get(
    "/webhooks/{channel:str}/{public_key:str}",
    tags=["webhooks"],
    summary="A provider checking its webhook subscription (e.g. Meta's hub.challenge)",
    security=[],
    responses={200: ADAPTER_REPLY, **problem_responses(403, 404)},
)
async def webhook_handshake(
    channel: str,
    public_key: str,
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    state: State,
) -> Response[bytes]:
    adapter, _, inbox = await _route(state, db_session, channel, public_key)
    try:
        return _reply(adapter.handshake(await _plain(request), inbox))
    except WebhookRejected as exc:
        raise PermissionDenied(str(exc), code="webhook_rejected") from None


@post(
    "/webhooks/{channel:str}/{public_key:str}",
    tags=["webhooks"],
    summary="A provider delivering messages: verified, stored raw, then answered",
    security=[],
    status_code=200,
    responses={200: ADAPTER_REPLY, **problem_responses(401, 404)},
)
async def webhook_delivery(
    channel: str,
    public_key: str,
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    state: State,
) -> Response[bytes]:
    adapter, inbox_row, inbox = await _route(state, db_session, channel, public_key)
    plain = await _plain(request)
    try:
        adapter.verify(plain, inbox)
    except WebhookRejected as exc:
        raise NotAuthenticated(str(exc), code="webhook_signature_invalid") from None
    key = adapter.delivery_key(plain) or "sha256:" + hashlib.sha256(plain.body).hexdigest()
    await store_deliveries(
        db_session,
        inbox_id=inbox_row.id,
        channel_name=channel,
        deliveries=[
            Delivery(
                delivery_key=key[:300],
                raw=plain.body,
                content_type=adapter.content_type,
                meta={"query": dict(plain.query)},
            )
        ],
        now=state.clock(),
    )
    return _reply(WebhookReply())
