"""Calendars and policies as `routing.core` objects, built from their rows and checked.

A row that makes no calendar or policy is a `ValidationFailed` naming the field, so the
API refuses it before it is stored. Built objects are kept per (id, updated_at): a
calendar remembers its openings per date, which is most of what recomputing costs.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.rules_cache import RULES
from app.errors import ValidationFailed
from app.sla.models import SlaCalendar, SlaPolicy
from routing.core.calendars import WEEKDAYS, BusinessCalendar, CalendarError, country_holidays
from routing.core.sla_policy import Metric, PolicyError, SlaTarget
from routing.core.sla_policy import SlaPolicy as CorePolicy

_calendars: dict[tuple[int, Any], BusinessCalendar] = {}
_CACHE_LIMIT = 256


def build_calendar(row: SlaCalendar) -> BusinessCalendar:
    hours = {day: [tuple(span) for span in row.hours.get(day, [])] for day in WEEKDAYS}
    try:
        return BusinessCalendar.from_hours(
            row.time_zone,
            {day: spans for day, spans in hours.items() if spans},
            holidays={date.fromisoformat(h["date"]): h.get("name", "") for h in row.holidays},
            exceptions={
                date.fromisoformat(e["date"]): [tuple(span) for span in e.get("hours", [])]
                for e in row.exceptions
            },
        )
    except CalendarError as error:
        raise ValidationFailed.field(_calendar_field(str(error)), str(error)) from None


def _calendar_field(message: str) -> str:
    if "time zone" in message:
        return "time_zone"
    for day in WEEKDAYS:
        if message.startswith(f"{day}:"):
            return f"hours.{day}"
    if message[:4].isdigit():
        return "exceptions"
    return "hours"


def calendar_of(row: SlaCalendar) -> BusinessCalendar:
    key = (row.id, row.updated_at)
    found = _calendars.get(key)
    if found is None:
        if len(_calendars) >= _CACHE_LIMIT:
            _calendars.clear()
        found = _calendars[key] = build_calendar(row)
    return found


def _check_group_targets(row: SlaPolicy) -> None:
    """A group policy promises only the team's own time; a customer policy never does."""
    for i, target in enumerate(row.targets):
        group = target.get("metric") == "group_ownership"
        if row.team_id is not None and not group:
            raise ValidationFailed.field(
                f"targets[{i}].metric",
                "a group policy (with a team_id) has group_ownership targets",
            )
        if row.team_id is None and group:
            raise ValidationFailed.field(
                f"targets[{i}].metric", "group_ownership needs a group policy (give its team_id)"
            )


def build_policy(row: SlaPolicy) -> CorePolicy:
    _check_group_targets(row)
    try:
        targets = tuple(
            SlaTarget(
                metric=cast("Metric", t["metric"]),
                priority=str(t["priority"]),
                goal=timedelta(minutes=int(t["minutes"])),
                business_hours=bool(t.get("business_hours", True)),
            )
            for t in row.targets
        )
        return CorePolicy(
            id=row.id or 0,
            targets=targets,
            conditions={k: frozenset(str(v) for v in vs) for k, vs in row.conditions.items()},
            pauses={cast("Metric", m): frozenset(s) for m, s in row.pauses.items()},
            warning_fraction=float(row.warning_fraction),
            position=row.position or 0,
            team_id=row.team_id,
        )
    except PolicyError as error:
        message = str(error)
        field, _, detail = message.partition(": ")
        raise ValidationFailed.field(field or "targets", detail or message) from None


def holidays_of(country: str, years: Sequence[int], subdivision: str | None) -> dict[date, str]:
    try:
        return country_holidays(country, years, subdivision=subdivision)
    except CalendarError as error:
        field = "import_holidays.subdivision" if subdivision else "import_holidays.country"
        raise ValidationFailed.field(field, str(error)) from None


@dataclass(frozen=True)
class RuleBook:
    """Every policy in the order they are tried, with the calendar each one counts in
    (None: around the clock)."""

    policies: tuple[CorePolicy, ...]
    calendars: dict[int, BusinessCalendar | None]
    # Each policy's `actions` (kind -> actions), copied from its row: a rule book outlives
    # the session that read it (app.db.rules_cache).
    actions: dict[int, dict[str, list[dict[str, Any]]]]

    @property
    def has_group_policies(self) -> bool:
        return any(p.team_id is not None for p in self.policies)

    def calendar_for(self, policy_id: int) -> BusinessCalendar | None:
        return self.calendars.get(policy_id)

    def actions_for(self, policy_id: int, kind: str) -> list[dict[str, Any]]:
        return list(self.actions.get(policy_id, {}).get(kind, []))


async def load_rules(session: AsyncSession) -> RuleBook:
    """Every policy and its calendar, from the process's rules cache (a change is seen by
    the next recomputation: see app.db.rules_cache)."""
    return await RULES.get(session, "sla", read_rules)


async def read_rules(session: AsyncSession) -> RuleBook:
    policies = (
        await session.scalars(select(SlaPolicy).order_by(SlaPolicy.position, SlaPolicy.id))
    ).all()
    if not policies:
        return RuleBook((), {}, {})
    ids = {p.calendar_id for p in policies if p.calendar_id is not None}
    calendars = (
        {
            c.id: calendar_of(c)
            for c in (
                await session.scalars(select(SlaCalendar).where(SlaCalendar.id.in_(ids)))
            ).all()
        }
        if ids
        else {}
    )
    return RuleBook(
        policies=tuple(build_policy(p) for p in policies),
        calendars={p.id: calendars.get(p.calendar_id) if p.calendar_id else None for p in policies},
        actions={p.id: copy.deepcopy(dict(p.actions or {})) for p in policies},
    )


def policy_ids_using(rows: Iterable[SlaPolicy], calendar_id: int) -> list[int]:
    return [p.id for p in rows if p.calendar_id == calendar_id]
