"""Two-factor sign-in: enrolling a TOTP authenticator, checking a code (or a recovery code)
at sign-in, and the admins' rule that admins and supervisors must have one.

An agent who must enrol but has not yet may sign in, and their session can do nothing but
enrol (and read who they are, and sign out): `Actor.two_factor_pending`, enforced where
the actor is resolved (app.auth.deps).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, not_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from app.agents.models import Agent
from app.audit.service import record
from app.auth.actor import Actor, require_admin
from app.auth.models import SecurityPolicy, TwoFactor
from app.auth.totp import (
    matching_step,
    new_recovery_codes,
    new_secret,
    provisioning_uri,
    qr_data_uri,
    recovery_hash,
)
from app.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from app.security.crypto import SecretBox

STAFF_ROLES = frozenset({"admin", "supervisor"})


def two_factor_box(secret_key: str) -> SecretBox:
    return SecretBox(secret_key, purpose="two-factor")


async def security_policy(session: AsyncSession) -> SecurityPolicy:
    return await session.get(SecurityPolicy, 1) or SecurityPolicy(
        id=1, require_two_factor_for_staff=False
    )


async def do_update_security_policy(
    session: AsyncSession, actor: Actor, *, require_two_factor_for_staff: bool
) -> SecurityPolicy:
    require_admin(actor)
    policy = await session.get(SecurityPolicy, 1, with_for_update=True)
    if policy is None:
        policy = SecurityPolicy(id=1)
        session.add(policy)
    before = policy.require_two_factor_for_staff
    policy.require_two_factor_for_staff = require_two_factor_for_staff
    await session.flush()
    await session.refresh(policy)
    record(
        session,
        actor_id=actor.agent_id,
        action="security_policy.update",
        entity_type="security_policy",
        entity_id=1,
        before={"require_two_factor_for_staff": before},
        after={"require_two_factor_for_staff": require_two_factor_for_staff},
    )
    return policy


def required_for(role: str, policy: SecurityPolicy) -> bool:
    return policy.require_two_factor_for_staff and role in STAFF_ROLES


async def enrolled(session: AsyncSession, agent_id: int) -> TwoFactor | None:
    """The agent's confirmed second factor, if any."""
    factor = await session.get(TwoFactor, agent_id)
    return factor if factor is not None and factor.confirmed_at is not None else None


def _check_code(
    factor: TwoFactor, box: SecretBox, code: str, *, now: datetime, allow_recovery: bool
) -> bool:
    """Is `code` a right TOTP code (remembered, so it is good once) or, when allowed, an
    unused recovery code (used up)?"""
    secret = box.open(factor.secret_encrypted)["secret"]
    step = matching_step(secret, code, now=now, after=factor.last_step)
    if step is not None:
        factor.last_step = step
        return True
    hashed = recovery_hash(code)
    if allow_recovery and hashed in factor.recovery_code_hashes:
        factor.recovery_code_hashes = [h for h in factor.recovery_code_hashes if h != hashed]
        return True
    return False


async def check_sign_in_code(
    session: AsyncSession, agent: Agent, code: str | None, *, box: SecretBox, now: datetime
) -> None:
    """The second step of signing in, after a right password; nothing for an agent who has
    not enrolled. Lock the row so two sign-ins cannot both use one code."""
    factor = await session.get(TwoFactor, agent.id, with_for_update=True)
    if factor is None or factor.confirmed_at is None:
        return
    if not code:
        raise NotAuthenticated(
            "enter the code from your authenticator app (or a recovery code)",
            code="two_factor_required",
        )
    if not _check_code(factor, box, code, now=now, allow_recovery=True):
        raise NotAuthenticated("the code is wrong or was used already", code="invalid_code")
    await session.flush()


async def do_start_enrolment(
    session: AsyncSession, actor: Actor, *, box: SecretBox
) -> tuple[str, str, str]:
    """A new secret, kept unconfirmed until a code proves the app has it; returns the
    secret, its otpauth URI and the URI as a QR code."""
    agent = await session.get(Agent, actor.agent_id)
    if agent is None:
        raise NotFound(f"agent {actor.agent_id} does not exist")
    factor = await session.get(TwoFactor, agent.id, with_for_update=True)
    if factor is not None and factor.confirmed_at is not None:
        raise Conflict("two-factor sign-in is on already; turn it off first", code="enrolled")
    secret = new_secret()
    sealed = box.seal({"secret": secret})
    if factor is None:
        session.add(TwoFactor(agent_id=agent.id, secret_encrypted=sealed))
    else:
        factor.secret_encrypted, factor.last_step = sealed, 0
    await session.flush()
    uri = provisioning_uri(secret, account=agent.email)
    return secret, uri, qr_data_uri(uri)


async def do_confirm_enrolment(
    session: AsyncSession, actor: Actor, *, code: str, box: SecretBox, now: datetime
) -> list[str]:
    """The first right code turns two-factor sign-in on; returns the recovery codes (their
    only showing)."""
    factor = await session.get(TwoFactor, actor.agent_id, with_for_update=True)
    if factor is None:
        raise Conflict("start the enrolment first", code="not_enrolling")
    if factor.confirmed_at is not None:
        raise Conflict("two-factor sign-in is on already", code="enrolled")
    if not _check_code(factor, box, code, now=now, allow_recovery=False):
        raise ValidationFailed.field("code", "the code is wrong: check the app's clock and retry")
    codes = new_recovery_codes()
    factor.confirmed_at = now
    factor.recovery_code_hashes = [recovery_hash(c) for c in codes]
    await session.flush()
    record(
        session,
        actor_id=actor.agent_id,
        action="two_factor.enable",
        entity_type="agent",
        entity_id=actor.agent_id,
    )
    return codes


async def do_new_recovery_codes(
    session: AsyncSession, actor: Actor, *, code: str, box: SecretBox, now: datetime
) -> list[str]:
    factor = await _confirmed_for_change(session, actor, code, box=box, now=now)
    codes = new_recovery_codes()
    factor.recovery_code_hashes = [recovery_hash(c) for c in codes]
    await session.flush()
    return codes


async def do_disable(
    session: AsyncSession, actor: Actor, *, code: str, box: SecretBox, now: datetime
) -> None:
    if required_for(actor.role, await security_policy(session)):
        raise PermissionDenied("two-factor sign-in is required for your role")
    factor = await _confirmed_for_change(session, actor, code, box=box, now=now)
    await session.delete(factor)
    await session.flush()
    record(
        session,
        actor_id=actor.agent_id,
        action="two_factor.disable",
        entity_type="agent",
        entity_id=actor.agent_id,
    )


async def _confirmed_for_change(
    session: AsyncSession, actor: Actor, code: str, *, box: SecretBox, now: datetime
) -> TwoFactor:
    factor = await session.get(TwoFactor, actor.agent_id, with_for_update=True)
    if factor is None or factor.confirmed_at is None:
        raise Conflict("two-factor sign-in is off", code="not_enrolled")
    if not _check_code(factor, box, code, now=now, allow_recovery=True):
        raise ValidationFailed.field("code", "the code is wrong or was used already")
    return factor


async def do_reset_for_agent(session: AsyncSession, actor: Actor, *, agent_id: int) -> None:
    """An admin turns off an agent's second factor (a lost phone and no recovery code)."""
    require_admin(actor)
    factor = await session.get(TwoFactor, agent_id)
    if factor is None:
        raise NotFound(f"agent {agent_id} has no second factor")
    await session.delete(factor)
    await session.flush()
    record(
        session,
        actor_id=actor.agent_id,
        action="two_factor.reset",
        entity_type="agent",
        entity_id=agent_id,
    )


async def recovery_codes_left(session: AsyncSession, agent_id: int) -> int:
    factor = await enrolled(session, agent_id)
    return len(factor.recovery_code_hashes) if factor else 0


def pending_expression(
    agent_id: QueryableAttribute[int], role: QueryableAttribute[str]
) -> ColumnElement[bool]:
    """Whether the agent must still enrol before working, as SQL: the caller is resolved in
    the same query as its token."""
    required = exists().where(
        SecurityPolicy.id == 1, SecurityPolicy.require_two_factor_for_staff.is_(True)
    )
    has_factor = exists().where(TwoFactor.agent_id == agent_id, TwoFactor.confirmed_at.is_not(None))
    return and_(role.in_(sorted(STAFF_ROLES)), required, not_(has_factor))
