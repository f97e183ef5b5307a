"""Business-time arithmetic over a calendar: exact (timedelta, microseconds), in UTC.

The rule every function keeps: business time is the length of the calendar's openings
that lie between two instants. Adding then measuring gives back what was added, and a
result of adding or subtracting is always inside (or at an edge of) an opening.

Each calendar gets an index of its openings over a window of dates (built once, widened
when a question falls outside it): their starts, ends and the business time before each,
so every answer is a bisection instead of a walk day by day. Recomputing a hundred
thousand tickets after a calendar change asks millions of these. The walk stays as the
definition, and answers what the index cannot: instants far outside any window, and
calendars whose openings overlap (a span ending at 24:00 in a repeated midnight hour) or
that stay closed for so long that the walk gives up (MAX_CLOSED_DAYS).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

from routing.core.calendars import BusinessCalendar, CalendarError, Interval

# Past this many consecutive closed days the calendar is treated as never opening again
# (a calendar closed for a year is a configuration error, not a long weekend).
MAX_CLOSED_DAYS = 400
ZERO = timedelta(0)
ONE_DAY = timedelta(days=1)
# The index's first window around the first date asked about, and the most it widens to.
INDEX_BEFORE = timedelta(days=60)
INDEX_AFTER = timedelta(days=400)
INDEX_MAX_DAYS = 20 * 366
INDEX_KEY = "business_time.openings"  # in the calendar's memo


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("business time needs aware datetimes")
    return at.astimezone(UTC)


def openings_from(calendar: BusinessCalendar, start: datetime) -> Iterator[Interval]:
    """Openings in time order, the first clipped to begin no earlier than `start`."""
    start = _utc(start)
    # The day before too: a span ending at 24:00 local can reach past a UTC midnight.
    day = calendar.local_date(start) - ONE_DAY
    closed = 0
    while True:
        openings = calendar.openings_on(day)
        closed = 0 if openings else closed + 1
        if closed > MAX_CLOSED_DAYS:
            raise CalendarError(f"the calendar does not open after {day.isoformat()}")
        for a, b in openings:
            if b > start:
                yield max(a, start), b
        day += ONE_DAY


def openings_until(calendar: BusinessCalendar, end: datetime) -> Iterator[Interval]:
    """Openings in reverse time order, the first clipped to end no later than `end`."""
    end = _utc(end)
    day = calendar.local_date(end) + ONE_DAY
    closed = 0
    while True:
        openings = calendar.openings_on(day)
        closed = 0 if openings else closed + 1
        if closed > MAX_CLOSED_DAYS:
            raise CalendarError(f"the calendar was not open before {day.isoformat()}")
        for a, b in reversed(openings):
            if a < end:
                yield a, min(b, end)
        day -= ONE_DAY


@dataclass
class _Index:
    """The openings of the local dates `first`..`last`, in time order, none overlapping;
    `before[i]` is the business time of the openings before the i-th, `after[i]` that
    and the i-th. It answers for instants in [`lo`, `hi`): their local dates lie inside
    the window with a day to spare (an opening of the day before can reach past
    midnight), whatever the zone's offset (never more than 14 hours)."""

    first: date
    last: date
    starts: list[datetime]
    ends: list[datetime]
    before: list[timedelta]
    after: list[timedelta]
    usable: bool  # False: overlapping openings, or a closed stretch the walk gives up on
    lo: datetime = field(init=False)
    hi: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.lo = datetime.combine(self.first + 2 * ONE_DAY, time(0), UTC)
        self.hi = datetime.combine(self.last - ONE_DAY, time(0), UTC)

    def measure(self, at: datetime) -> timedelta:
        """Business time from the index's first opening to `at`."""
        i = bisect_right(self.starts, at) - 1
        if i < 0:
            return ZERO
        return self.before[i] + (min(at, self.ends[i]) - self.starts[i])


def _build(calendar: BusinessCalendar, first: date, last: date) -> _Index:
    index = _Index(first, last, [], [], [], [], usable=True)
    total, closed, day = ZERO, 0, first
    while day <= last:
        openings = calendar.openings_on(day)
        closed = 0 if openings else closed + 1
        if closed >= MAX_CLOSED_DAYS - 2:
            index.usable = False
        for a, b in openings:
            if index.ends and a < index.ends[-1]:
                index.usable = False
            index.starts.append(a)
            index.ends.append(b)
            index.before.append(total)
            total += b - a
            index.after.append(total)
        day += ONE_DAY
    return index


def _index(calendar: BusinessCalendar, first: datetime, last: datetime) -> _Index | None:
    """The calendar's index, widened to answer for instants from `first` to `last` (UTC);
    None where the walk must answer."""
    index = cast("_Index | None", calendar.memo.get(INDEX_KEY))
    if index is not None and index.lo <= first and last < index.hi:
        return index if index.usable else None
    days = (calendar.local_date(first) - INDEX_BEFORE, calendar.local_date(last) + INDEX_AFTER)
    if index is not None:
        days = (min(days[0], index.first), max(days[1], index.last))
    if (days[1] - days[0]).days > INDEX_MAX_DAYS:
        return None  # a question decades away from the others: walk
    index = _build(calendar, *days)
    calendar.memo[INDEX_KEY] = index
    return index if index.usable else None


def _add_indexed(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> datetime | None:
    index = _index(calendar, start, start)
    if index is None:
        return None
    target = index.measure(start) + duration
    # The first opening ending after `start` whose end is at least `target` along.
    i = bisect_left(index.after, target, lo=bisect_right(index.ends, start))
    if i == len(index.after):
        return None  # past the window: the walk goes on (and gives up where it must)
    return index.starts[i] + (target - index.before[i])


def _subtract_indexed(
    calendar: BusinessCalendar, end: datetime, duration: timedelta
) -> datetime | None:
    index = _index(calendar, end, end)
    if index is None:
        return None
    target = index.measure(end) - duration
    # The last opening starting before `end` that starts at most `target` along.
    i = bisect_right(index.before, target, hi=bisect_left(index.starts, end)) - 1
    if i < 0 or target < ZERO:
        return None
    return index.starts[i] + (target - index.before[i])


def add_business_time(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """The instant at which `duration` of business time has passed since `start`. With a
    zero duration that is the next moment the calendar is open (start itself if open)."""
    if duration < ZERO:
        return subtract_business_time(calendar, start, -duration)
    if calendar.always_open:
        return _utc(start) + duration
    found = _add_indexed(calendar, _utc(start), duration)
    return found if found is not None else walk_add(calendar, start, duration)


def walk_add(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """`add_business_time` by walking the openings from `start` (its definition)."""
    remaining = duration
    for a, b in openings_from(calendar, start):
        if remaining <= b - a:
            return a + remaining
        remaining -= b - a
    raise AssertionError("openings_from never ends")  # pragma: no cover


def subtract_business_time(
    calendar: BusinessCalendar, end: datetime, duration: timedelta
) -> datetime:
    """The instant `duration` of business time before `end`."""
    if duration < ZERO:
        return add_business_time(calendar, end, -duration)
    if calendar.always_open:
        return _utc(end) - duration
    found = _subtract_indexed(calendar, _utc(end), duration)
    return found if found is not None else walk_subtract(calendar, end, duration)


def walk_subtract(calendar: BusinessCalendar, end: datetime, duration: timedelta) -> datetime:
    """`subtract_business_time` by walking the openings back from `end` (its definition)."""
    remaining = duration
    for a, b in openings_until(calendar, end):
        if remaining <= b - a:
            return b - remaining
        remaining -= b - a
    raise AssertionError("openings_until never ends")  # pragma: no cover


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """Business time from `start` to `end`; negative when `end` is earlier."""
    start, end = _utc(start), _utc(end)
    if end < start:
        return -business_time_between(calendar, end, start)
    if calendar.always_open:
        return end - start
    index = _index(calendar, start, end)
    if index is not None:
        return index.measure(end) - index.measure(start)
    return walk_between(calendar, start, end)


def walk_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """`business_time_between` for `start <= end` by walking the openings (its definition)."""
    start, end = _utc(start), _utc(end)
    total = ZERO
    for a, b in openings_from(calendar, start):
        if a >= end:
            break
        total += min(b, end) - a
    return total


def is_open(calendar: BusinessCalendar, at: datetime) -> bool:
    """Whether the calendar is open at `at` (a closing instant is closed)."""
    at = _utc(at)
    day = calendar.local_date(at)
    return any(a <= at < b for d in (day - ONE_DAY, day) for a, b in calendar.openings_on(d))


def next_opening(calendar: BusinessCalendar, at: datetime) -> datetime:
    """`at` if the calendar is open then, else when it next opens."""
    return add_business_time(calendar, at, ZERO)
