"""Resolves the caller from a bearer token or the console's session cookie."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from litestar import Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.auth.service import resolve_actor
from app.auth.throttle import LoginThrottle
from app.config import Settings
from app.errors import NotAuthenticated, PermissionDenied
from app.security.crypto import sign

SESSION_COOKIE = "relaydesk_session"
CSRF_COOKIE = "relaydesk_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# What a session that must enrol a second factor first may do.
WHILE_ENROLLING = frozenset(
    {
        "/api/v1/auth/me",
        "/api/v1/auth/logout",
        "/api/v1/auth/two-factor",
        "/api/v1/auth/two-factor/enrolment",
        "/api/v1/auth/two-factor/confirm",
    }
)


def csrf_token_for(settings: Settings, session_token: str) -> str:
    return sign(settings.security.secret_key, session_token, purpose="csrf")


def provide_login_throttle(redis: Redis, settings: Settings) -> LoginThrottle:
    security = settings.security
    return LoginThrottle(
        redis,
        prefix=settings.redis.channel_prefix,
        max_failures=security.login_max_failures,
        max_accounts_per_address=security.login_max_accounts_per_address,
        window_seconds=security.login_failure_window_seconds,
    )


def provide_client_address(request: Request[Any, Any, Any]) -> str:
    """The caller's address. Behind a proxy in RELAYDESK_TRUSTED_PROXIES, the proxy
    middleware (`create_app`) has already put the forwarded client address here."""
    return request.client.host if request.client else "unknown"


async def provide_actor(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, now: datetime
) -> Actor:
    try:
        return await _resolve_caller(request, db_session, settings, now)
    except BaseException:
        # Litestar never resumes the request's session dependency when a later dependency
        # raises, so the connection this lookup took would stay checked out until the
        # garbage collector terminates it mid-use; a refused caller returns it here.
        await db_session.close()
        raise


async def _resolve_caller(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, now: datetime
) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        actor = await resolve_actor(db_session, credential.strip(), via="bearer", now=now)
    elif cookie := request.cookies.get(SESSION_COOKIE):
        actor = await resolve_actor(db_session, cookie, via="cookie", now=now)
        if request.method not in SAFE_METHODS:
            # Header values are latin-1 text: compare bytes, since compare_digest refuses
            # non-ASCII strings.
            sent = request.headers.get(CSRF_HEADER, "").encode("latin-1")
            if not hmac.compare_digest(sent, csrf_token_for(settings, cookie).encode()):
                raise PermissionDenied("missing or wrong X-CSRF-Token header", code="csrf_failed")
    else:
        raise NotAuthenticated("sign in or send an Authorization: Bearer token")
    if request.method not in SAFE_METHODS and "write" not in actor.scopes:
        raise PermissionDenied("this token is read-only", code="insufficient_scope")
    if actor.two_factor_pending and request.url.path not in WHILE_ENROLLING:
        raise PermissionDenied(
            "your role requires two-factor sign-in: enrol an authenticator app first",
            code="two_factor_setup_required",
        )
    return actor
