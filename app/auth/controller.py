from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.schemas import AgentOut
from app.agents.service import agent_out, get_agent
from app.auth.actor import Actor
from app.auth.deps import CSRF_COOKIE, SESSION_COOKIE, csrf_token_for
from app.auth.models import ApiToken
from app.auth.schemas import LoginIn, LoginOut, SessionOut, TokenCreate, TokenCreated, TokenOut
from app.auth.service import do_create_token, do_login, do_revoke_token, list_personal_tokens
from app.auth.throttle import LoginThrottle
from app.config import Settings


def _throttle(redis: Redis, settings: Settings) -> LoginThrottle:
    return LoginThrottle(
        redis,
        max_failures=settings.security.login_max_failures,
        window_seconds=settings.security.login_failure_window_seconds,
    )


def _client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def _token_out(token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.id,
        name=token.name,
        scopes=token.scopes,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        expires_at=token.expires_at,
    )


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", summary="Exchange email and password for a bearer token")
    async def login(
        self,
        request: Request[Any, Any, Any],
        data: LoginIn,
        db_session: AsyncSession,
        redis: Redis,
        settings: Settings,
        now: datetime,
    ) -> LoginOut:
        agent, token, raw = await do_login(
            db_session,
            throttle=_throttle(redis, settings),
            email=data.email,
            password=data.password,
            address=_client_address(request),
            kind="login",
            ttl=timedelta(hours=settings.security.token_ttl_hours),
            now=now,
        )
        agent = await get_agent(db_session, agent.id)
        assert token.expires_at is not None
        return LoginOut(token=raw, expires_at=token.expires_at, agent=agent_out(agent))

    @post("/logout", status_code=204, summary="Revoke the token or session used for this call")
    async def logout(self, actor: Actor, db_session: AsyncSession, now: datetime) -> Response[None]:
        token = await db_session.get(ApiToken, actor.token_id)
        if token is not None:
            token.revoked_at = now
        response: Response[None] = Response(None, status_code=204)
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
        return response

    @post("/session", summary="Sign in the web console: sets an HttpOnly session cookie")
    async def create_session(
        self,
        request: Request[Any, Any, Any],
        data: LoginIn,
        db_session: AsyncSession,
        redis: Redis,
        settings: Settings,
        now: datetime,
    ) -> Response[SessionOut]:
        agent, token, raw = await do_login(
            db_session,
            throttle=_throttle(redis, settings),
            email=data.email,
            password=data.password,
            address=_client_address(request),
            kind="cookie",
            ttl=timedelta(hours=settings.security.token_ttl_hours),
            now=now,
        )
        agent = await get_agent(db_session, agent.id)
        assert token.expires_at is not None
        csrf = csrf_token_for(settings, raw)
        max_age = settings.security.token_ttl_hours * 3600
        secure = settings.security.cookie_secure
        cookies = [
            Cookie(
                key=SESSION_COOKIE,
                value=raw,
                httponly=True,
                samesite="strict",
                secure=secure,
                max_age=max_age,
                path="/",
            ),
            # Readable by the console's script, which echoes it in X-CSRF-Token.
            Cookie(
                key=CSRF_COOKIE,
                value=csrf,
                httponly=False,
                samesite="strict",
                secure=secure,
                max_age=max_age,
                path="/",
            ),
        ]
        body = SessionOut(csrf_token=csrf, expires_at=token.expires_at, agent=agent_out(agent))
        return Response(body, status_code=201, cookies=cookies)

    @get("/me", summary="The signed-in agent")
    async def me(self, actor: Actor, db_session: AsyncSession) -> AgentOut:
        return agent_out(await get_agent(db_session, actor.agent_id))

    @get("/tokens", summary="Your personal API tokens (never the token values)")
    async def list_tokens(self, actor: Actor, db_session: AsyncSession) -> list[TokenOut]:
        return [_token_out(t) for t in await list_personal_tokens(db_session, actor)]

    @post("/tokens", summary="Create a personal API token for an integration; shown once")
    async def create_token(
        self, data: TokenCreate, actor: Actor, db_session: AsyncSession, now: datetime
    ) -> TokenCreated:
        expires = now + timedelta(days=data.expires_in_days) if data.expires_in_days else None
        token, raw = await do_create_token(
            db_session,
            agent_id=actor.agent_id,
            kind="personal",
            name=data.name,
            scopes=data.scopes,
            expires_at=expires,
        )
        await db_session.refresh(token)
        return TokenCreated(
            **{f: getattr(_token_out(token), f) for f in TokenOut.__struct_fields__}, token=raw
        )

    @delete("/tokens/{token_id:int}", summary="Revoke a personal API token")
    async def revoke_token(
        self, token_id: int, actor: Actor, db_session: AsyncSession, now: datetime
    ) -> None:
        await do_revoke_token(db_session, actor, token_id=token_id, now=now)
