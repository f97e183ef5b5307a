from __future__ import annotations

from datetime import datetime, timedelta

from litestar import Controller, Response, delete, get, post
from litestar.datastructures import Cookie
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.schemas import AgentOut
from app.agents.service import agent_out, get_agent
from app.auth.actor import Actor
from app.auth.deps import CSRF_COOKIE, SESSION_COOKIE, csrf_token_for
from app.auth.models import ApiToken
from app.auth.schemas import LoginIn, LoginOut, SessionOut, TokenCreate, TokenCreated, TokenOut
from app.auth.service import (
    do_create_personal_token,
    do_login,
    do_revoke_agent_token,
    do_revoke_agent_tokens,
    do_revoke_token,
    list_agent_tokens,
    list_personal_tokens,
)
from app.auth.throttle import LoginThrottle
from app.config import Settings
from app.http.openapi import problem_responses


def _token_out(token: ApiToken) -> TokenOut:
    return TokenOut(
        id=token.id,
        kind=token.kind,
        name=token.name,
        scopes=token.scopes,
        created_at=token.created_at,
        last_used_at=token.last_used_at,
        expires_at=token.expires_at,
    )


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    # Signing in creates nothing a client could GET: 200, not 201.
    @post(
        "/login",
        status_code=200,
        summary="Exchange email and password for a bearer token",
        responses=problem_responses(401, 429),
    )
    async def login(
        self,
        data: LoginIn,
        db_session: AsyncSession,
        login_throttle: LoginThrottle,
        client_address: str,
        settings: Settings,
        now: datetime,
    ) -> LoginOut:
        agent, token, raw = await do_login(
            db_session,
            throttle=login_throttle,
            email=data.email,
            password=data.password,
            address=client_address,
            kind="login",
            ttl=timedelta(hours=settings.security.token_ttl_hours),
            now=now,
        )
        agent = await get_agent(db_session, agent.id)
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

    @post(
        "/session",
        status_code=200,
        summary="Sign in the web console: sets an HttpOnly session cookie",
        responses=problem_responses(401, 429),
    )
    async def create_session(
        self,
        data: LoginIn,
        db_session: AsyncSession,
        login_throttle: LoginThrottle,
        client_address: str,
        settings: Settings,
        now: datetime,
    ) -> Response[SessionOut]:
        agent, token, raw = await do_login(
            db_session,
            throttle=login_throttle,
            email=data.email,
            password=data.password,
            address=client_address,
            kind="cookie",
            ttl=timedelta(hours=settings.security.token_ttl_hours),
            now=now,
        )
        agent = await get_agent(db_session, agent.id)
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
        return Response(body, status_code=200, cookies=cookies)

    @get("/me", summary="The signed-in agent")
    async def me(self, actor: Actor, db_session: AsyncSession) -> AgentOut:
        return agent_out(await get_agent(db_session, actor.agent_id))

    @get("/tokens", summary="Your personal API tokens (never the token values)")
    async def list_tokens(self, actor: Actor, db_session: AsyncSession) -> list[TokenOut]:
        return [_token_out(t) for t in await list_personal_tokens(db_session, actor)]

    @post("/tokens", summary="Create a personal API token for an integration; shown once")
    async def create_token(
        self,
        data: TokenCreate,
        actor: Actor,
        db_session: AsyncSession,
        settings: Settings,
        now: datetime,
    ) -> TokenCreated:
        token, raw = await do_create_personal_token(
            db_session,
            actor,
            name=data.name,
            scopes=data.scopes,
            expires_in_days=data.expires_in_days,
            default_days=settings.security.token_default_days,
            max_days=settings.security.token_max_days,
            now=now,
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


class AgentTokenController(Controller):
    """Admins see and revoke any agent's sessions and tokens (a lost laptop, a leaver)."""

    path = "/api/v1/agents/{agent_id:int}/tokens"
    tags = ["agents"]

    @get("/", summary="An agent's live sessions and API tokens, never their values (admins)")
    async def index(
        self, agent_id: int, actor: Actor, db_session: AsyncSession, now: datetime
    ) -> list[TokenOut]:
        tokens = await list_agent_tokens(db_session, actor, agent_id=agent_id, now=now)
        return [_token_out(t) for t in tokens]

    @delete("/", summary="Revoke all of an agent's sessions and API tokens (admins)")
    async def revoke_all(
        self, agent_id: int, actor: Actor, db_session: AsyncSession, now: datetime
    ) -> None:
        await do_revoke_agent_tokens(db_session, actor, agent_id=agent_id, now=now)

    @delete("/{token_id:int}", summary="Revoke one of an agent's sessions or tokens (admins)")
    async def revoke_one(
        self, agent_id: int, token_id: int, actor: Actor, db_session: AsyncSession, now: datetime
    ) -> None:
        await do_revoke_agent_token(
            db_session, actor, agent_id=agent_id, token_id=token_id, now=now
        )
