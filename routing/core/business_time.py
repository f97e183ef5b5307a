"""Business-time arithmetic over a calendar: exact (timedelta, microseconds), in UTC.

The rule every function keeps: business time is the length of the calendar's openings
that lie between two instants. Adding then measuring gives back what was added, and a
result of adding or subtracting is always inside (or at an edge of) an opening.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from routing.core.calendars import BusinessCalendar, CalendarError, Interval

# Past this many consecutive closed days the calendar is treated as never opening again
# (a calendar closed for a year is a configuration error, not a long weekend).
MAX_CLOSED_DAYS = 400
ZERO = timedelta(0)
ONE_DAY = timedelta(days=1)


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


def add_business_time(calendar: BusinessCalendar, start: datetime, duration: timedelta) -> datetime:
    """The instant at which `duration` of business time has passed since `start`. With a
    zero duration that is the next moment the calendar is open (start itself if open)."""
    if duration < ZERO:
        return subtract_business_time(calendar, start, -duration)
    if calendar.always_open:
        return _utc(start) + duration
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
