"""Properties of business-time arithmetic over random calendars, zones and instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from routing.core.business_time import (
    add_business_time,
    business_time_between,
    subtract_business_time,
    walk_add,
    walk_between,
    walk_subtract,
)
from routing.core.calendars import DAY_MINUTES, BusinessCalendar, Span

# Zones with daylight saving in both hemispheres, a half-hour change (Lord Howe) and none.
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC",
         "America/Sao_Paulo"]  # fmt: skip


@st.composite
def day_spans(draw: st.DrawFn) -> tuple[Span, ...]:
    # Quarter-hour boundaries, so spans start and end inside changing hours too.
    cuts = draw(st.lists(st.integers(0, DAY_MINUTES // 15), max_size=4, unique=True))
    cuts = sorted(c * 15 for c in cuts)
    return tuple(zip(cuts[::2], cuts[1::2], strict=False))


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    weekly = tuple(draw(day_spans()) for _ in range(7))
    if not any(weekly):
        weekly = (((9 * 60, 17 * 60),),) * 7
    holidays = draw(st.sets(st.dates(date(2026, 1, 1), date(2026, 12, 31)), max_size=20))
    return BusinessCalendar(draw(st.sampled_from(ZONES)), weekly, dict.fromkeys(holidays, ""))


instants = st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC))
durations = st.timedeltas(timedelta(0), timedelta(days=20))


def inside_an_opening(calendar: BusinessCalendar, at: datetime) -> bool:
    day = calendar.local_date(at)
    return any(
        a <= at <= b
        for d in (day - timedelta(days=1), day, day + timedelta(days=1))
        for a, b in calendar.openings_on(d)
    )


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, durations)
def test_adding_then_measuring_gives_back_the_duration(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    due = add_business_time(calendar, start, duration)
    assert due >= start
    assert business_time_between(calendar, start, due) == duration
    assert inside_an_opening(calendar, due)


@settings(max_examples=150, deadline=None)
@given(calendars(), instants, durations)
def test_subtracting_then_measuring_gives_back_the_duration(
    calendar: BusinessCalendar, end: datetime, duration: timedelta
) -> None:
    start = subtract_business_time(calendar, end, duration)
    assert start <= end
    assert business_time_between(calendar, start, end) == duration
    assert inside_an_opening(calendar, start)


@settings(max_examples=100, deadline=None)
@given(calendars(), instants, durations, st.timedeltas(timedelta(seconds=1), timedelta(days=5)))
def test_adding_in_two_steps_is_adding_once(
    calendar: BusinessCalendar, start: datetime, first: timedelta, second: timedelta
) -> None:
    stepwise = add_business_time(calendar, add_business_time(calendar, start, first), second)
    assert stepwise == add_business_time(calendar, start, first + second)


@settings(max_examples=100, deadline=None)
@given(calendars(), instants, st.timedeltas(timedelta(0), timedelta(days=9)),
       st.timedeltas(timedelta(0), timedelta(days=9)))  # fmt: skip
def test_measuring_is_additive_and_never_more_than_wall_time(
    calendar: BusinessCalendar, start: datetime, one: timedelta, two: timedelta
) -> None:
    middle, end = start + one, start + one + two
    whole = business_time_between(calendar, start, end)
    assert whole == business_time_between(calendar, start, middle) + business_time_between(
        calendar, middle, end
    )
    assert timedelta(0) <= whole <= end - start


# Instants years apart too, so the index widens (or leaves the question to the walk).
far_instants = st.datetimes(datetime(2000, 1, 1), datetime(2060, 12, 31), timezones=st.just(UTC))


@settings(max_examples=200, deadline=None)
@given(calendars(), st.lists(st.tuples(st.one_of(instants, far_instants), durations), min_size=1,
                             max_size=6))  # fmt: skip
def test_the_index_answers_what_the_walk_answers(
    calendar: BusinessCalendar, questions: list[tuple[datetime, timedelta]]
) -> None:
    """The openings index is an accelerator: every answer is the walk's, to the
    microsecond, whatever the order the questions widen it in."""
    for at, duration in questions:
        assert add_business_time(calendar, at, duration) == walk_add(calendar, at, duration)
        assert subtract_business_time(calendar, at, duration) == walk_subtract(
            calendar, at, duration
        )
        later = at + duration
        assert business_time_between(calendar, at, later) == walk_between(calendar, at, later)
