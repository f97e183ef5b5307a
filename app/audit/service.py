"""Audit trail: who changed what, with the changed fields before and after."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditLog


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def snapshot(obj: object, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {f: jsonable(getattr(obj, f)) for f in fields}


def record(
    session: AsyncSession,
    *,
    actor_id: int | None,
    action: str,
    entity_type: str,
    entity_id: int,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditLog | None:
    """Add an audit row; only fields whose value changed are kept. Nothing changed: no row."""
    before = jsonable(dict(before or {}))
    after = jsonable(dict(after or {}))
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    if not changed and (before or after):
        return None
    entry = AuditLog(
        actor_id=actor_id,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before={k: before.get(k) for k in changed if k in before},
        after={k: after.get(k) for k in changed if k in after},
    )
    session.add(entry)
    return entry
