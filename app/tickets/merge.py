"""Merging two tickets and bulk changes: the operations that touch many rows at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import record
from app.auth.actor import Actor
from app.errors import DomainError, ValidationFailed
from app.messages.models import Message
from app.outbox.service import TICKET_MERGED, emit
from app.tickets.models import Ticket
from app.tickets.service import access_ticket, clean_tags, do_update_ticket, next_seq, ticket_event
from app.tickets.workflow import apply_status


async def do_merge_tickets(
    session: AsyncSession, actor: Actor, *, source_id: int, into_id: int, now: datetime
) -> Ticket:
    """Move every message of `source` onto `into` (renumbered after its events) and close
    `source` pointing at `into`. Nothing is deleted."""
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

    moved = int(
        await session.scalar(select(func.count()).where(Message.ticket_id == source.id)) or 0
    )
    # New numbers after the target's last event, keeping the source's order.
    renumbered = (
        select(Message.id, (func.row_number().over(order_by=Message.seq)).label("n"))
        .where(Message.ticket_id == source.id)
        .subquery()
    )
    await session.execute(
        update(Message)
        .where(Message.id == renumbered.c.id)
        .values(ticket_id=target.id, seq=target.last_seq + renumbered.c.n)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Ticket)
        .where(Ticket.id == target.id)
        .values(last_seq=Ticket.last_seq + moved)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(target, ["last_seq"])
    target.tags = clean_tags([*target.tags, *source.tags])
    source.merged_into_id = target.id
    apply_status(source, "closed", now=now)
    await session.flush()

    for ticket in (source, target):
        seq = await next_seq(session, ticket, now=now)
        payload = {
            **ticket_event(ticket),
            "source_id": source.id,
            "into_id": target.id,
            "moved": moved,
        }
        emit(session, topic=TICKET_MERGED, ticket_id=ticket.id, seq=seq, payload=payload)
    record(
        session,
        actor_id=actor.agent_id,
        action="ticket.merge",
        entity_type="ticket",
        entity_id=source.id,
        before={"merged_into_id": None},
        after={"merged_into_id": target.id, "moved_messages": moved},
    )
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
