"""Business calendars: the hours in which a business-time SLA clock runs.

A calendar is weekly opening hours in an IANA time zone, closed days (holidays, from the
`holidays` package for a country or entered by hand) and exceptions (a date with its own
hours, e.g. a short Christmas Eve). Hours are wall-clock minutes after local midnight, so
"09:00-17:00" stays 09:00-17:00 local across daylight-saving changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holiday_data

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60

# Minutes after local midnight, end exclusive: 0 <= start < end <= 1440 ("24:00").
Span = tuple[int, int]
# An opening in absolute time, both ends aware UTC datetimes.
Interval = tuple[datetime, datetime]


class CalendarError(ValueError):
    """A calendar that cannot be built or never opens."""


def parse_clock(text: str) -> int:
    """'09:30' -> 570; '24:00' is the end of the day."""
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise CalendarError(f"{text!r} is not a time of day like '09:00'")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) >= 60 or value > DAY_MINUTES:
        raise CalendarError(f"{text!r} is not a time of day like '09:00'")
    return value


def _check_spans(spans: Sequence[Span], where: str) -> tuple[Span, ...]:
    ordered = tuple(sorted(spans))
    previous_end = 0
    for start, end in ordered:
        if not 0 <= start < end <= DAY_MINUTES:
            raise CalendarError(f"{where}: {start}-{end} is not a span within one day")
        if start < previous_end:
            raise CalendarError(f"{where}: spans overlap")
        previous_end = end
    return ordered


@dataclass(frozen=True, eq=False)
class BusinessCalendar:
    """When business time runs. Build one with `from_hours` or `around_the_clock`."""

    time_zone: str
    weekly: tuple[tuple[Span, ...], ...]  # seven entries, Monday first
    holidays: Mapping[date, str] = field(default_factory=dict)  # closed all day, with a name
    exceptions: Mapping[date, tuple[Span, ...]] = field(default_factory=dict)  # beat holidays
    zone: ZoneInfo = field(init=False, repr=False)
    always_open: bool = field(init=False, repr=False)
    # Memo of the UTC openings per local date: the calendar is immutable, so this is pure.
    _openings: dict[date, tuple[Interval, ...]] = field(
        init=False, repr=False, default_factory=dict
    )
    # Structures derived from the openings by their users (business_time's index), by name.
    memo: dict[str, object] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.time_zone)
        except (ValueError, KeyError) as error:  # ZoneInfoNotFoundError is a KeyError
            raise CalendarError(f"unknown time zone {self.time_zone!r}") from error
        if len(self.weekly) != 7:
            raise CalendarError("weekly hours need seven days, Monday first")
        weekly = tuple(_check_spans(spans, WEEKDAYS[i]) for i, spans in enumerate(self.weekly))
        exceptions = {
            day: _check_spans(spans, day.isoformat()) for day, spans in self.exceptions.items()
        }
        if not any(weekly) and not any(exceptions.values()):
            raise CalendarError("the calendar is never open")
        object.__setattr__(self, "zone", zone)
        object.__setattr__(self, "weekly", weekly)
        object.__setattr__(self, "exceptions", exceptions)
        object.__setattr__(
            self,
            "always_open",
            all(spans == ((0, DAY_MINUTES),) for spans in weekly)
            and not self.holidays
            and not exceptions,
        )

    @classmethod
    def around_the_clock(cls, time_zone: str = "UTC") -> BusinessCalendar:
        """24/7: business time is calendar time."""
        return cls(time_zone, ((((0, DAY_MINUTES),),) * 7))

    @classmethod
    def from_hours(
        cls,
        time_zone: str,
        hours: Mapping[str, Sequence[tuple[str, str]]],
        *,
        holidays: Mapping[date, str] | Iterable[date] = (),
        exceptions: Mapping[date, Sequence[tuple[str, str]]] | None = None,
    ) -> BusinessCalendar:
        """`hours` is the API's shape: {"mon": [["09:00", "17:00"]], ...}; a missing day
        is closed. A night shift is two spans: "22:00"-"24:00" and the next day's "00:00"-."""
        unknown = set(hours) - set(WEEKDAYS)
        if unknown:
            raise CalendarError(f"unknown weekday {sorted(unknown)[0]!r}")

        def spans(pairs: Sequence[tuple[str, str]]) -> tuple[Span, ...]:
            return tuple((parse_clock(a), parse_clock(b)) for a, b in pairs)

        closed = dict(holidays) if isinstance(holidays, Mapping) else dict.fromkeys(holidays, "")
        return cls(
            time_zone,
            tuple(spans(hours.get(day, ())) for day in WEEKDAYS),
            holidays=closed,
            exceptions={day: spans(pairs) for day, pairs in (exceptions or {}).items()},
        )

    def spans_on(self, day: date) -> tuple[Span, ...]:
        """Local opening hours of one date: an exception, else closed on a holiday, else
        the weekday's hours."""
        if day in self.exceptions:
            return self.exceptions[day]
        if day in self.holidays:
            return ()
        return self.weekly[day.weekday()]

    def openings_on(self, day: date) -> tuple[Interval, ...]:
        """The openings of one local date in UTC. A start in a skipped hour (spring
        forward) moves forward with the clock; an end in a repeated hour (fall back) is
        its second occurrence, so a span never loses the hour it really lasted."""
        cached = self._openings.get(day)
        if cached is None:
            found = []
            for start, end in self.spans_on(day):
                a = self._instant(day, start, latest=False)
                b = self._instant(day, end, latest=True)
                if a < b:  # a span wholly inside a skipped hour does not happen
                    found.append((a, b))
            cached = self._openings[day] = tuple(found)
        return cached

    def _instant(self, day: date, minute: int, *, latest: bool) -> datetime:
        if minute == DAY_MINUTES:
            day, minute = day + timedelta(days=1), 0
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)
        # PEP 495: fold=0 reads a repeated hour as its first occurrence and a skipped one
        # with the offset from before the change (i.e. shifted forward).
        first = local.astimezone(UTC)
        if not latest:
            return first
        return max(first, local.replace(fold=1).astimezone(UTC))

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()


def country_holidays(
    country: str, years: Iterable[int], *, subdivision: str | None = None
) -> dict[date, str]:
    """Public holidays of a country (ISO 3166-1 alpha-2) and optional subdivision, for the
    given years, from the `holidays` package; merge with custom dates before building a
    calendar. An unknown country or subdivision is a CalendarError."""
    try:
        found = holiday_data.country_holidays(
            country.upper(), subdiv=subdivision, years=list(years)
        )
    except NotImplementedError as error:
        raise CalendarError(f"no holidays known for country {country!r}") from error
    except ValueError as error:
        raise CalendarError(str(error)) from error
    return dict(found.items())
