"""From computed target states to what a ticket stores, and what is due to fire.

Pure: `stored_sla` turns `compute_sla`'s answer into the ticket's `sla` (the API shape),
its soonest due time and the next moment the scheduler must wake for it; `due_moments`
says which warnings and breaches are due at `now`. A moment is named
"<metric>:<cycle>:<kind>" in `tickets.sla_fired` once recorded, so none fires twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from routing.core.sla_policy import STOPPED_STATUSES
from routing.core.sla_timeline import TargetState

# Group targets (a team's own clock) are numbered per team; in the stored cycle the team
# comes first so two teams' cycles never share a number.
GROUP_CYCLE_BASE = 10_000


def moment(metric: str, cycle: int, kind: str) -> str:
    return f"{metric}:{cycle}:{kind}"


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def group_cycle(team_id: int, cycle: int) -> int:
    return team_id * GROUP_CYCLE_BASE + cycle


@dataclass(frozen=True, slots=True)
class Entry:
    """A computed target as it is stored: under which cycle number, from which policy,
    and for a group target the team whose clock it is (None: the customer's)."""

    state: TargetState
    cycle: int
    policy_id: int
    team_id: int | None = None


@dataclass(frozen=True)
class Stored:
    sla: dict[str, Any] | None
    policy_id: int | None  # the customer policy (None: only group policies apply, or none)
    due_at: datetime | None
    next_event_at: datetime | None
    # Targets met (or met late) since the last recomputation: recorded by the caller.
    newly_met: tuple[Entry, ...] = ()


def target_json(entry: Entry) -> dict[str, Any]:
    t = entry.state
    return {
        "metric": t.metric,
        "cycle": entry.cycle,
        "policy_id": entry.policy_id,
        "team_id": entry.team_id,
        "status": t.status,
        "started_at": _iso(t.started_at),
        "due_at": _iso(t.due_at),
        "warning_at": _iso(t.warning_at),
        "met_at": _iso(t.met_at),
        "breached_at": _iso(t.breached_at),
        "overridden": t.overridden,
    }


def stored_sla(
    policy_id: int | None,
    entries: Sequence[Entry],
    *,
    status: str,
    fired: Iterable[str],
    group_policy_ids: Sequence[int] = (),
) -> Stored:
    """`entries`: the customer policy's targets, then the group policies' (whose ids are
    `group_policy_ids`, shown even before any of their targets starts)."""
    if policy_id is None and not group_policy_ids:
        return Stored(None, None, None, None)
    fired = set(fired)
    sla: dict[str, Any] = {
        "policy_id": policy_id,
        "group_policy_ids": list(group_policy_ids),
        "targets": [target_json(e) for e in entries],
    }
    newly_met = tuple(
        e
        for e in entries
        if e.state.met_at is not None and moment(e.state.metric, e.cycle, "met") not in fired
    )
    if status in STOPPED_STATUSES:
        return Stored(sla, policy_id, None, None, newly_met)
    running = [e for e in entries if e.state.met_at is None and e.state.due_at is not None]
    due_at = min((e.state.due_at for e in running if e.state.due_at), default=None)
    upcoming = [
        at
        for e in running
        for at, kind in ((e.state.warning_at, "warning"), (e.state.due_at, "breached"))
        if at is not None and moment(e.state.metric, e.cycle, kind) not in fired
    ]
    return Stored(sla, policy_id, due_at, min(upcoming, default=None), newly_met)


@dataclass(frozen=True)
class Due:
    metric: str
    cycle: int
    kind: str  # warning or breached
    at: datetime  # when it was due
    due_at: datetime
    started_at: datetime
    policy_id: int | None = None  # None: stored before targets named theirs
    team_id: int | None = None  # a group target's team

    @property
    def key(self) -> str:
        return moment(self.metric, self.cycle, self.kind)


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def due_moments(sla: dict[str, Any] | None, fired: Iterable[str], now: datetime) -> list[Due]:
    """The warnings and breaches of unmet targets due at `now` and not yet fired. A
    warning whose target is already due is dropped: its breach says more."""
    if not sla:
        return []
    fired = set(fired)
    found = []
    for target in sla.get("targets", []):
        due_at = _parse(target.get("due_at"))
        if target.get("met_at") is not None or due_at is None:
            continue
        metric, cycle = target["metric"], int(target["cycle"])
        warning_at = _parse(target.get("warning_at"))
        started = _parse(target.get("started_at")) or due_at
        owner = (target.get("policy_id"), target.get("team_id"))
        if due_at <= now:
            if moment(metric, cycle, "breached") not in fired:
                found.append(Due(metric, cycle, "breached", due_at, due_at, started, *owner))
        elif (
            warning_at is not None
            and warning_at <= now
            and moment(metric, cycle, "warning") not in fired
        ):
            found.append(Due(metric, cycle, "warning", warning_at, due_at, started, *owner))
    return sorted(found, key=lambda d: d.at)


def next_event_at(sla: dict[str, Any] | None, fired: Iterable[str]) -> datetime | None:
    """The next moment still to fire, from the stored targets."""
    if not sla:
        return None
    fired = set(fired)
    found = []
    for target in sla.get("targets", []):
        due_at = _parse(target.get("due_at"))
        if target.get("met_at") is not None or due_at is None:
            continue
        metric, cycle = target["metric"], int(target["cycle"])
        if moment(metric, cycle, "breached") not in fired:
            found.append(due_at)
        warning_at = _parse(target.get("warning_at"))
        if warning_at is not None and moment(metric, cycle, "warning") not in fired:
            found.append(warning_at)
    return min(found, default=None)


def mark_breached(sla: dict[str, Any], due: Due) -> dict[str, Any]:
    """The stored `sla` with this target shown breached at its due time."""
    targets = []
    for target in sla.get("targets", []):
        if target["metric"] == due.metric and int(target["cycle"]) == due.cycle:
            target = {**target, "status": "breached", "breached_at": due.due_at.isoformat()}
        targets.append(target)
    return {**sla, "targets": targets}
