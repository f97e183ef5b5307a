"""What the SLA domain needs of the SLA engine (routing.sla), which the composition root
installs: the domain stores the rules, the engine knows what they mean. Raising
`ValidationFailed` naming the field is the engine's way of refusing a rule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession

from app.sla.models import SlaCalendar, SlaPolicy
from app.tickets.models import Ticket


@runtime_checkable
class SlaEngine(Protocol):
    def check_calendar(self, calendar: SlaCalendar) -> None:
        """Refuse hours, time zones and exceptions that make no calendar."""

    def is_open(self, calendar: SlaCalendar, at: datetime) -> bool:
        """Whether the calendar's business hours include `at` (the chat widget's offline
        mode follows its inbox's calendar)."""

    def check_policy(self, policy: SlaPolicy) -> None:
        """Refuse a policy the engine could not apply (a target twice, say)."""

    def country_holidays(
        self, country: str, years: Sequence[int], subdivision: str | None
    ) -> dict[date, str]:
        """A country's public holidays; an unknown one is a ValidationFailed."""

    async def recompute(self, session: AsyncSession, ticket: Ticket, *, now: datetime) -> None:
        """Recompute and store one ticket's SLA (the caller holds its row lock)."""
