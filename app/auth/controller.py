from __future__ import annotations

from datetime import datetime, timedelta

from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import Cookie
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.service import agent_out, get_agent
from app.auth.actor import Actor, require_admin
from app.auth.deps import CSRF_COOKIE, SESSION_COOKIE, csrf_token_for
from app.auth.models import ApiToken
from app.auth.schemas import (
    CodeIn,
    EnrolmentOut,
    LoginIn,
    LoginOut,
    MeOut,
    RecoveryCodesOut,
    SecurityPolicyIn,
    SecurityPolicyOut,
    SessionOut,
    TokenCreate,
    TokenCreated,
    TokenOut,
    TwoFactorStatus,
)
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
from app.auth.two_factor import (
    do_confirm_enrolment,
    do_disable,
    do_new_recovery_codes,
    do_reset_for_agent,
    do_start_enrolment,
    do_update_security_policy,
    enrolled,
    recovery_codes_left,
    required_for,
    security_policy,
    two_factor_box,
)
from app.config import Settings
from app.http.openapi import problem_responses
from app.security.crypto import SecretBox


def provide_two_factor_box(settings: Settings) -> SecretBox:
    return two_factor_box(settings.security.secret_key)


async def me_out(session: AsyncSession, agent_id: int, *, pending: bool) -> MeOut:
    agent = agent_out(await get_agent(session, agent_id))
    return MeOut(
        **{f: getattr(agent, f) for f in agent.__struct_fields__},
        two_factor_enabled=await enrolled(session, agent_id) is not None,
        two_factor_setup_required=pending,
    )


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
    dependencies = {"box": Provide(provide_two_factor_box, sync_to_thread=False)}

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
        box: SecretBox,
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
            code=data.code,
            box=box,
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
        box: SecretBox,
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
            code=data.code,
            box=box,
        )
        pending = required_for(agent.role, await security_policy(db_session)) and (
            await enrolled(db_session, agent.id) is None
        )
        me = await me_out(db_session, agent.id, pending=pending)
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
        body = SessionOut(csrf_token=csrf, expires_at=token.expires_at, agent=me)
        return Response(body, status_code=200, cookies=cookies)

    @get("/me", summary="The signed-in agent")
    async def me(self, actor: Actor, db_session: AsyncSession) -> MeOut:
        return await me_out(db_session, actor.agent_id, pending=actor.two_factor_pending)

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


class TwoFactorController(Controller):
    """Your own second factor: an authenticator app (TOTP) and recovery codes."""

    path = "/api/v1/auth/two-factor"
    tags = ["auth"]
    dependencies = {"box": Provide(provide_two_factor_box, sync_to_thread=False)}

    @get("/", summary="Whether two-factor sign-in is on for you, and required")
    async def status(self, actor: Actor, db_session: AsyncSession) -> TwoFactorStatus:
        return TwoFactorStatus(
            enabled=await enrolled(db_session, actor.agent_id) is not None,
            required=required_for(actor.role, await security_policy(db_session)),
            recovery_codes_left=await recovery_codes_left(db_session, actor.agent_id),
        )

    @post("/enrolment", summary="Start enrolling an authenticator app: its secret and QR code")
    async def start(self, actor: Actor, db_session: AsyncSession, box: SecretBox) -> EnrolmentOut:
        secret, uri, qr = await do_start_enrolment(db_session, actor, box=box)
        return EnrolmentOut(secret=secret, otpauth_uri=uri, qr_code=qr)

    @post(
        "/confirm",
        status_code=200,
        summary="Turn two-factor sign-in on with the app's first code; answers recovery codes",
    )
    async def confirm(
        self, data: CodeIn, actor: Actor, db_session: AsyncSession, box: SecretBox, now: datetime
    ) -> RecoveryCodesOut:
        codes = await do_confirm_enrolment(db_session, actor, code=data.code, box=box, now=now)
        return RecoveryCodesOut(recovery_codes=codes)

    @post(
        "/recovery-codes",
        status_code=200,
        summary="New recovery codes (the old ones stop working); takes a current code",
    )
    async def recovery_codes(
        self, data: CodeIn, actor: Actor, db_session: AsyncSession, box: SecretBox, now: datetime
    ) -> RecoveryCodesOut:
        codes = await do_new_recovery_codes(db_session, actor, code=data.code, box=box, now=now)
        return RecoveryCodesOut(recovery_codes=codes)

    @post(
        "/disable",
        status_code=204,
        summary="Turn two-factor sign-in off with a current code (not when your role needs it)",
    )
    async def disable(
        self, data: CodeIn, actor: Actor, db_session: AsyncSession, box: SecretBox, now: datetime
    ) -> None:
        await do_disable(db_session, actor, code=data.code, box=box, now=now)


@delete(
    "/api/v1/agents/{agent_id:int}/two-factor",
    tags=["agents"],
    summary="Turn off an agent's second factor, e.g. after a lost phone (admins)",
)
async def reset_two_factor(agent_id: int, actor: Actor, db_session: AsyncSession) -> None:
    await do_reset_for_agent(db_session, actor, agent_id=agent_id)


class SecurityPolicyController(Controller):
    path = "/api/v1/settings/security"
    tags = ["settings"]

    @get("/", summary="The workspace's sign-in rules (admins)")
    async def show(self, actor: Actor, db_session: AsyncSession) -> SecurityPolicyOut:
        require_admin(actor)
        policy = await security_policy(db_session)
        return SecurityPolicyOut(require_two_factor_for_staff=policy.require_two_factor_for_staff)

    @patch("/", summary="Change the sign-in rules: require two-factor for admins and supervisors")
    async def update(
        self, data: SecurityPolicyIn, actor: Actor, db_session: AsyncSession
    ) -> SecurityPolicyOut:
        policy = await do_update_security_policy(
            db_session, actor, require_two_factor_for_staff=data.require_two_factor_for_staff
        )
        return SecurityPolicyOut(require_two_factor_for_staff=policy.require_two_factor_for_staff)
