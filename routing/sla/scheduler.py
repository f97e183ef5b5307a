"""The SLA scheduler: fires each warning and breach once, within a second of its time.

It sleeps until the soonest `tickets.sla_next_event_at` (an indexed read), woken earlier
by a NOTIFY when a recomputation brings a ticket's next moment forward, and polls slowly
besides in case a notification was lost. Due tickets are claimed with `FOR UPDATE SKIP
LOCKED`, so schedulers on several workers share the work, and `sla_target_events` is
unique per (ticket, metric, cycle, kind), so a moment fires once even if two reach it.
Everything overdue is due: after an outage it catches up at once (the safety sweep).

A claimed batch fires set-based (`fire_tickets`): a handful of statements whatever its
size, so a burst of thousands of tickets due in the same minute is written as fast as
it falls due; ticket by ticket, five round trips each, the scheduler fell seconds behind.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.clock import Clock
from app.db.engine import SessionMaker
from app.db.notify import Listener
from app.sla.models import SlaTargetEvent
from app.tickets.events import SYSTEM
from app.tickets.lifecycle import note_events, write_derived_many
from app.tickets.models import Ticket
from routing.core.sla_policy import STOPPED_STATUSES
from routing.sla.actions import apply_actions, notify_list
from routing.sla.recompute import SLA_CHANNEL
from routing.sla.rules import RuleBook, read_rules
from routing.sla.state import Due, due_moments, mark_breached, moment, next_event_at

log = logging.getLogger(__name__)

BATCH = 200
POLL_SECONDS = 5.0
RETRY_SECONDS = 0.05
EVENT_TYPES = {"warning": "sla.warning", "breached": "sla.breached"}


@dataclass(frozen=True)
class Fired:
    ticket_id: int
    metric: str
    cycle: int
    kind: str
    at: datetime  # when it was due


@dataclass
class _Firing:
    """One claimed ticket's due moments, worked out before anything is written."""

    ticket: Ticket
    due: list[Due]
    derived: dict[str, Any]


def _plan(ticket: Ticket, now: datetime) -> _Firing:
    if ticket.status in STOPPED_STATUSES or ticket.sla is None:
        return _Firing(ticket, [], {"sla_next_event_at": None})
    fired_keys = set(ticket.sla_fired or [])
    sla = ticket.sla
    due_now = due_moments(ticket.sla, ticket.sla_fired or [], now)
    for due in due_now:
        fired_keys.add(due.key)
        if due.kind == "breached":
            fired_keys.add(moment(due.metric, due.cycle, "warning"))  # moot once breached
            sla = mark_breached(sla, due)
    derived = {
        "sla": sla,
        "sla_fired": sorted(fired_keys),
        "sla_next_event_at": next_event_at(sla, fired_keys),
    }
    return _Firing(ticket, due_now, derived)


def _moment_row(ticket: Ticket, due: Due, *, now: datetime) -> dict[str, Any]:
    return {
        "ticket_id": ticket.id,
        "metric": due.metric,
        "cycle": due.cycle,
        "kind": due.kind,
        "policy_id": due.policy_id or ticket.sla_policy_id,
        "priority": ticket.priority,
        "started_at": due.started_at,
        "due_at": due.due_at,
        "at": due.at,
        "recorded_at": now,
        "team_id": ticket.team_id if due.team_id is None else due.team_id,
        "assignee_id": ticket.assignee_id,
        "channel": ticket.channel,
    }


async def _record(session: AsyncSession, rows: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    """Insert the moments; the keys of those this call recorded (a moment another
    scheduler recorded first is left out). In key order, so two inserts that overlap
    wait for each other rather than deadlock."""
    if not rows:
        return set()
    rows = sorted(rows, key=lambda r: (r["ticket_id"], r["metric"], r["cycle"], r["kind"]))
    key = (SlaTargetEvent.ticket_id, SlaTargetEvent.metric, SlaTargetEvent.cycle)
    inserted = await session.execute(
        insert(SlaTargetEvent)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[*key, SlaTargetEvent.kind])
        .returning(*key, SlaTargetEvent.kind)
    )
    return {tuple(row) for row in inserted}


async def fire_tickets(
    session: AsyncSession, tickets: Sequence[Ticket], *, rules: RuleBook, now: datetime
) -> list[Fired]:
    """Fire what is due on the tickets (the caller holds their row locks), set-based: one
    INSERT of every moment, one UPDATE of the tickets' seq numbers, one INSERT of the
    timeline events and one of the outbox rows (app.tickets.lifecycle.note_events), one
    UPDATE of the SLA columns per shape; then the actions, ticket by ticket, of the
    tickets whose policy has any for what fired."""
    plans = [_plan(ticket, now) for ticket in tickets]
    recorded = await _record(
        session, [_moment_row(p.ticket, due, now=now) for p in plans for due in p.due]
    )
    fired: list[Fired] = []
    notes: list[tuple[Ticket, list[tuple[str, dict[str, Any]]]]] = []
    follow_ups: list[tuple[Ticket, Due, list[dict[str, Any]]]] = []
    for plan in plans:
        ticket, events = plan.ticket, []
        for due in plan.due:
            if (ticket.id, due.metric, due.cycle, due.kind) not in recorded:
                continue  # another scheduler fired it
            policy_id = due.policy_id or ticket.sla_policy_id
            actions = rules.actions_for(policy_id or 0, due.kind)
            data = {
                "metric": due.metric,
                "cycle": due.cycle,
                "due_at": due.due_at.isoformat(),
                "at": due.at.isoformat(),
                "policy_id": policy_id,
                "team_id": due.team_id,  # a group target's team; null for the customer's
                "notify": notify_list(actions),
            }
            events.append((EVENT_TYPES[due.kind], data))
            fired.append(Fired(ticket.id, due.metric, due.cycle, due.kind, due.at))
            if actions:
                follow_ups.append((ticket, due, actions))
        notes.append((ticket, events))
    await note_events(session, notes, actor=SYSTEM, now=now)
    shapes: dict[frozenset[str], list[_Firing]] = {}
    for plan in plans:
        shapes.setdefault(frozenset(plan.derived), []).append(plan)
    for same in shapes.values():
        await write_derived_many(session, [{"id": p.ticket.id, **p.derived} for p in same])
        for plan in same:
            for name, value in plan.derived.items():
                set_committed_value(plan.ticket, name, value)
    for ticket, due, actions in follow_ups:
        await apply_actions(session, ticket, actions, kind=due.kind, metric=due.metric, now=now)
    return fired


async def fire_ticket(
    session: AsyncSession, ticket: Ticket, *, rules: RuleBook, now: datetime
) -> list[Fired]:
    """Fire what is due on one ticket (the caller holds its row lock)."""
    return await fire_tickets(session, [ticket], rules=rules, now=now)


async def fire_due(
    sessionmaker: SessionMaker, *, now: datetime, limit: int = BATCH
) -> tuple[int, list[Fired]]:
    """One batch of due tickets in one transaction: how many were claimed, and what fired
    (committed when this returns)."""
    async with sessionmaker() as session, session.begin():
        tickets = (
            await session.scalars(
                select(Ticket)
                .where(Ticket.sla_next_event_at <= now)
                .order_by(Ticket.sla_next_event_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        if not tickets:
            return 0, []
        # Read, not cached: a breach runs the actions its policy has now.
        rules = await read_rules(session)
        fired = await fire_tickets(session, tickets, rules=rules, now=now)
    return len(tickets), fired


async def soonest(sessionmaker: SessionMaker) -> datetime | None:
    async with sessionmaker() as session:
        found: datetime | None = await session.scalar(select(func.min(Ticket.sla_next_event_at)))
        return found


OnFired = Callable[[list[Fired], datetime], None]


async def run_sla_scheduler(
    sessionmaker: SessionMaker,
    engine: AsyncEngine,
    *,
    clock: Clock,
    on_fired: OnFired | None = None,
    poll_seconds: float = POLL_SECONDS,
) -> None:
    """Until cancelled. `on_fired(fired, committed_at)` sees each committed batch (tests
    and the benchmark measure lateness with it)."""
    async with Listener(engine, SLA_CHANNEL) as listener:
        while True:
            listener.take()
            now = clock()
            claimed, fired = await fire_due(sessionmaker, now=now)
            if fired and on_fired is not None:
                on_fired(fired, clock())
            if claimed >= BATCH:
                continue
            upcoming = await soonest(sessionmaker)
            if upcoming is None:
                wait = poll_seconds
            elif upcoming > now:  # falls due later, or fell due while that batch was written:
                wait = min(poll_seconds, (upcoming - clock()).total_seconds())  # no nap first
            else:  # due then, yet not claimed: another node holds the ticket and fires it,
                wait = RETRY_SECONDS  # or gives it back and this one tries again
            if wait > 0:
                await listener.wait(wait)
