"""The websocket endpoints: authenticate on connect, then hand the socket to its session.

A connection that fails a check is accepted and told why (an `error` frame), then closed
with a code the client acts on (4001: get a new token; 4003: not allowed here), since a
browser cannot read the status of a refused handshake.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import WebSocket, websocket
from sqlalchemy import select

from app.agents.models import Agent
from app.auth.deps import SESSION_COOKIE
from app.auth.service import resolve_actor
from app.chat.service import chat_settings_of, visitor_for_token
from app.errors import NotAuthenticated
from app.inboxes.models import Inbox
from app.realtime.agent import AgentSession
from app.realtime.frames import VERSION, error_frame
from app.realtime.runtime import (
    CLOSE_FORBIDDEN,
    CLOSE_TOO_MANY,
    CLOSE_UNAUTHENTICATED,
    Realtime,
    serve,
)
from app.realtime.sockets import AgentSocket, VisitorSocket
from app.realtime.visitor import VisitorSession


def _address(socket: WebSocket[Any, Any, Any]) -> str:
    return socket.client.host if socket.client else "unknown"


async def _refuse(socket: WebSocket[Any, Any, Any], code: str, detail: str, close: int) -> None:
    await socket.accept()
    await socket.send_text(error_frame(code, detail))
    await socket.close(code=close)


def _version_ok(socket: WebSocket[Any, Any, Any]) -> bool:
    return socket.query_params.get("v", str(VERSION)) == str(VERSION)


@websocket("/ws/widget")
async def widget_socket(socket: WebSocket[Any, Any, Any]) -> None:
    realtime: Realtime = socket.app.state.realtime
    address = _address(socket)
    if not _version_ok(socket):
        await _refuse(socket, "bad_frame", f"v: this server speaks version {VERSION}", 4000)
        return
    limit = realtime.settings.realtime.max_sockets_per_address
    if not realtime.address_sockets.acquire(address, limit=limit):
        await _refuse(socket, "rate_limited", "too many sockets from this address", CLOSE_TOO_MANY)
        return
    try:
        async with realtime.sessionmaker() as session:
            visitor = await visitor_for_token(
                session, realtime.settings.security.secret_key, socket.query_params.get("token")
            )
            inbox = await session.get(Inbox, visitor.inbox_id) if visitor else None
        if visitor is None or inbox is None or not inbox.is_active or inbox.channel != "chat":
            await _refuse(
                socket, "not_authenticated", "the visitor token is not valid", CLOSE_UNAUTHENTICATED
            )
            return
        settings = chat_settings_of(inbox, chat=realtime.chat, box=realtime.box)
        if not settings.allows_origin(socket.headers.get("origin")):
            await _refuse(socket, "forbidden", "this site may not use the widget", CLOSE_FORBIDDEN)
            return
        await socket.accept()
        sock = VisitorSocket(
            realtime.new_id(),
            address=address,
            visitor_id=visitor.id,
            visitor_key=visitor.key,
            inbox_id=inbox.id,
        )
        session_ = VisitorSession(realtime, sock, settings=settings)
        try:
            await session_.start(visitor)
            await serve(realtime, socket, sock, session_.handle)
        finally:
            realtime.hub.remove(sock)
    finally:
        realtime.address_sockets.release(address)


def _same_origin(socket: WebSocket[Any, Any, Any]) -> bool:
    """Cookies ride along on any site's websocket: the console's only counts from its own
    origin (cross-site websocket hijacking)."""
    origin = socket.headers.get("origin")
    host = socket.headers.get("host")
    return bool(origin and host and urlsplit(origin).netloc.lower() == host.lower())


@websocket("/ws/agent")
async def agent_socket(socket: WebSocket[Any, Any, Any]) -> None:
    realtime: Realtime = socket.app.state.realtime
    address = _address(socket)
    if not _version_ok(socket):
        await _refuse(socket, "bad_frame", f"v: this server speaks version {VERSION}", 4000)
        return
    token = socket.query_params.get("token")
    cookie = socket.cookies.get(SESSION_COOKIE)
    if not token and cookie and not _same_origin(socket):
        await _refuse(socket, "forbidden", "sign in from the console's own origin", CLOSE_FORBIDDEN)
        return
    try:
        async with realtime.sessionmaker() as session, session.begin():
            if token:
                actor = await resolve_actor(session, token, via="bearer", now=realtime.clock())
            elif cookie:
                actor = await resolve_actor(session, cookie, via="cookie", now=realtime.clock())
            else:
                raise NotAuthenticated("send ?token=<bearer token>")
            name = await session.scalar(select(Agent.name).where(Agent.id == actor.agent_id))
    except NotAuthenticated as exc:
        await _refuse(socket, "not_authenticated", exc.detail, CLOSE_UNAUTHENTICATED)
        return
    await socket.accept()
    sock = AgentSocket(realtime.new_id(), address=address, actor=actor, name=name or "")
    session_ = AgentSession(realtime, sock)
    await session_.start()
    try:
        await serve(realtime, socket, sock, session_.handle)
    finally:
        await session_.stop()


REALTIME_ROUTES = [widget_socket, agent_socket]
