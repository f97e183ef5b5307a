"""Bearer tokens: random, shown once, stored as SHA-256, revoked together when the
agent's credentials change."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import ApiToken

TOKEN_PREFIX = "rd_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def revoke_tokens(
    session: AsyncSession, *, agent_id: int, now: datetime, keep_token_id: int | None = None
) -> int:
    """Revoke every live token and session of the agent, but `keep_token_id` (the caller's
    own, when they changed their own password). Returns how many were revoked."""
    stmt = (
        update(ApiToken)
        .where(ApiToken.agent_id == agent_id, ApiToken.revoked_at.is_(None))
        .where(ApiToken.expires_at > now)
        .values(revoked_at=now)
    )
    if keep_token_id is not None:
        stmt = stmt.where(ApiToken.id != keep_token_id)
    result = await session.execute(stmt)
    return int(result.rowcount)  # type: ignore[attr-defined]
