"""Sign-in, tokens and resolving a credential to an `Actor`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent, team_members
from app.agents.service import check_id, find_agent_by_email, get_agent, normalize_email
from app.audit.service import record
from app.auth.actor import Actor, require_admin
from app.auth.models import ApiToken
from app.auth.throttle import LoginThrottle
from app.auth.tokens import new_token, revoke_tokens, token_hash
from app.auth.two_factor import check_sign_in_code, pending_expression
from app.errors import NotAuthenticated, NotFound, ValidationFailed
from app.security.crypto import SecretBox
from app.security.passwords import verify_password

# last_used_at is written at most this often, so reads do not turn into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


async def do_login(
    session: AsyncSession,
    *,
    throttle: LoginThrottle,
    email: str,
    password: str,
    address: str,
    kind: str,
    ttl: timedelta,
    now: datetime,
    code: str | None = None,
    box: SecretBox | None = None,
) -> tuple[Agent, ApiToken, str]:
    """Email and password, then the second factor of an agent who enrolled one (`code`:
    a TOTP or recovery code). A wrong code counts against the throttle like a wrong
    password; asking for the code does not."""
    email = normalize_email(email)
    await throttle.reserve(email=email, address=address)
    agent = await find_agent_by_email(session, email)
    if agent is not None and not agent.is_active:
        agent = None
    # An unknown (or inactive) email is verified against a dummy hash: timing tells nothing.
    valid = await verify_password(agent.password_hash if agent else None, password)
    if agent is None or not valid:
        raise NotAuthenticated("email or password is wrong", code="invalid_credentials")
    if box is not None:
        try:
            await check_sign_in_code(session, agent, code, box=box, now=now)
        except NotAuthenticated as exc:
            if exc.code == "two_factor_required":
                await throttle.release(email=email, address=address)
            raise
    await throttle.release(email=email, address=address)
    token, raw = await do_create_token(
        session,
        agent_id=agent.id,
        kind=kind,
        name=None,
        scopes=("read", "write"),
        expires_at=now + ttl,
    )
    return agent, token, raw


async def do_create_token(
    session: AsyncSession,
    *,
    agent_id: int,
    kind: str,
    name: str | None,
    scopes: Sequence[str],
    expires_at: datetime,
) -> tuple[ApiToken, str]:
    raw = new_token()
    token = ApiToken(
        agent_id=agent_id,
        kind=kind,
        name=name,
        token_hash=token_hash(raw),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    return token, raw


async def do_create_personal_token(
    session: AsyncSession,
    actor: Actor,
    *,
    name: str,
    scopes: Sequence[str],
    expires_in_days: int | None,
    default_days: int,
    max_days: int,
    now: datetime,
) -> tuple[ApiToken, str]:
    """A token for an integration. It always expires: after `expires_in_days`, by default
    `default_days`, and never later than the admin's RELAYDESK_TOKEN_MAX_DAYS."""
    days = min(default_days, max_days) if expires_in_days is None else expires_in_days
    if days > max_days:
        raise ValidationFailed.field(
            "expires_in_days", f"must be at most {max_days} (RELAYDESK_TOKEN_MAX_DAYS)"
        )
    return await do_create_token(
        session,
        agent_id=actor.agent_id,
        kind="personal",
        name=name,
        scopes=scopes,
        expires_at=now + timedelta(days=days),
    )


def _caller_query() -> Select[ApiToken, str, bool, list[int] | None, bool]:
    team_ids = (
        select(func.array_agg(team_members.c.team_id))
        .where(team_members.c.agent_id == ApiToken.agent_id)
        .scalar_subquery()
    )
    return (
        select(
            ApiToken,
            Agent.role,
            Agent.is_active,
            team_ids,
            pending_expression(ApiToken.agent_id, Agent.role),
        )
        .join(Agent, Agent.id == ApiToken.agent_id)
        .where(ApiToken.token_hash == bindparam("token_hash"))
    )


# Built once: every request runs it, and a statement built per call would pay for its
# construction and cache key each time.
CALLER_QUERY = _caller_query()


async def resolve_actor(session: AsyncSession, raw: str, *, via: str, now: datetime) -> Actor:
    """The caller behind a token, in one query: the token, the agent's role, their teams
    and whether they must enrol a second factor first."""
    row = (await session.execute(CALLER_QUERY, {"token_hash": token_hash(raw)})).one_or_none()
    if row is None:
        raise NotAuthenticated("the token is not valid", code="invalid_token")
    token, role, is_active, teams, must_enrol = row
    if token.revoked_at is not None or not is_active:
        raise NotAuthenticated("the token was revoked", code="invalid_token")
    if token.expires_at <= now:
        raise NotAuthenticated("the token has expired", code="token_expired")
    if (via == "cookie") != (token.kind == "cookie"):
        raise NotAuthenticated("the token is not valid here", code="invalid_token")
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        await session.execute(
            update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
        )
    return Actor(
        agent_id=token.agent_id,
        role=role,
        team_ids=frozenset(teams or ()),
        scopes=frozenset(token.scopes),
        token_id=token.id,
        via=via,
        # A sign-in (not an integration's personal token) of someone who must enrol first.
        two_factor_pending=token.kind != "personal" and bool(must_enrol),
    )


async def list_personal_tokens(session: AsyncSession, actor: Actor) -> list[ApiToken]:
    stmt = (
        select(ApiToken)
        .where(ApiToken.agent_id == actor.agent_id, ApiToken.kind == "personal")
        .where(ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.id)
    )
    return list((await session.scalars(stmt)).all())


async def do_revoke_token(
    session: AsyncSession, actor: Actor, *, token_id: int, now: datetime
) -> None:
    token = await session.get(ApiToken, check_id("token", token_id))
    # Another agent's token answers 404, not 403, so ids reveal nothing.
    if token is None or token.agent_id != actor.agent_id or token.revoked_at is not None:
        raise NotFound(f"token {token_id} does not exist")
    token.revoked_at = now
    await session.flush()


async def list_agent_tokens(
    session: AsyncSession, actor: Actor, *, agent_id: int, now: datetime
) -> list[ApiToken]:
    """An agent's live tokens and sessions of every kind, for an admin."""
    require_admin(actor)
    agent = await get_agent(session, agent_id)
    stmt = (
        select(ApiToken)
        .where(ApiToken.agent_id == agent.id, ApiToken.revoked_at.is_(None))
        .where(ApiToken.expires_at > now)
        .order_by(ApiToken.id)
    )
    return list((await session.scalars(stmt)).all())


async def do_revoke_agent_tokens(
    session: AsyncSession, actor: Actor, *, agent_id: int, now: datetime
) -> int:
    """An admin signs an agent out everywhere: sessions and API tokens alike."""
    require_admin(actor)
    agent = await get_agent(session, agent_id)
    revoked = await revoke_tokens(session, agent_id=agent.id, now=now)
    record(
        session,
        actor_id=actor.agent_id,
        action="agent.revoke_tokens",
        entity_type="agent",
        entity_id=agent.id,
        after={"tokens_revoked": revoked},
    )
    return revoked


async def do_revoke_agent_token(
    session: AsyncSession, actor: Actor, *, agent_id: int, token_id: int, now: datetime
) -> None:
    """An admin revokes one token of an agent (a leaked integration token, say)."""
    require_admin(actor)
    token = await session.get(ApiToken, check_id("token", token_id))
    if token is None or token.agent_id != agent_id or token.revoked_at is not None:
        raise NotFound(f"agent {agent_id} has no token {token_id}")
    token.revoked_at = now
    await session.flush()
    record(
        session,
        actor_id=actor.agent_id,
        action="agent.revoke_token",
        entity_type="agent",
        entity_id=agent_id,
        after={"token_id": token_id},
    )
