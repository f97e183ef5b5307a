"""The widget's public REST endpoints, called from customers' sites (other origins).

Nothing here needs an agent: the inbox's public key names the inbox, and the visitor token
names the visitor. Cross-origin reads are allowed to the origins the inbox lists (CORS),
and a session is refused (403) to any other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from litestar import Request, Response, get, post, route
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import File
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.storage import AttachmentStore, safe_content_type
from app.chat.models import ChatVisitor
from app.chat.port import ChatChannel, ChatSettings
from app.chat.schemas import (
    WidgetConfigOut,
    WidgetConversationOut,
    WidgetSessionCreate,
    WidgetSessionOut,
    WidgetUploadOut,
)
from app.chat.service import (
    chat_inbox,
    chat_is_open,
    chat_settings_of,
    check_origin,
    do_start_session,
    visitor_for_token,
    widget_config,
)
from app.chat.uploads import do_upload, visitor_attachment
from app.config import Settings
from app.errors import NotAuthenticated, NotFound, ValidationFailed, problem_handlers
from app.http.openapi import problem_responses
from app.inboxes.models import Inbox
from app.security.crypto import SecretBox

TAGS = ["widget"]
# Visitors authenticate with their session token, the inbox's origins and its key.
VISITOR_PROBLEMS = problem_responses(401, 403, 404)
PREFLIGHT_MAX_AGE = "600"


def _readable_by_the_page(
    handler: Callable[[Request[Any, Any, Any], Exception], Response[Any]],
) -> Callable[[Request[Any, Any, Any], Exception], Response[Any]]:
    """A problem answer the calling page may read, so the widget can say what is wrong (a
    pre-chat field, an unknown inbox) instead of the browser reporting a CORS failure. A
    problem reveals nothing a site could not learn by asking without a browser."""

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        response = handler(request, exc)
        origin = request.headers.get("origin")
        if origin:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    return handle


WIDGET_PROBLEM_HANDLERS: dict[type[Exception] | int, Any] = {
    kind: _readable_by_the_page(handler) for kind, handler in problem_handlers.items()
}


def _cors(settings: ChatSettings | None, origin: str | None) -> dict[str, str]:
    headers = {"Vary": "Origin"}
    if origin and (settings is None or settings.allows_origin(origin)):
        headers["Access-Control-Allow-Origin"] = origin
    return headers


@get(
    "/api/v1/widget/config",
    tags=TAGS,
    summary="The widget's look and behaviour (public)",
    responses=VISITOR_PROBLEMS,
    exception_handlers=WIDGET_PROBLEM_HANDLERS,
)
async def config(
    inbox: str,
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    state: State,
    now: datetime,
) -> Response[WidgetConfigOut]:
    chat: ChatChannel = state.chat
    box: SecretBox = state.secret_box
    found = await chat_inbox(db_session, inbox, chat=chat, box=box)
    online = await chat_is_open(db_session, found, engine=state.sla_engine, now=now)
    body = widget_config(found, online=online)
    headers = {**_cors(found.settings, request.headers.get("origin")), "Cache-Control": "no-cache"}
    return Response(body, headers=headers)


@post(
    "/api/v1/widget/sessions",
    tags=TAGS,
    status_code=200,
    summary="Start or continue a visitor",
    responses=VISITOR_PROBLEMS,
    exception_handlers=WIDGET_PROBLEM_HANDLERS,
)
async def start_session(
    data: WidgetSessionCreate,
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    state: State,
    settings: Settings,
) -> Response[WidgetSessionOut]:
    chat: ChatChannel = state.chat
    box: SecretBox = state.secret_box
    found = await chat_inbox(db_session, data.inbox, chat=chat, box=box)
    origin = request.headers.get("origin")
    visitor, token, conversation = await do_start_session(
        db_session,
        found,
        chat=chat,
        secret_key=settings.security.secret_key,
        origin=origin,
        token=data.token,
        identity=data.identity,
        pre_chat=data.pre_chat,
        now=state.clock(),
    )
    body = WidgetSessionOut(
        token=token,
        conversation=(
            WidgetConversationOut(ticket_id=conversation.id, last_seq=conversation.last_seq)
            if conversation
            else None
        ),
        verified=visitor.user_id is not None,
    )
    return Response(body, headers=_cors(found.settings, origin))


async def _answer_here(_: Request[Any, Any, Any]) -> None:
    """In place of the app-wide OPTIONS answer (app.http.requests), which knows no CORS."""
    return None


@route(
    ["/api/v1/widget/sessions", "/api/v1/widget/config", "/api/v1/widget/attachments"],
    http_method=["OPTIONS"],
    include_in_schema=False,
    before_request=_answer_here,
)
async def preflight(request: Request[Any, Any, Any]) -> Response[None]:
    """Lets any site ask; the request itself is checked against the inbox's origins (the
    preflight does not say which inbox it is for)."""
    headers = {
        **_cors(None, request.headers.get("origin")),
        "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
    }
    return Response(None, status_code=204, headers=headers)


async def _visitor_and_settings(
    db_session: AsyncSession, state: State, settings: Settings, token: Any, origin: str | None
) -> tuple[ChatVisitor, ChatSettings]:
    visitor = await visitor_for_token(
        db_session, settings.security.secret_key, token if isinstance(token, str) else None
    )
    inbox = await db_session.get(Inbox, visitor.inbox_id) if visitor else None
    if visitor is None or inbox is None or not inbox.is_active:
        raise NotAuthenticated("the visitor token is not valid", code="invalid_visitor_token")
    chat_settings = chat_settings_of(inbox, chat=state.chat, box=state.secret_box)
    check_origin(chat_settings, origin)
    return visitor, chat_settings


@post(
    "/api/v1/widget/attachments",
    tags=TAGS,
    summary="Upload a file for the visitor's next message (`?token=`, multipart `file`)",
    responses=VISITOR_PROBLEMS,
    exception_handlers=WIDGET_PROBLEM_HANDLERS,
)
async def upload(
    token: str,
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    state: State,
    settings: Settings,
) -> Response[WidgetUploadOut]:
    origin = request.headers.get("origin")
    visitor, chat_settings = await _visitor_and_settings(db_session, state, settings, token, origin)
    file = data.get("file")
    if not isinstance(file, UploadFile):
        raise ValidationFailed.field("file", "send the file as multipart field `file`")
    store: AttachmentStore = state.attachment_store
    content = await file.read(min(chat_settings.max_attachment_bytes, store.max_bytes) + 1)
    stored = await do_upload(
        db_session,
        visitor,
        settings=chat_settings,
        store=store,
        filename=file.filename or "attachment",
        content_type=file.content_type,
        data=content,
    )
    body = WidgetUploadOut(
        id=stored.id, filename=stored.filename, content_type=stored.content_type, size=stored.size
    )
    return Response(body, status_code=201, headers=_cors(chat_settings, origin))


@get(
    "/api/v1/widget/attachments/{attachment_id:int}",
    tags=TAGS,
    summary="A file of the visitor's conversation (`?token=` the visitor token)",
    responses=VISITOR_PROBLEMS,
    exception_handlers=WIDGET_PROBLEM_HANDLERS,
)
async def download(
    attachment_id: int, token: str, db_session: AsyncSession, state: State, settings: Settings
) -> File:
    visitor, _ = await _visitor_and_settings(db_session, state, settings, token, None)
    attachment = await visitor_attachment(db_session, visitor, attachment_id)
    store: AttachmentStore = state.attachment_store
    path = store.path_for(attachment.sha256)
    if not path.exists():
        raise NotFound(f"the content of attachment {attachment_id} is missing from storage")
    media_type = safe_content_type(attachment.content_type)
    return File(
        path=path,
        filename=attachment.filename,
        media_type=media_type,
        content_disposition_type="inline" if media_type.startswith("image/") else "attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, max-age=0",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


WIDGET_API_ROUTES = [preflight, config, start_session, upload, download]
