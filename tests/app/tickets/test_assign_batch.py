"""`assign_tickets` (many tickets at once, the routing driver's path) writes for each ticket
what `change_ticket` writes for one assignment: the same seq, timeline event, outbox row,
audit row, ticket columns, and the same hooks (a hook's batch form once for the batch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditLog
from app.db.engine import SessionMaker
from app.outbox.models import OutboxEvent
from app.tickets.events import EventActor, TicketEvent
from app.tickets.hooks import LifecycleHooks, TicketChanged, install_hooks
from app.tickets.lifecycle import (
    Assignment,
    NewMessage,
    NewTicket,
    assign_tickets,
    change_ticket,
    open_ticket,
)
from app.tickets.models import Ticket
from tests.conftest import FrozenClock
from tests.factories.agents import make_agent
from tests.factories.contacts import make_contact

EXTRA = {"routing": {"by": "routing", "reason": "agent had room"}}


async def _ticket(session: AsyncSession, clock: FrozenClock, **fields: Any) -> Ticket:
    contact = await make_contact(session)
    ticket, _ = await open_ticket(
        session,
        NewTicket(subject="Help", channel="email", contact_id=contact.id, **fields),
        first_message=NewMessage(
            direction="inbound",
            author_type="contact",
            author_contact_id=contact.id,
            body_text="Please",
            status="received",
        ),
        actor=EventActor("system"),
        now=clock(),
    )
    return ticket


def _same(value: Any, ticket: Ticket) -> Any:
    """`value` with the ticket's own id and number made placeholders."""
    if isinstance(value, dict):
        return {
            k: "<id>" if k == "ticket_id" and v == ticket.id
            else "<number>" if k == "number" and v == ticket.number
            else _same(v, ticket)
            for k, v in value.items()
        }  # fmt: skip
    if isinstance(value, list):
        return [_same(v, ticket) for v in value]
    return value


async def _written(session: AsyncSession, ticket: Ticket, after_seq: int) -> dict[str, Any]:
    events = (
        await session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id, TicketEvent.seq > after_seq)
            .order_by(TicketEvent.seq)
        )
    ).all()
    outbox = (
        await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.ticket_id == ticket.id, OutboxEvent.seq > after_seq)
            .order_by(OutboxEvent.seq)
        )
    ).all()
    audit = (
        await session.scalars(
            select(AuditLog)
            .where(AuditLog.entity_type == "ticket", AuditLog.entity_id == ticket.id)
            .where(AuditLog.action != "ticket.create")
            .order_by(AuditLog.id)
        )
    ).all()
    row = (
        await session.execute(
            select(Ticket.assignee_id, Ticket.last_seq, Ticket.updated_at).where(
                Ticket.id == ticket.id
            )
        )
    ).one()
    return {
        "events": [
            (e.seq - after_seq, e.type, e.at, e.actor_type, e.actor_id, _same(e.data, ticket))
            for e in events
        ],
        "outbox": [(o.seq - after_seq, o.topic, _same(o.payload, ticket)) for o in outbox],
        "audit": [(a.actor_id, a.action, a.before, a.after) for a in audit],
        "ticket": (row.assignee_id, row.last_seq - after_seq, row.updated_at),
    }


@pytest.mark.parametrize("by_agent", [False, True], ids=["routing", "agent"])
async def test_a_batch_assignment_writes_per_ticket_what_the_single_path_writes(
    sessionmaker: SessionMaker, clock: FrozenClock, by_agent: bool
) -> None:
    heard: list[tuple[str, int, int, dict[str, Any]]] = []
    batches: list[int] = []

    async def each(session: AsyncSession, change: TicketChanged) -> None:
        # Run after the change is written, as for a single change.
        stored = await session.scalar(
            select(func.count()).where(
                TicketEvent.ticket_id == change.ticket.id, TicketEvent.seq == change.seq
            )
        )
        assert stored == 1
        heard.append((change.event_type, change.ticket.id, change.seq, change.changes))

    async def batched(session: AsyncSession, change: TicketChanged) -> None:
        raise AssertionError("a hook with a batch form runs it for a batch")

    async def batch_form(session: AsyncSession, changes: Sequence[TicketChanged]) -> None:
        batches.append(len(changes))
        for change in changes:
            await each(session, change)

    async with sessionmaker() as session, session.begin():
        agent = await make_agent(session, password=None)
        other = await make_agent(session, password=None)
        actor = EventActor("agent", agent.id) if by_agent else EventActor("system")
        single = [await _ticket(session, clock) for _ in range(2)]
        batch = [await _ticket(session, clock) for _ in range(2)]
        held = [await _ticket(session, clock, assignee_id=other.id) for _ in range(2)]
    clock.advance(minutes=5)
    before = {t.id: t.last_seq for t in single + batch + held}

    hooks = LifecycleHooks()
    hooks.add_ticket_hook(each)
    install_hooks(sessionmaker, hooks)
    async with sessionmaker() as session, session.begin():
        for ticket in [*single, held[0]]:
            session.add(ticket)
            await change_ticket(
                session, ticket, {"assignee_id": other.id if ticket is held[0] else agent.id},
                actor=actor, now=clock(), extra=EXTRA,
            )  # fmt: skip
    one_by_one, heard[:] = list(heard), []

    hooks = LifecycleHooks()
    hooks.add_ticket_hook(each)
    hooks.add_ticket_hook(batched, batch=batch_form)
    install_hooks(sessionmaker, hooks)
    async with sessionmaker() as session, session.begin():
        for ticket in [*batch, held[1]]:
            session.add(ticket)
        changed = await assign_tickets(
            session,
            [
                Assignment(batch[0], agent.id, EXTRA),
                Assignment(held[1], other.id, EXTRA),  # already theirs: nothing written
                Assignment(batch[1], agent.id, EXTRA),
            ],
            actor=actor,
            now=clock(),
        )
    assert changed == {t.id: {"assignee_id": (None, agent.id)} for t in batch}
    assert batches == [2]
    # Each hook hears every change: the plain one per change, then the batch form.
    assert [(t, s - before[t], c) for _, t, s, c in heard] == [
        (t.id, 1, {"assignee_id": (None, agent.id)}) for t in batch
    ] * 2
    assert [(t, s - before[t], c) for _, t, s, c in one_by_one] == [
        (t.id, 1, {"assignee_id": (None, agent.id)}) for t in single
    ]

    async with sessionmaker() as session:
        written = [await _written(session, t, before[t.id]) for t in single + batch + held]
    assert written[0]["events"], "the single path wrote an event"
    assert written[0]["audit"] if by_agent else not written[0]["audit"]
    assert written[0] == written[1] == written[2] == written[3]
    assert written[4] == written[5] == {
        "events": [], "outbox": [], "audit": [], "ticket": (other.id, 0, written[4]["ticket"][2])
    }  # fmt: skip


async def test_a_batch_names_each_ticket_once(
    sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    async with sessionmaker() as session, session.begin():
        agent = await make_agent(session, password=None)
        ticket = await _ticket(session, clock)
        with pytest.raises(ValueError, match="once"):
            await assign_tickets(
                session,
                [Assignment(ticket, agent.id), Assignment(ticket, agent.id)],
                actor=EventActor("system"),
                now=clock(),
            )
