"""Calendars and policies (admins manage them), due-time overrides (supervisors), and
the tickets whose SLA is breached or at risk (whoever may read them).

A change to a calendar or policy is an `sla.rules_changed` outbox event: its job
(routing.sla.jobs) recomputes the open tickets it touches, since every ticket's due times
are stored on it and would otherwise keep the old rule until the ticket next changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Team
from app.audit.service import record
from app.auth.actor import Actor, require_admin, require_supervisor
from app.errors import Conflict, NotFound, ValidationFailed
from app.outbox.service import emit
from app.sla.jobs import RULES_CHANGED
from app.sla.models import SlaCalendar, SlaPolicy
from app.sla.port import SlaEngine
from app.sla.schemas import (
    CalendarCreate,
    CalendarUpdate,
    DueOverride,
    HolidayImport,
    PolicyCreate,
    PolicyUpdate,
)
from app.tickets.events import EventActor
from app.tickets.lifecycle import note_event
from app.tickets.models import Ticket
from app.tickets.repository import readable_by
from app.tickets.service import access_ticket

DUE_OVERRIDDEN = "sla.due_overridden"


def _builtins(value: Any) -> Any:
    return msgspec.to_builtins(value)


# --- calendars ---------------------------------------------------------------------------


async def list_calendars(session: AsyncSession, actor: Actor) -> list[SlaCalendar]:
    require_supervisor(actor)
    return list((await session.scalars(select(SlaCalendar).order_by(SlaCalendar.name))).all())


async def access_calendar(session: AsyncSession, actor: Actor, calendar_id: int) -> SlaCalendar:
    require_supervisor(actor)
    calendar = await session.get(SlaCalendar, calendar_id)
    if calendar is None:
        raise NotFound(f"calendar {calendar_id} does not exist")
    return calendar


def _holidays(
    engine: SlaEngine, given: list[dict[str, Any]], imported: HolidayImport | None
) -> list[dict[str, Any]]:
    """The given dates, then the imported ones not given (a name typed in wins)."""
    days = {item["date"]: item.get("name", "") for item in given}
    if imported is not None:
        found = engine.country_holidays(imported.country, imported.years, imported.subdivision)
        for day, name in sorted(found.items()):
            days.setdefault(day.isoformat(), name)
    return [{"date": day, "name": name} for day, name in sorted(days.items())]


async def _save(session: AsyncSession, row: SlaCalendar | SlaPolicy, what: str) -> None:
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
        await session.refresh(row)  # updated_at is the database's
    except IntegrityError as exc:
        if "uq_" in str(exc.orig):
            raise ValidationFailed.field(
                "name", f"a {what} with this name already exists"
            ) from None
        raise


def _rules_changed(session: AsyncSession, **what: int) -> None:
    emit(session, topic=RULES_CHANGED, payload=what)


async def do_create_calendar(
    session: AsyncSession, actor: Actor, engine: SlaEngine, data: CalendarCreate
) -> SlaCalendar:
    require_admin(actor)
    calendar = SlaCalendar(
        name=data.name,
        time_zone=data.time_zone,
        hours=_builtins(data.hours),
        holidays=_holidays(engine, _builtins(data.holidays), data.import_holidays),
        exceptions=_builtins(data.exceptions),
    )
    engine.check_calendar(calendar)
    await _save(session, calendar, "calendar")
    record(
        session,
        actor_id=actor.agent_id,
        action="sla_calendar.create",
        entity_type="sla_calendar",
        entity_id=calendar.id,
        after={"name": calendar.name},
    )
    return calendar


async def do_update_calendar(
    session: AsyncSession, actor: Actor, engine: SlaEngine, calendar_id: int, data: CalendarUpdate
) -> SlaCalendar:
    require_admin(actor)
    calendar = await access_calendar(session, actor, calendar_id)
    before = {
        "name": calendar.name,
        "time_zone": calendar.time_zone,
        "hours": calendar.hours,
        "holidays": calendar.holidays,
        "exceptions": calendar.exceptions,
    }
    for field in ("name", "time_zone", "hours", "exceptions"):
        value = getattr(data, field)
        if value is not msgspec.UNSET:
            setattr(calendar, field, _builtins(value))
    given = calendar.holidays if data.holidays is msgspec.UNSET else _builtins(data.holidays)
    calendar.holidays = _holidays(engine, given, data.import_holidays)
    engine.check_calendar(calendar)
    await _save(session, calendar, "calendar")
    after = {f: getattr(calendar, f) for f in before}
    record(
        session,
        actor_id=actor.agent_id,
        action="sla_calendar.update",
        entity_type="sla_calendar",
        entity_id=calendar.id,
        before=before,
        after=after,
    )
    _rules_changed(session, calendar_id=calendar.id)
    return calendar


async def do_delete_calendar(session: AsyncSession, actor: Actor, calendar_id: int) -> None:
    require_admin(actor)
    calendar = await access_calendar(session, actor, calendar_id)
    used = await session.scalar(select(SlaPolicy.id).where(SlaPolicy.calendar_id == calendar.id))
    if used is not None:
        raise Conflict(f"calendar {calendar.id} is used by policy {used}", code="calendar_in_use")
    await session.delete(calendar)
    record(
        session,
        actor_id=actor.agent_id,
        action="sla_calendar.delete",
        entity_type="sla_calendar",
        entity_id=calendar_id,
        before={"name": calendar.name},
    )
    await session.flush()


# --- policies ----------------------------------------------------------------------------


async def list_policies(session: AsyncSession, actor: Actor) -> list[SlaPolicy]:
    require_supervisor(actor)
    stmt = select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id)
    return list((await session.scalars(stmt)).all())


async def access_policy(session: AsyncSession, actor: Actor, policy_id: int) -> SlaPolicy:
    require_supervisor(actor)
    policy = await session.get(SlaPolicy, policy_id)
    if policy is None:
        raise NotFound(f"policy {policy_id} does not exist")
    return policy


async def _check_calendar_id(session: AsyncSession, calendar_id: int | None) -> None:
    if calendar_id is not None and await session.get(SlaCalendar, calendar_id) is None:
        raise ValidationFailed.field("calendar_id", f"no calendar with id {calendar_id}")


async def _check_team_id(session: AsyncSession, team_id: int | None) -> None:
    if team_id is not None and await session.get(Team, team_id) is None:
        raise ValidationFailed.field("team_id", f"no team with id {team_id}")


POLICY_FIELDS = (
    "name",
    "targets",
    "calendar_id",
    "team_id",
    "conditions",
    "position",
    "pauses",
    "warning_fraction",
    "actions",
)


def _policy_values(data: PolicyCreate | PolicyUpdate) -> dict[str, Any]:
    values = {f: getattr(data, f) for f in POLICY_FIELDS if getattr(data, f) is not msgspec.UNSET}
    if "conditions" in values:  # only the conditions given: an empty list is no condition
        values["conditions"] = {k: v for k, v in _builtins(values["conditions"]).items() if v}
    return {k: v if k == "conditions" else _builtins(v) for k, v in values.items()}


async def do_create_policy(
    session: AsyncSession, actor: Actor, engine: SlaEngine, data: PolicyCreate
) -> SlaPolicy:
    require_admin(actor)
    await _check_calendar_id(session, data.calendar_id)
    await _check_team_id(session, data.team_id)
    policy = SlaPolicy(**_policy_values(data))
    engine.check_policy(policy)
    await _save(session, policy, "policy")
    record(
        session,
        actor_id=actor.agent_id,
        action="sla_policy.create",
        entity_type="sla_policy",
        entity_id=policy.id,
        after={"name": policy.name, "team_id": policy.team_id},
    )
    _rules_changed(session, policy_id=policy.id)
    return policy


async def do_update_policy(
    session: AsyncSession, actor: Actor, engine: SlaEngine, policy_id: int, data: PolicyUpdate
) -> SlaPolicy:
    require_admin(actor)
    policy = await access_policy(session, actor, policy_id)
    values = _policy_values(data)
    if "calendar_id" in values:
        await _check_calendar_id(session, values["calendar_id"])
    if "team_id" in values:
        await _check_team_id(session, values["team_id"])
    before = {f: getattr(policy, f) for f in values}
    for field, value in values.items():
        setattr(policy, field, value)
    engine.check_policy(policy)
    await _save(session, policy, "policy")
    record(
        session,
        actor_id=actor.agent_id,
        action="sla_policy.update",
        entity_type="sla_policy",
        entity_id=policy.id,
        before=before,
        after=values,
    )
    _rules_changed(session, policy_id=policy.id)
    return policy


async def do_delete_policy(session: AsyncSession, actor: Actor, policy_id: int) -> None:
    require_admin(actor)
    policy = await access_policy(session, actor, policy_id)
    await session.delete(policy)
    record(
        session,
        actor_id=actor.agent_id,
        action="sla_policy.delete",
        entity_type="sla_policy",
        entity_id=policy_id,
        before={"name": policy.name},
    )
    await session.flush()
    _rules_changed(session, policy_id=policy_id)


# --- one ticket --------------------------------------------------------------------------


async def do_override_due(
    session: AsyncSession,
    actor: Actor,
    engine: SlaEngine,
    ticket_id: int,
    data: DueOverride,
    *,
    now: datetime,
) -> Ticket:
    """Freeze (or release) one target's due time: a ticket event the SLA history reads
    as a `DueOverride`, an audit row, and the ticket's SLA recomputed."""
    require_supervisor(actor)
    ticket = await access_ticket(session, actor, ticket_id, for_update=True)
    if ticket.sla is None:
        raise ValidationFailed.field("metric", "no SLA policy applies to this ticket")
    targets = [t for t in ticket.sla.get("targets", []) if t["metric"] == data.metric]
    if not targets:
        raise ValidationFailed.field("metric", f"the ticket's policy has no {data.metric} target")
    if data.due_at is not None and data.due_at.tzinfo is None:
        raise ValidationFailed.field("due_at", "needs a time zone offset")
    due_at = data.due_at.isoformat() if data.due_at else None
    previous = targets[-1].get("due_at")
    await note_event(
        session,
        ticket,
        DUE_OVERRIDDEN,
        {"metric": data.metric, "due_at": due_at},
        actor=EventActor.agent(actor.agent_id),
        now=now,
    )
    record(
        session,
        actor_id=actor.agent_id,
        action="ticket.sla_override",
        entity_type="ticket",
        entity_id=ticket.id,
        before={"metric": data.metric, "due_at": previous},
        after={"metric": data.metric, "due_at": due_at},
    )
    await engine.recompute(session, ticket, now=now)
    return ticket


# --- breaches and tickets at risk ---------------------------------------------------------


@dataclass(frozen=True)
class Board:
    """Tickets for the board, with the name of every policy their targets come from."""

    tickets: list[Ticket]
    policy_names: dict[int, str]


async def _with_policy_names(session: AsyncSession, tickets: list[Ticket]) -> Board:
    ids = {t.sla_policy_id for t in tickets if t.sla_policy_id is not None}
    for ticket in tickets:
        targets = (ticket.sla or {}).get("targets", [])
        ids |= {t["policy_id"] for t in targets if isinstance(t.get("policy_id"), int)}
    names: dict[int, str] = {}
    if ids:
        rows = await session.execute(
            select(SlaPolicy.id, SlaPolicy.name).where(SlaPolicy.id.in_(ids))
        )
        names = {row[0]: row[1] for row in rows}
    return Board(tickets, names)


def _board(
    actor: Actor,
    *,
    team_id: int | None,
    assignee_id: int | None,
    channel: str | None,
    policy_id: int | None,
    due_after: datetime | None,
    due_before: datetime | None,
) -> Select[Ticket]:
    conditions: list[ColumnElement[bool]] = [readable_by(actor), Ticket.sla_due_at.is_not(None)]
    equal = {"team_id": team_id, "assignee_id": assignee_id, "channel": channel}
    conditions += [getattr(Ticket, f) == v for f, v in equal.items() if v is not None]
    if policy_id is not None:  # the customer policy, or a group policy of its owners
        conditions.append(
            or_(
                Ticket.sla_policy_id == policy_id,
                Ticket.sla["group_policy_ids"].contains([policy_id]),
            )
        )
    if due_after is not None:
        conditions.append(Ticket.sla_due_at >= due_after)
    if due_before is not None:
        conditions.append(Ticket.sla_due_at < due_before)
    return select(Ticket).where(*conditions).order_by(Ticket.sla_due_at, Ticket.id)


async def breached_tickets(
    session: AsyncSession, actor: Actor, *, now: datetime, limit: int, **filters: Any
) -> Board:
    """Open tickets with a target past its due time and not met, most overdue first."""
    stmt = _board(actor, **filters).where(Ticket.sla_due_at <= now).limit(limit)
    return await _with_policy_names(session, list((await session.scalars(stmt)).all()))


async def at_risk_tickets(
    session: AsyncSession,
    actor: Actor,
    *,
    now: datetime,
    within: timedelta,
    limit: int,
    **filters: Any,
) -> Board:
    """Open tickets whose next target falls due within `within`, soonest first."""
    stmt = _board(actor, **filters).where(
        Ticket.sla_due_at > now, Ticket.sla_due_at <= now + within
    )
    return await _with_policy_names(session, list((await session.scalars(stmt.limit(limit))).all()))
