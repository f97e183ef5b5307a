"""Business-time arithmetic: weekends, holidays, exceptions, daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from routing.core.business_time import (
    add_business_time,
    business_time_between,
    is_open,
    next_opening,
    subtract_business_time,
)
from routing.core.calendars import BusinessCalendar, CalendarError, country_holidays

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS_9_TO_5 = {day: [("09:00", "17:00")] for day in ("mon", "tue", "wed", "thu", "fri")}


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def new_york(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)  # type: ignore[misc]


def office(time_zone: str = "Europe/Berlin", **kwargs: object) -> BusinessCalendar:
    return BusinessCalendar.from_hours(time_zone, WEEKDAYS_9_TO_5, **kwargs)  # type: ignore[arg-type]


def test_time_runs_over_the_weekend_only_in_office_hours() -> None:
    calendar = office()
    # Friday 15:00 + 4 business hours: 2 on Friday, 2 on Monday.
    assert add_business_time(calendar, berlin(2026, 3, 6, 15), timedelta(hours=4)) == berlin(
        2026, 3, 9, 11
    )
    assert business_time_between(
        calendar, berlin(2026, 3, 6, 15), berlin(2026, 3, 9, 11)
    ) == timedelta(hours=4)
    assert subtract_business_time(calendar, berlin(2026, 3, 9, 11), timedelta(hours=4)) == berlin(
        2026, 3, 6, 15
    )


def test_a_start_outside_hours_counts_from_the_next_opening() -> None:
    calendar = office()
    saturday = berlin(2026, 3, 7, 12)
    assert not is_open(calendar, saturday)
    assert next_opening(calendar, saturday) == berlin(2026, 3, 9, 9)
    assert add_business_time(calendar, saturday, timedelta(minutes=30)) == berlin(2026, 3, 9, 9, 30)
    assert business_time_between(calendar, saturday, berlin(2026, 3, 9, 8)) == timedelta(0)


def test_a_target_that_ends_at_closing_time_is_due_at_closing_time() -> None:
    calendar = office()
    assert add_business_time(calendar, berlin(2026, 3, 6, 16), timedelta(hours=1)) == berlin(
        2026, 3, 6, 17
    )
    assert not is_open(calendar, berlin(2026, 3, 6, 17))


def test_country_holidays_close_the_office() -> None:
    # Good Friday (3 April) and Easter Monday (6 April) 2026 are public holidays in Germany.
    closed = country_holidays("DE", [2026], subdivision="BY")
    assert closed[date(2026, 4, 3)] == "Good Friday"
    calendar = office(holidays=closed)
    assert add_business_time(calendar, berlin(2026, 4, 2, 16), timedelta(hours=2)) == berlin(
        2026, 4, 7, 10
    )


def test_custom_holidays_and_exceptions() -> None:
    calendar = office(
        holidays=[date(2026, 12, 28)],
        exceptions={date(2026, 12, 24): [("09:00", "12:00")], date(2026, 12, 27): []},
    )
    # Thursday 24 December closes at noon; Friday 25th is a normal day here (no country
    # holidays were imported); Monday 28th is closed.
    assert add_business_time(calendar, berlin(2026, 12, 24, 11), timedelta(hours=2)) == berlin(
        2026, 12, 25, 10
    )
    assert add_business_time(calendar, berlin(2026, 12, 25, 16), timedelta(hours=2)) == berlin(
        2026, 12, 29, 10
    )


def test_office_hours_stay_local_across_spring_forward() -> None:
    # New York moves to daylight time on Sunday 8 March 2026: 09:00 local is 14:00 UTC on
    # Friday and 13:00 UTC on Monday.
    calendar = office("America/New_York")
    due = add_business_time(calendar, new_york(2026, 3, 6, 16), timedelta(hours=2))
    assert due == new_york(2026, 3, 9, 10)
    assert due.astimezone(UTC).hour == 14
    assert business_time_between(
        calendar, new_york(2026, 3, 6, 9), new_york(2026, 3, 10, 9)
    ) == timedelta(hours=16)


def test_a_whole_local_day_lasts_23_or_25_hours_when_the_clocks_change() -> None:
    every_day = {day: [("00:00", "24:00")] for day in WEEKDAYS_9_TO_5 | {"sat": [], "sun": []}}
    calendar = BusinessCalendar.from_hours(
        "America/New_York", every_day, holidays=[date(2030, 1, 1)]
    )
    assert not calendar.always_open
    spring = business_time_between(calendar, new_york(2026, 3, 8), new_york(2026, 3, 9))
    autumn = business_time_between(calendar, new_york(2026, 11, 1), new_york(2026, 11, 2))
    assert (spring, autumn) == (timedelta(hours=23), timedelta(hours=25))


def test_spans_inside_changing_hours() -> None:
    early = {"sun": [("01:00", "04:00")]}
    calendar = BusinessCalendar.from_hours("America/New_York", early)
    # 02:00-03:00 does not exist on 8 March: the span lasts two hours.
    assert business_time_between(calendar, new_york(2026, 3, 8), new_york(2026, 3, 9)) == timedelta(
        hours=2
    )
    # 01:00-02:00 happens twice on 1 November: the span lasts four hours.
    assert business_time_between(
        calendar, new_york(2026, 11, 1), new_york(2026, 11, 2)
    ) == timedelta(hours=4)


def test_a_night_shift_is_continuous_across_midnight() -> None:
    night = {"mon": [("22:00", "24:00")], "tue": [("00:00", "06:00")]}
    calendar = BusinessCalendar.from_hours("Europe/Berlin", night)
    assert add_business_time(calendar, berlin(2026, 3, 2, 23), timedelta(hours=3)) == berlin(
        2026, 3, 3, 2
    )


def test_around_the_clock_is_calendar_time() -> None:
    calendar = BusinessCalendar.around_the_clock("Europe/Berlin")
    assert calendar.always_open
    start = berlin(2026, 3, 28, 12)  # the clocks change that night
    assert add_business_time(calendar, start, timedelta(hours=24)) == start.astimezone(
        UTC
    ) + timedelta(hours=24)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: office("Mars/Olympus"), "unknown time zone"),
        (lambda: BusinessCalendar.from_hours("UTC", {"mon": [("9:00", "25:00")]}), "25:00"),
        (lambda: BusinessCalendar.from_hours("UTC", {"mon": [("17:00", "09:00")]}), "mon"),
        (lambda: BusinessCalendar.from_hours("UTC", {"funday": [("09:00", "17:00")]}), "fun"),
        (lambda: BusinessCalendar.from_hours("UTC", {}), "never open"),
        (lambda: country_holidays("XX", [2026]), "XX"),
    ],
)
def test_bad_calendars_are_refused_with_a_reason(build: object, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        build()  # type: ignore[operator]


def test_a_calendar_that_closes_for_good_is_an_error_not_a_hang() -> None:
    calendar = office(holidays=[date(2026, 3, 9) + timedelta(days=n) for n in range(500)])
    with pytest.raises(CalendarError, match="does not open"):
        add_business_time(calendar, berlin(2026, 3, 9), timedelta(hours=1))
