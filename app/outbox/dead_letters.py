"""Dead letters: events the relay gave up on after `MAX_ATTEMPTS`, for admins to read and
put back in line once the cause is fixed (a deployed fix for a bad payload's mapper, say)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor, require_admin
from app.errors import Conflict, NotFound
from app.outbox.models import OUTBOX_CHANNEL, OutboxEvent

DEAD = OutboxEvent.dead_at.is_not(None)


async def list_dead_letters(
    session: AsyncSession, actor: Actor, *, limit: int, before_id: int | None
) -> list[OutboxEvent]:
    """Newest first, one more than `limit` (the caller pages by id)."""
    require_admin(actor)
    stmt = select(OutboxEvent).where(DEAD)
    if before_id:
        stmt = stmt.where(OutboxEvent.id < before_id)
    return list(
        (await session.scalars(stmt.order_by(OutboxEvent.id.desc()).limit(limit + 1))).all()
    )


async def count_dead_letters(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(OutboxEvent).where(DEAD)) or 0)


async def do_retry_dead_letter(session: AsyncSession, actor: Actor, event_id: int) -> OutboxEvent:
    """Give the event a fresh set of attempts; the relay is woken when this commits. Its
    `last_error` stays until the next attempt, for the record."""
    require_admin(actor)
    event = await session.get(OutboxEvent, event_id, with_for_update=True)
    if event is None:
        raise NotFound(f"outbox event {event_id} does not exist")
    if event.dead_at is None:
        raise Conflict(
            f"outbox event {event_id} is not dead-lettered "
            f"({'published' if event.published_at else 'still pending'})",
            code="not_dead_lettered",
        )
    event.dead_at = event.retry_at = None
    event.attempts = 0
    await session.execute(select(func.pg_notify(OUTBOX_CHANNEL, "")))
    await session.flush()
    return event
