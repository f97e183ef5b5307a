"""Merging two tickets and bulk changes: the operations that touch many rows at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.errors import DomainError, ValidationFailed
from app.tickets.events import EventActor
from app.tickets.lifecycle import merge_tickets
from app.tickets.models import Ticket
from app.tickets.service import access_ticket, clean_tags, do_update_ticket


async def do_merge_tickets(
    session: AsyncSession, actor: Actor, *, source_id: int, into_id: int, now: datetime
) -> Ticket:
    """Move every message of `source` onto `into` and close `source` pointing at `into`
    (see `lifecycle.merge_tickets`). Nothing is deleted."""
    if source_id == into_id:
        raise ValidationFailed.field("into_id", "a ticket cannot be merged into itself")
    # Lock in id order so two opposite merges cannot deadlock.
    first, second = sorted((source_id, into_id))
    locked = {t: await access_ticket(session, actor, t, for_update=True) for t in (first, second)}
    source, target = locked[source_id], locked[into_id]
    for ticket, field in ((source, "id"), (target, "into_id")):
        if ticket.merged_into_id is not None:
            raise ValidationFailed.field(field, f"ticket {ticket.id} was already merged")
    if target.status == "closed":
        raise ValidationFailed.field("into_id", "cannot merge into a closed ticket")

    await merge_tickets(session, source, target, actor=EventActor.agent(actor.agent_id), now=now)
    return target


async def do_bulk_update(
    session: AsyncSession,
    actor: Actor,
    *,
    ids: Sequence[int],
    changes: dict[str, Any],
    add_tags: Sequence[str] = (),
    remove_tags: Sequence[str] = (),
    now: datetime,
) -> list[tuple[int, DomainError | None]]:
    """Apply the same change to many tickets; each succeeds or fails on its own."""
    results: list[tuple[int, DomainError | None]] = []
    removed = set(clean_tags(remove_tags))
    for ticket_id in dict.fromkeys(ids):
        try:
            async with session.begin_nested():
                per_ticket = dict(changes)
                if add_tags or removed:
                    ticket = await access_ticket(session, actor, ticket_id)
                    tags = clean_tags([*ticket.tags, *add_tags])
                    per_ticket["tags"] = [t for t in tags if t not in removed]
                await do_update_ticket(session, actor, ticket_id, changes=per_ticket, now=now)
        except DomainError as exc:
            results.append((ticket_id, exc))
        else:
            results.append((ticket_id, None))
    return results
