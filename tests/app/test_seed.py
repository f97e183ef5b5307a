from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.contacts.models import Contact, ContactIdentity
from app.messages.models import Message
from app.security.passwords import verify_password
from app.seed import DEMO_ADMIN_EMAIL, DEMO_PASSWORD, seed_demo
from app.tickets.events import TicketEvent
from app.tickets.models import PRIORITIES, STATUSES, Ticket

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


async def test_seed_demo_builds_a_consistent_helpdesk(db_session: AsyncSession) -> None:
    stages: set[str] = set()
    counts = await seed_demo(
        db_session, contacts=40, now=NOW, progress=lambda stage, done, total: stages.add(stage)
    )

    assert counts["contacts"] == 40
    assert counts["tickets"] == 600
    assert counts["accounts"] == 20
    assert counts["agents"] == 13
    assert (counts["canned_replies"], counts["macros"], counts["saved_views"]) == (3, 2, 2)
    assert {"accounts", "contacts", "agents", "tickets", "messages"} <= stages
    assert await db_session.scalar(select(func.count()).select_from(Contact)) == 40
    assert await db_session.scalar(select(func.count()).select_from(Ticket)) == 600
    assert await db_session.scalar(select(func.count()).select_from(Message)) == counts["messages"]
    kinds = set(await db_session.scalars(select(ContactIdentity.kind).distinct()))
    assert kinds == {"email", "phone", "whatsapp"}
    roles = dict(
        (await db_session.execute(select(Agent.role, func.count()).group_by(Agent.role))).all()
    )
    assert roles == {"admin": 1, "supervisor": 2, "agent": 10}

    tickets = list(await db_session.scalars(select(Ticket)))
    assert {t.status for t in tickets} == set(STATUSES)
    assert {t.priority for t in tickets} == set(PRIORITIES)
    assert {(t.status, t.priority) for t in tickets} == {
        (s, p) for s in STATUSES for p in PRIORITIES
    }
    assert any(t.tags for t in tickets)
    assert all(NOW - timedelta(days=61) <= t.created_at <= t.updated_at <= NOW for t in tickets)
    for ticket in tickets:
        assert (ticket.solved_at is not None) == (ticket.status in {"solved", "closed"})
        assert (ticket.closed_at is not None) == (ticket.status == "closed")
        assert (ticket.first_responded_at is None) == (ticket.status == "new")
        if ticket.closed_at is not None:
            assert ticket.solved_at is not None
            assert ticket.solved_at < ticket.closed_at <= NOW

    seqs = (
        await db_session.execute(
            select(
                Message.ticket_id, func.array_agg(aggregate_order_by(Message.seq, Message.seq))
            ).group_by(Message.ticket_id)
        )
    ).all()
    by_ticket = dict(seqs)
    assert len(by_ticket) == 600
    events = dict(
        (
            await db_session.execute(
                select(
                    TicketEvent.ticket_id,
                    func.array_agg(aggregate_order_by(TicketEvent.type, TicketEvent.seq)),
                ).group_by(TicketEvent.ticket_id)
            )
        ).all()
    )
    for ticket in tickets:
        # seq 1 is the ticket's creation, then one seq per message: the timeline is complete.
        assert by_ticket[ticket.id] == list(range(2, ticket.last_seq + 1))
        assert events[ticket.id] == ["ticket.created"] + ["message.created"] * (ticket.last_seq - 1)
        assert 2 <= ticket.last_seq <= 7

    directions = set(
        (await db_session.execute(select(Message.direction, Message.internal).distinct())).all()
    )
    assert directions == {("inbound", False), ("outbound", False), ("outbound", True)}

    admin = await db_session.scalar(select(Agent).where(Agent.email == DEMO_ADMIN_EMAIL))
    assert admin is not None
    assert await verify_password(admin.password_hash, DEMO_PASSWORD)


async def test_seed_demo_refuses_to_run_twice(db_session: AsyncSession) -> None:
    await seed_demo(db_session, contacts=5, tickets=30, now=NOW)

    with pytest.raises(ValueError, match="demo data already present"):
        await seed_demo(db_session, contacts=5, tickets=30, now=NOW)
