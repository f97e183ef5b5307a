"""The SLA API's bodies. A bad value is a 422 naming its field (msgspec's path, or the
engine's check for what a schema cannot say, such as overlapping hours)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from app.inboxes.channels import ChannelName
from app.schemas import Id, Input, Name, Output, Tag
from app.sla.ticket_sla import TicketSlaTarget
from app.tickets.schemas import Priority, Status

Metric = Literal[
    "first_response",
    "next_response",
    "periodic_update",
    "resolution",
    "requester_wait",
    "agent_work",
    "group_ownership",
]
ClockTime = Annotated[
    str,
    msgspec.Meta(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$", examples=["09:00", "24:00"]),
]
Span = tuple[ClockTime, ClockTime]
Spans = Annotated[list[Span], msgspec.Meta(max_length=12)]
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["Europe/Berlin"])]
# A week is 10,080 minutes; a year of calendar time is the most any target may take.
Minutes = Annotated[int, msgspec.Meta(ge=1, le=525_600)]


class WeeklyHours(Input):
    """Opening hours per weekday, local wall-clock time; a day left out is closed."""

    mon: Spans = []
    tue: Spans = []
    wed: Spans = []
    thu: Spans = []
    fri: Spans = []
    sat: Spans = []
    sun: Spans = []


class Holiday(Input):
    date: date
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""


class CalendarException(Input):
    """A date with its own hours (none: closed), beating the weekday and any holiday."""

    date: date
    hours: Spans = []


class HolidayImport(Input):
    """Public holidays of a country (ISO 3166-1 alpha-2, e.g. "DE") for some years, from
    the `holidays` package, added to `holidays`."""

    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2}$")]
    years: Annotated[
        list[Annotated[int, msgspec.Meta(ge=1970, le=2100)]],
        msgspec.Meta(min_length=1, max_length=10),
    ]
    subdivision: Annotated[str, msgspec.Meta(max_length=10)] | None = None


Holidays = Annotated[list[Holiday], msgspec.Meta(max_length=1000)]
Exceptions = Annotated[list[CalendarException], msgspec.Meta(max_length=1000)]


class CalendarCreate(Input):
    name: Name
    time_zone: TimeZone
    hours: WeeklyHours
    holidays: Holidays = []
    exceptions: Exceptions = []
    import_holidays: HolidayImport | None = None


class CalendarUpdate(Input):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    time_zone: TimeZone | msgspec.UnsetType = msgspec.UNSET
    hours: WeeklyHours | msgspec.UnsetType = msgspec.UNSET
    holidays: Holidays | msgspec.UnsetType = msgspec.UNSET
    exceptions: Exceptions | msgspec.UnsetType = msgspec.UNSET
    import_holidays: HolidayImport | None = None


class HolidayOut(Output):
    date: date
    name: str


class CalendarOut(Output):
    id: int
    name: str
    time_zone: str
    hours: dict[str, list[list[str]]]
    holidays: list[HolidayOut]
    exceptions: list[dict[str, object]]
    created_at: datetime
    updated_at: datetime


class TargetIn(Input):
    metric: Metric
    priority: Priority
    minutes: Minutes
    # False: counted in calendar time even under a business-hours calendar.
    business_hours: bool = True


class Conditions(Input):
    """Every condition given must match (tags: any of them); none given matches all."""

    priority: Annotated[list[Priority], msgspec.Meta(max_length=4)] = []
    channel: Annotated[list[ChannelName], msgspec.Meta(max_length=20)] = []
    inbox: Annotated[list[Id], msgspec.Meta(max_length=100)] = []
    account_tier: Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=50)]],
                            msgspec.Meta(max_length=20)] = []  # fmt: skip
    tags: Annotated[list[Tag], msgspec.Meta(max_length=50)] = []


class RaisePriority(Input, tag="raise_priority", tag_field="type"):
    """One step up (low -> normal -> high -> urgent)."""


class AddTag(Input, tag="add_tag", tag_field="type"):
    tag: Tag


class Notify(Input, tag="notify", tag_field="type"):
    """Named in the event's `notify`, which reaches the socket of everyone who may see
    the ticket; the console shows it to the agent or team named."""

    agent_id: Id | None = None
    team_id: Id | None = None


class Reassign(Input, tag="reassign", tag_field="type"):
    """To an agent and/or a team (left out: unchanged)."""

    agent_id: Id | None = None
    team_id: Id | None = None


Action = RaisePriority | AddTag | Notify | Reassign
ActionList = Annotated[list[Action], msgspec.Meta(max_length=10)]


class Actions(Input):
    warning: ActionList = []
    breached: ActionList = []
    met: ActionList = []


Pauses = Annotated[dict[Metric, Annotated[list[Status], msgspec.Meta(max_length=6)]],
                   msgspec.Meta(max_length=7)]  # fmt: skip
Targets = Annotated[list[TargetIn], msgspec.Meta(min_length=1, max_length=50)]
WarningFraction = Annotated[float, msgspec.Meta(gt=0, lt=1)]


class PolicyCreate(Input):
    """With `team_id` a group policy: that team's internal target while it owns a ticket
    (`group_ownership` targets only), chosen among the team's group policies by the same
    conditions and position, beside the customer policy."""

    name: Name
    targets: Targets
    calendar_id: Id | None = None  # none: around the clock
    team_id: Id | None = None
    conditions: Conditions = msgspec.field(default_factory=Conditions)
    position: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 0
    pauses: Pauses = {}
    warning_fraction: WarningFraction = 0.8
    actions: Actions = msgspec.field(default_factory=Actions)


class PolicyUpdate(Input):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    targets: Targets | msgspec.UnsetType = msgspec.UNSET
    calendar_id: Id | msgspec.UnsetType | None = msgspec.UNSET
    team_id: Id | msgspec.UnsetType | None = msgspec.UNSET
    conditions: Conditions | msgspec.UnsetType = msgspec.UNSET
    position: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] | msgspec.UnsetType = msgspec.UNSET
    pauses: Pauses | msgspec.UnsetType = msgspec.UNSET
    warning_fraction: WarningFraction | msgspec.UnsetType = msgspec.UNSET
    actions: Actions | msgspec.UnsetType = msgspec.UNSET


class TargetOut(Output):
    metric: str
    priority: str
    minutes: int
    business_hours: bool = True


class PolicyOut(Output):
    id: int
    name: str
    kind: Literal["customer", "group"]
    team_id: int | None  # a group policy's team
    position: int
    calendar_id: int | None
    conditions: dict[str, list[object]]
    targets: list[TargetOut]
    pauses: dict[str, list[str]]
    warning_fraction: float
    actions: dict[str, list[dict[str, object]]]
    created_at: datetime
    updated_at: datetime


class DueOverride(Input):
    """Freeze a target's due time (`due_at`), or lift the freeze (`null`); audited."""

    metric: Metric
    due_at: datetime | None


class BoardTicket(Output):
    """A ticket on the SLA board: its soonest unmet target and how far past (positive)
    or before (negative) its due time `now` is. `policy_id` and `policy_name` are that
    target's policy (a group policy when `group_team_id` is set: the target is that
    team's own)."""

    ticket_id: int
    number: int
    subject: str
    status: str
    priority: str
    channel: str
    team_id: int | None
    assignee_id: int | None
    policy_id: int | None
    policy_name: str | None
    group_team_id: int | None
    metric: str | None
    due_at: datetime
    overdue_seconds: int
    targets: list[TicketSlaTarget]


class BoardPage(Output):
    """`now` is the server's clock, so a client counts down from the same instant."""

    now: datetime
    items: list[BoardTicket]


class TimesOut(Output):
    median_seconds: float | None
    p90_seconds: float | None


class ComplianceOut(Output):
    met: int
    breached: int
    rate: float | None  # met on time / (met on time + breached); None without either


class ReportRow(Output):
    key: str | None  # the team or agent id, or the channel; null: no team or agent
    new: int
    solved: int
    times: dict[str, TimesOut]  # first_response, resolution
    compliance: dict[str, ComplianceOut]  # per metric


class ReportOut(Output):
    since: datetime
    until: datetime
    group_by: str
    rows: list[ReportRow]
    # group_by=policy: each key's policy name (the rows' keys are policy ids).
    names: dict[str, str] = {}
