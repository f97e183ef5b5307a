"""Reports over a date range, grouped by team, agent, channel or policy: new and solved
tickets, first-response, resolution and group-ownership times (median, 90th percentile)
and SLA compliance per target. Times and compliance come from the recorded target events
(sla_target_events), so they are exactly what the SLA clocks said, business hours
included in the due times. A group target's events carry the team whose clock it was, so
by team each team's own compliance (`group_ownership`) stands beside the customer's."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.auth.actor import Actor, require_supervisor
from app.errors import ValidationFailed
from app.sla.models import SlaPolicy, SlaTargetEvent
from app.tickets.models import Ticket

GroupBy = Literal["team", "agent", "channel", "policy"]
COLUMNS = {"team": "team_id", "agent": "assignee_id", "channel": "channel"}
EVENT_COLUMNS = {**COLUMNS, "policy": "policy_id"}
TICKET_COLUMNS = {**COLUMNS, "policy": "sla_policy_id"}  # new and solved: the customer's
TIMED = ("first_response", "resolution", "group_ownership")


@dataclass
class Row:
    key: str | None  # the team, agent or policy id (as text) or the channel; None: none
    new: int = 0
    solved: int = 0
    times: dict[str, dict[str, float | None]] = field(default_factory=dict)
    compliance: dict[str, dict[str, Any]] = field(default_factory=dict)


def _key(value: Any) -> str | None:
    return None if value is None else str(value)


async def sla_report(
    session: AsyncSession,
    actor: Actor,
    *,
    since: datetime,
    until: datetime,
    group_by: GroupBy,
) -> list[Row]:
    require_supervisor(actor)
    if until <= since:
        raise ValidationFailed.field("until", "must be after since")
    rows: dict[str | None, Row] = {}

    def row(key: Any) -> Row:
        k = _key(key)
        return rows.setdefault(k, Row(k))

    dim = getattr(Ticket, TICKET_COLUMNS[group_by])
    for key, count in await session.execute(
        select(dim, func.count())
        .where(Ticket.created_at >= since, Ticket.created_at < until)
        .group_by(dim)
    ):
        row(key).new = count
    for key, count in await session.execute(
        select(dim, func.count())
        .where(Ticket.solved_at >= since, Ticket.solved_at < until)
        .group_by(dim)
    ):
        row(key).solved = count

    event_dim = getattr(SlaTargetEvent, EVENT_COLUMNS[group_by])
    in_range = and_(SlaTargetEvent.at >= since, SlaTargetEvent.at < until)
    seconds = func.extract("epoch", SlaTargetEvent.at - SlaTargetEvent.started_at)
    for key, metric, median, p90 in await session.execute(
        select(
            event_dim,
            SlaTargetEvent.metric,
            func.percentile_cont(0.5).within_group(seconds),
            func.percentile_cont(0.9).within_group(seconds),
        )
        .where(in_range, SlaTargetEvent.kind == "met", SlaTargetEvent.metric.in_(TIMED))
        .group_by(event_dim, SlaTargetEvent.metric)
    ):
        row(key).times[metric] = {"median_seconds": median, "p90_seconds": p90}

    breach = aliased(SlaTargetEvent)
    late = exists().where(
        breach.ticket_id == SlaTargetEvent.ticket_id,
        breach.metric == SlaTargetEvent.metric,
        breach.cycle == SlaTargetEvent.cycle,
        breach.kind == "breached",
    )
    on_time = func.count().filter(SlaTargetEvent.kind == "met", ~late)
    breached = func.count().filter(SlaTargetEvent.kind == "breached")
    for key, metric, met_count, breached_count in await session.execute(
        select(event_dim, SlaTargetEvent.metric, on_time, breached)
        .where(in_range, SlaTargetEvent.kind.in_(("met", "breached")))
        .group_by(event_dim, SlaTargetEvent.metric)
    ):
        total = met_count + breached_count
        row(key).compliance[metric] = {
            "met": met_count,
            "breached": breached_count,
            "rate": met_count / total if total else None,
        }
    return sorted(rows.values(), key=lambda r: (r.key is None, r.key or ""))


async def policy_names(session: AsyncSession, rows: list[Row]) -> dict[str, str]:
    """For a report by policy: each row key's policy name."""
    ids = [int(r.key) for r in rows if r.key is not None]
    if not ids:
        return {}
    found = await session.execute(select(SlaPolicy.id, SlaPolicy.name).where(SlaPolicy.id.in_(ids)))
    return {str(row[0]): row[1] for row in found}


def report_csv(rows: list[Row], group_by: str, names: dict[str, str] | None = None) -> str:
    metrics = sorted({m for r in rows for m in r.compliance})
    out = io.StringIO()
    writer = csv.writer(out)
    header = [group_by, *(["name"] if names is not None else []), "new", "solved"]
    for timed in TIMED:
        header += [f"{timed}_median_seconds", f"{timed}_p90_seconds"]
    for metric in metrics:
        header += [f"{metric}_met", f"{metric}_breached", f"{metric}_compliance"]
    writer.writerow(header)
    for r in rows:
        named = [names.get(r.key or "", "")] if names is not None else []
        line: list[Any] = [r.key or "", *named, r.new, r.solved]
        for timed in TIMED:
            t = r.times.get(timed, {})
            line += [_num(t.get("median_seconds")), _num(t.get("p90_seconds"))]
        for metric in metrics:
            c = r.compliance.get(metric, {})
            line += [c.get("met", 0), c.get("breached", 0), _num(c.get("rate"))]
        writer.writerow(line)
    return out.getvalue()


def _num(value: Any) -> str:
    return "" if value is None else f"{float(value):.3f}".rstrip("0").rstrip(".")
