"""Due times, warnings, met and breached instants of a ticket's SLA targets.

`compute_sla(policy, calendar, history, now)` is a pure function of a ticket's history
(status and priority changes, customer messages, public agent replies, manual due
overrides): recomputing it after any change gives the due times to store, and the same
history always gives the same answer.

How a clock runs: a target's cycle starts (ticket created, a customer message awaiting an
answer, ...) and is met by its stopping event. In between it runs while the ticket's
status is not one the policy pauses that metric in (and not solved or closed), and, for
business-hours targets, only while the calendar is open. A priority change re-targets the
running cycle from its start, as if it had had the new priority all along.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from routing.core.business_time import (
    ZERO,
    add_business_time,
    business_time_between,
    subtract_business_time,
)
from routing.core.calendars import BusinessCalendar
from routing.core.sla_history import (
    AgentReply,
    CustomerMessage,
    DueOverride,
    PriorityChanged,
    StatusChanged,
    TeamChanged,
    TicketHistory,
)
from routing.core.sla_policy import STOPPED_STATUSES, Metric, SlaPolicy, SlaTarget

TargetStatus = Literal["running", "paused", "met", "breached"]


@dataclass(frozen=True, slots=True)
class TargetState:
    """One cycle of one target. `due_at` is when it falls due if nothing changes (None
    while its clock stands still); `breached_at` is set once `now` has passed an unmet
    due time, or when it was met late."""

    metric: Metric
    cycle: int  # 0, 1, 2... for the metrics that recur (next response, periodic update)
    priority: str
    goal: timedelta
    business_hours: bool
    started_at: datetime
    due_at: datetime | None
    warning_at: datetime | None
    met_at: datetime | None
    breached_at: datetime | None
    overridden: bool
    # Clock time used, up to met_at or now: measured when asked (nothing stored needs it,
    # and over a long-open ticket's business days it is most of what computing costs).
    _elapsed: Callable[[], timedelta] = field(repr=False, compare=False)

    @property
    def elapsed(self) -> timedelta:
        return self._elapsed()

    @property
    def status(self) -> TargetStatus:
        if self.breached_at is not None:
            return "breached"
        if self.met_at is not None:
            return "met"
        return "running" if self.due_at is not None else "paused"


@dataclass(frozen=True, slots=True)
class SlaState:
    policy_id: int
    targets: tuple[TargetState, ...]
    next_due_at: datetime | None  # soonest due time of an unmet target (queue order)
    next_event_at: datetime | None  # soonest warning or breach still to come (scheduler)

    def to_dict(self) -> dict[str, object]:
        """The API's `sla` shape."""
        return {
            "policy_id": self.policy_id,
            "targets": [
                {
                    "metric": t.metric,
                    "cycle": t.cycle,
                    "status": t.status,
                    "due_at": _iso(t.due_at),
                    "warning_at": _iso(t.warning_at),
                    "met_at": _iso(t.met_at),
                    "breached_at": _iso(t.breached_at),
                }
                for t in self.targets
            ],
        }


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


# A running period of a clock; an open end (None) runs on from there.
Period = tuple[datetime, datetime | None]


@dataclass(frozen=True, slots=True)
class _Cycle:
    metric: Metric
    index: int
    start: datetime
    stop: datetime | None  # the meeting event


def compute_sla(
    policy: SlaPolicy,
    calendar: BusinessCalendar | None,
    history: TicketHistory,
    now: datetime,
    *,
    team_id: int | None = None,
) -> SlaState:
    """Every target cycle of the ticket under `policy`, as of `now`. A None calendar is
    around the clock. History after `now` is a caller bug and raises ValueError.

    With `team_id` it is that team's group SLA instead: a `group_ownership` cycle for each
    time the team owned the ticket, met when the ticket is solved or handed to another
    team, beside (not instead of) the customer's SLA."""
    _check_history(history, now)
    calendar = calendar or BusinessCalendar.around_the_clock()
    statuses = _status_segments(history)
    targets = []
    cycles = _cycles(history) if team_id is None else _ownership_cycles(history, team_id)
    for cycle in cycles:
        priority = _priority_at(history, cycle.stop or now)
        target = policy.target(cycle.metric, priority)
        if target is None:
            continue
        pauses = policy.pauses_for(cycle.metric) | STOPPED_STATUSES
        periods = _running_periods(statuses, pauses, cycle.start, cycle.stop)
        targets.append(
            _target_state(policy, calendar, target, cycle, periods, _override(history, cycle), now)
        )
    unmet = [t for t in targets if t.met_at is None]
    due = [t.due_at for t in unmet if t.due_at is not None]
    upcoming = [at for t in unmet for at in (t.warning_at, t.due_at) if at is not None and at > now]
    return SlaState(
        policy_id=policy.id,
        targets=tuple(targets),
        next_due_at=min(due, default=None),
        next_event_at=min(upcoming, default=None),
    )


def teams_owning(history: TicketHistory) -> list[int]:
    """Every team that has owned the ticket, in the order they first took it."""
    owners = [history.team_id] + [e.team_id for e in history.events if isinstance(e, TeamChanged)]
    return list(dict.fromkeys(t for t in owners if t is not None))


def _check_history(history: TicketHistory, now: datetime) -> None:
    previous = history.created_at
    for event in history.events:
        if event.at < previous:
            raise ValueError("history events must be in time order from created_at")
        previous = event.at
    if previous > now:
        raise ValueError("history reaches past now")


def _status_segments(history: TicketHistory) -> list[tuple[datetime, str]]:
    """(from, status) in time order; each holds until the next."""
    return [(history.created_at, history.status)] + [
        (event.at, event.status) for event in history.events if isinstance(event, StatusChanged)
    ]


def _priority_at(history: TicketHistory, at: datetime) -> str:
    priority = history.priority
    for event in history.events:
        if event.at > at:
            break
        if isinstance(event, PriorityChanged):
            priority = event.priority
    return priority


def _cycles(history: TicketHistory) -> list[_Cycle]:
    created = history.created_at
    replies = [e.at for e in history.events if isinstance(e, AgentReply)]
    cycles = [_Cycle("first_response", 0, created, replies[0] if replies else None)]

    # A customer message opens a next-response cycle when nothing of theirs awaits an
    # answer yet; the first one before any reply is the first response's business.
    awaiting: datetime | None = None
    answered_once = False
    index = 0
    for event in history.events:
        if isinstance(event, AgentReply):
            if awaiting is not None:
                cycles.append(_Cycle("next_response", index, awaiting, event.at))
                index += 1
                awaiting = None
            answered_once = True
        elif isinstance(event, CustomerMessage) and answered_once and awaiting is None:
            awaiting = event.at
    if awaiting is not None:
        cycles.append(_Cycle("next_response", index, awaiting, None))

    for index, reply in enumerate(replies):
        following = replies[index + 1] if index + 1 < len(replies) else None
        cycles.append(_Cycle("periodic_update", index, reply, following))

    final = _status_segments(history)[-1]
    solved_at = final[0] if final[1] in STOPPED_STATUSES else None
    cycles.extend(
        _Cycle(metric, 0, created, solved_at)
        for metric in ("resolution", "requester_wait", "agent_work")
    )
    return cycles


def _ownership_cycles(history: TicketHistory, team_id: int) -> list[_Cycle]:
    owners = [(history.created_at, history.team_id)] + [
        (e.at, e.team_id) for e in history.events if isinstance(e, TeamChanged)
    ]
    final = _status_segments(history)[-1]
    solved_at = final[0] if final[1] in STOPPED_STATUSES else None
    cycles: list[_Cycle] = []
    for i, (start, owner) in enumerate(owners):
        if owner != team_id:
            continue
        handed_off = owners[i + 1][0] if i + 1 < len(owners) else None
        stop = handed_off
        if (
            solved_at is not None
            and solved_at >= start
            and (handed_off is None or solved_at < handed_off)
        ):
            stop = solved_at  # solved while this team owned it
        cycles.append(_Cycle("group_ownership", len(cycles), start, stop))
    return cycles


def _running_periods(
    statuses: Sequence[tuple[datetime, str]],
    pauses: frozenset[str],
    start: datetime,
    stop: datetime | None,
) -> list[Period]:
    """The periods from `start` in which the clock runs. Cut at `stop`, except that the
    period running at `stop` is left open: that is the due time as it stood when met."""
    periods: list[Period] = []
    for i, (begin, status) in enumerate(statuses):
        end = statuses[i + 1][0] if i + 1 < len(statuses) else None
        if end is not None and end <= start:
            continue
        if stop is not None and begin > stop:
            break
        if status in pauses:
            continue
        a = max(begin, start)
        open_at_stop = stop is not None and (end is None or end > stop)
        periods.append((a, None if open_at_stop else end))
    return periods


def _override(history: TicketHistory, cycle: _Cycle) -> DueOverride | None:
    found = None
    for event in history.events:
        if cycle.stop is not None and event.at > cycle.stop:
            break
        if (
            isinstance(event, DueOverride)
            and event.metric == cycle.metric
            and event.at >= cycle.start
        ):
            found = event
    return found


def _target_state(
    policy: SlaPolicy,
    calendar: BusinessCalendar,
    target: SlaTarget,
    cycle: _Cycle,
    periods: list[Period],
    override: DueOverride | None,
    now: datetime,
) -> TargetState:
    if target.business_hours:

        def measure(a: datetime, b: datetime) -> timedelta:
            return business_time_between(calendar, a, b)

        def reach(a: datetime, amount: timedelta) -> datetime:
            return add_business_time(calendar, a, amount)

    else:

        def measure(a: datetime, b: datetime) -> timedelta:
            return b - a

        def reach(a: datetime, amount: timedelta) -> datetime:
            return a + amount

    warn_amount = target.goal * policy.warning_fraction
    frozen = override.due_at if override is not None else None  # None: lifted
    due_at: datetime | None
    warning_at: datetime | None
    if frozen is not None:
        due_at = frozen
        warning_at = (
            subtract_business_time(calendar, frozen, target.goal - warn_amount)
            if target.business_hours
            else frozen - (target.goal - warn_amount)
        )
    else:
        due_at = _instant_reaching(periods, target.goal, measure, reach)
        warning_at = _instant_reaching(periods, warn_amount, measure, reach)

    until = cycle.stop or now

    def elapsed() -> timedelta:
        return sum((measure(a, min(b or until, until)) for a, b in periods if a < until), ZERO)

    if cycle.stop is not None:
        breached_at = due_at if due_at is not None and due_at < cycle.stop else None
    else:
        breached_at = due_at if due_at is not None and due_at <= now else None
    return TargetState(
        metric=cycle.metric,
        cycle=cycle.index,
        priority=target.priority,
        goal=target.goal,
        business_hours=target.business_hours,
        started_at=cycle.start,
        due_at=due_at,
        warning_at=warning_at,
        met_at=cycle.stop,
        breached_at=breached_at,
        overridden=frozen is not None,
        _elapsed=elapsed,
    )


def _instant_reaching(
    periods: list[Period],
    amount: timedelta,
    measure: Callable[[datetime, datetime], timedelta],
    reach: Callable[[datetime, timedelta], datetime],
) -> datetime | None:
    """When the clock has run `amount`, or None if it stops before that."""
    remaining = amount
    for a, b in periods:
        if b is None:
            return reach(a, remaining)
        ran = measure(a, b)
        if remaining <= ran:
            return reach(a, remaining)
        remaining -= ran
    return None
