"""Admins list the outbox's dead letters and put them back in line."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.outbox.dead_letters import do_retry_dead_letter, list_dead_letters
from app.outbox.models import OutboxEvent
from app.outbox.schemas import DeadLetterOut
from app.pagination import DEFAULT_LIMIT, decode_cursor, encode_cursor
from app.schemas import Page

PageSize = Annotated[int, Parameter(ge=1, le=200, description="Page size")]


def dead_letter_out(event: OutboxEvent) -> DeadLetterOut:
    return DeadLetterOut(
        id=event.id,
        uuid=event.uuid,
        topic=event.topic,
        ticket_id=event.ticket_id,
        seq=event.seq,
        payload=event.payload,
        attempts=event.attempts,
        last_error=event.last_error,
        created_at=event.created_at,
        dead_at=event.dead_at,
    )


class DeadLetterController(Controller):
    path = "/api/v1/outbox/dead-letters"
    tags = ["outbox"]

    @get("/", summary="Events the relay gave up on, newest first (admins)")
    async def list_dead(
        self,
        actor: Actor,
        db_session: AsyncSession,
        limit: PageSize = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[DeadLetterOut]:
        before_id = decode_cursor(cursor) if cursor else None
        events = await list_dead_letters(db_session, actor, limit=limit, before_id=before_id)
        more, events = len(events) > limit, events[:limit]
        return Page(
            items=[dead_letter_out(e) for e in events],
            next_cursor=encode_cursor(events[-1].id) if more else None,
        )

    @post("/{event_id:int}/retry", status_code=200, summary="Relay a dead letter again")
    async def retry(self, event_id: int, actor: Actor, db_session: AsyncSession) -> DeadLetterOut:
        return dead_letter_out(await do_retry_dead_letter(db_session, actor, event_id))
