"""Properties of SLA clocks over random ticket histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from routing.core.business_time import add_business_time
from routing.core.calendars import BusinessCalendar
from routing.core.sla_history import (
    AgentReply,
    CustomerMessage,
    HistoryEvent,
    StatusChanged,
    TicketHistory,
)
from routing.core.sla_policy import METRICS, SlaPolicy, SlaTarget
from routing.core.sla_timeline import compute_sla

START = datetime(2026, 3, 2, 8, tzinfo=UTC)
CALENDARS = [
    None,
    BusinessCalendar.from_hours(
        "America/New_York", {d: [("09:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")}
    ),
]


@st.composite
def histories(draw: st.DrawFn) -> TicketHistory:
    events: list[HistoryEvent] = []
    moment = START
    for _ in range(draw(st.integers(0, 12))):
        moment += draw(st.timedeltas(timedelta(0), timedelta(hours=30)))
        kind = draw(st.sampled_from(["status", "customer", "agent"]))
        if kind == "status":
            status = draw(st.sampled_from(["open", "pending", "on_hold", "solved"]))
            events.append(StatusChanged(moment, status))
        else:
            events.append(CustomerMessage(moment) if kind == "customer" else AgentReply(moment))
    return TicketHistory(START, "new", "normal", tuple(events))


@st.composite
def policies(draw: st.DrawFn) -> SlaPolicy:
    goals = draw(st.lists(st.integers(1, 3000), min_size=len(METRICS), max_size=len(METRICS)))
    business = draw(st.booleans())
    return SlaPolicy(1, tuple(
        SlaTarget(metric, "normal", timedelta(minutes=m), business_hours=business)
        for metric, m in zip(METRICS, goals, strict=True)
    ))  # fmt: skip


waits = st.timedeltas(timedelta(0), timedelta(days=3))


def last_event(history: TicketHistory) -> datetime:
    return history.events[-1].at if history.events else history.created_at


@settings(max_examples=150, deadline=None)
@given(
    policies(),
    st.sampled_from(CALENDARS),
    histories(),
    st.timedeltas(timedelta(0), timedelta(days=3)),
)
def test_a_running_target_falls_due_when_its_clock_has_run_its_goal(
    policy: SlaPolicy, calendar: BusinessCalendar | None, history: TicketHistory, wait: timedelta
) -> None:  # fmt: skip
    now = last_event(history) + wait
    for state in compute_sla(policy, calendar, history, now).targets:
        if state.status != "running":
            continue
        # Nothing happens until the due time: then exactly the goal has been used and the
        # breach is there, and a microsecond before it is not.
        at_due = compute_sla(policy, calendar, history, state.due_at)  # type: ignore[arg-type]
        same = next(t for t in at_due.targets if (t.metric, t.cycle) == (state.metric, state.cycle))
        assert same.elapsed == state.goal
        assert same.breached_at == state.due_at
        just_before = state.due_at - timedelta(microseconds=1)  # type: ignore[operator]
        if just_before >= last_event(history):
            early = compute_sla(policy, calendar, history, just_before)
            assert all(t.breached_at is None for t in early.targets
                       if (t.metric, t.cycle) == (state.metric, state.cycle))  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    policies(),
    st.sampled_from(CALENDARS),
    histories(),
    st.timedeltas(timedelta(0), timedelta(days=3)),
)
def test_pauses_only_ever_delay_a_due_time_and_breaches_are_consistent(
    policy: SlaPolicy, calendar: BusinessCalendar | None, history: TicketHistory, wait: timedelta
) -> None:  # fmt: skip
    now = last_event(history) + wait
    state = compute_sla(policy, calendar, history, now)
    for t in state.targets:
        if t.due_at is not None:
            earliest = (
                add_business_time(calendar, t.started_at, t.goal)
                if calendar is not None and t.business_hours
                else t.started_at + t.goal
            )
            assert t.due_at >= earliest
        # Breached exactly when the clock used up its goal before it was met.
        if t.breached_at is None:
            assert t.elapsed <= t.goal if t.met_at else t.elapsed < t.goal
        else:
            assert t.elapsed >= t.goal
        assert t.warning_at is None or t.due_at is None or t.warning_at <= t.due_at
    unmet_due = [t.due_at for t in state.targets if t.met_at is None and t.due_at is not None]
    assert state.next_due_at == min(unmet_due, default=None)
