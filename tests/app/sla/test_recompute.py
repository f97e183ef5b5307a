"""A calendar change recomputes the open tickets under it (the `recompute_sla` job), in
chunks several at a time, and leaves solved tickets as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.auth.actor import Actor
from app.config import Settings
from app.db.engine import SessionMaker
from app.main import build_lifecycle_hooks
from app.sla.schemas import CalendarUpdate, WeeklyHours
from app.sla.service import do_update_calendar
from app.tickets.hooks import install_hooks
from app.tickets.models import Ticket
from app.tickets.service import do_update_ticket
from routing.sla.engine import RoutingSlaEngine
from routing.sla.jobs import recompute_sla
from routing.sla.recompute import recompute_open_tickets
from tests.app.sla.factories import make_calendar, make_policy, open_ticket
from tests.factories.agents import make_agent

# Monday 2026-12-07 10:00 UTC; the office opens 09:00-17:00 on weekdays.
MONDAY = datetime(2026, 12, 7, 10, tzinfo=UTC)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


@pytest.mark.committing
async def test_a_calendar_change_moves_every_open_tickets_due_time(
    committing_sessionmaker: SessionMaker, settings: Settings
) -> None:
    sessionmaker = committing_sessionmaker
    install_hooks(sessionmaker, build_lifecycle_hooks(settings))
    async with sessionmaker() as session, session.begin():
        admin = await make_agent(session, role="admin")
        actor = Actor(admin.id, "admin", frozenset(), frozenset({"read", "write"}))
        calendar = await make_calendar(session, hours={d: [["09:00", "17:00"]] for d in WEEKDAYS})
        await make_policy(session, minutes={"resolution": 8 * 60}, calendar=calendar)
        tickets = [await open_ticket(session, actor, now=MONDAY) for _ in range(7)]
        solved = tickets[-1]
        await do_update_ticket(session, actor, solved.id, changes={"status": "solved"}, now=MONDAY)
    ids = [t.id for t in tickets]

    async def due_times() -> dict[int, datetime | None]:
        async with sessionmaker() as session:
            return {i: (await session.get(Ticket, i)).sla_due_at for i in ids}  # type: ignore[union-attr]

    before = await due_times()
    assert set(before.values()) == {MONDAY + timedelta(days=1), None}  # 7 h Monday, 1 Tuesday
    async with sessionmaker() as session, session.begin():
        hours = WeeklyHours(**{d: [("09:00", "13:00")] for d in WEEKDAYS})
        await do_update_calendar(
            session, actor, RoutingSlaEngine(), calendar.id, CalendarUpdate(hours=hours)
        )

    recomputed = await recompute_sla(
        {"sessionmaker": sessionmaker, "clock": lambda: MONDAY + timedelta(minutes=1)},
        calendar_id=calendar.id,
    )

    assert recomputed == 6
    after = await due_times()
    # 3 hours on Monday, 4 on Tuesday, the last one on Wednesday from 09:00.
    assert [after[i] for i in ids[:-1]] == [MONDAY + timedelta(days=2)] * 6
    assert after[solved.id] is None
    # Small chunks, several at once: the same answer, each ticket once.
    assert (
        await recompute_open_tickets(
            sessionmaker, now=MONDAY + timedelta(minutes=2), chunk=2, concurrency=3
        )
        == 6
    )
    assert await due_times() == after
