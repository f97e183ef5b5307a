"""Resolves the caller from a bearer token or the console's session cookie."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.service import resolve_actor
from app.config import Settings
from app.errors import NotAuthenticated, PermissionDenied
from app.security.crypto import sign

SESSION_COOKIE = "relaydesk_session"
CSRF_COOKIE = "relaydesk_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token_for(settings: Settings, session_token: str) -> str:
    return sign(settings.security.secret_key, session_token, purpose="csrf")


async def provide_actor(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, now: datetime
) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        actor = await resolve_actor(db_session, credential.strip(), via="bearer", now=now)
    elif cookie := request.cookies.get(SESSION_COOKIE):
        actor = await resolve_actor(db_session, cookie, via="cookie", now=now)
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent, csrf_token_for(settings, cookie)):
                raise PermissionDenied("missing or wrong X-CSRF-Token header", code="csrf_failed")
    else:
        raise NotAuthenticated("sign in or send an Authorization: Bearer token")
    if request.method not in SAFE_METHODS and "write" not in actor.scopes:
        raise PermissionDenied("this token is read-only", code="insufficient_scope")
    return actor
