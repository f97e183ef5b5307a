"""Helpers every part of the agents service shares: id bounds and the audit trail."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import record
from app.errors import NotFound

MAX_ID = 2**63 - 1


def check_id(entity: str, entity_id: int) -> int:
    """An id outside BIGINT cannot exist; answer "not found" before the driver overflows."""
    if not 1 <= entity_id <= MAX_ID:
        raise NotFound(f"{entity} {entity_id} does not exist")
    return entity_id


def audit(
    session: AsyncSession,
    actor_id: int | None,
    action: str,
    entity_id: int,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """`action` is "<entity type>.<verb>", e.g. "team.update"."""
    entity_type = action.split(".", 1)[0]
    record(
        session,
        actor_id=actor_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before=before,
        after=after,
    )
