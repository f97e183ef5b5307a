"""SLA rows and tickets for the scheduler and storage tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.sla.models import SlaCalendar, SlaPolicy
from app.tickets.models import Ticket
from app.tickets.service import do_create_ticket

PRIORITIES = ("low", "normal", "high", "urgent")


async def make_policy(
    session: AsyncSession,
    *,
    minutes: dict[str, float],
    calendar: SlaCalendar | None = None,
    actions: dict[str, list[dict[str, Any]]] | None = None,
    warning_fraction: float = 0.8,
    name: str = "Standard",
) -> SlaPolicy:
    """`minutes` per metric, the same for every priority."""
    policy = SlaPolicy(
        name=name,
        calendar_id=calendar.id if calendar else None,
        conditions={},
        pauses={},
        actions=actions or {},
        warning_fraction=warning_fraction,
        targets=[
            {"metric": metric, "priority": p, "minutes": value, "business_hours": True}
            for metric, value in minutes.items()
            for p in PRIORITIES
        ],
    )
    session.add(policy)
    await session.flush()
    return policy


async def make_calendar(session: AsyncSession, *, hours: dict[str, list[list[str]]]) -> SlaCalendar:
    calendar = SlaCalendar(name="Office", time_zone="UTC", hours=hours, holidays=[], exceptions=[])
    session.add(calendar)
    await session.flush()
    return calendar


async def open_ticket(
    session: AsyncSession, actor: Actor, *, now: datetime, priority: str = "high", **kw: Any
) -> Ticket:
    return await do_create_ticket(
        session,
        actor,
        subject="Help",
        body="Please",
        contact_email="pat@customer.test",
        contact_name="Pat",
        priority=priority,
        now=now,
        **kw,
    )
