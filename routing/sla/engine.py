"""The SLA engine the composition root installs: the domain's `SlaEngine` port
(app.sla.port) and the lifecycle hooks that keep every ticket's stored SLA current."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.sla.models import SlaCalendar, SlaPolicy
from app.tickets.hooks import LifecycleHooks, MessageAppended, TicketChanged
from app.tickets.models import Ticket
from routing.core.business_time import is_open
from routing.sla.actions import apply_actions
from routing.sla.recompute import recompute_ticket
from routing.sla.rules import (
    RuleBook,
    build_calendar,
    build_policy,
    calendar_of,
    holidays_of,
    load_rules,
)


class RoutingSlaEngine:
    def check_calendar(self, calendar: SlaCalendar) -> None:
        build_calendar(calendar)

    def is_open(self, calendar: SlaCalendar, at: datetime) -> bool:
        return is_open(calendar_of(calendar), at)

    def check_policy(self, policy: SlaPolicy) -> None:
        build_policy(policy)

    def country_holidays(
        self, country: str, years: Sequence[int], subdivision: str | None
    ) -> dict[date, str]:
        return holidays_of(country, years, subdivision)

    async def recompute(self, session: AsyncSession, ticket: Ticket, *, now: datetime) -> None:
        await recompute_and_act(session, ticket, now=now)


async def recompute_and_act(
    session: AsyncSession, ticket: Ticket, *, now: datetime, rules: RuleBook | None = None
) -> None:
    """Recompute; targets met by this change run their policy's `met` actions."""
    rules = rules or await load_rules(session)
    records = await recompute_ticket(session, ticket, now=now, rules=rules)
    for record in records:
        if record.kind != "met":
            continue
        actions = rules.actions_for(record.entry.policy_id, "met")
        if actions:
            await apply_actions(
                session, ticket, actions, kind="met", metric=record.target.metric, now=now
            )


async def after_ticket_change(session: AsyncSession, change: TicketChanged) -> None:
    await recompute_and_act(session, change.ticket, now=change.now)


async def after_tickets_change(session: AsyncSession, changes: Sequence[TicketChanged]) -> None:
    """`after_ticket_change` for a batch of changes, the rules read once."""
    rules = await load_rules(session)
    for change in changes:
        await recompute_and_act(session, change.ticket, now=change.now, rules=rules)


async def after_message_appended(session: AsyncSession, appended: MessageAppended) -> None:
    await recompute_and_act(session, appended.ticket, now=appended.now)


def install_sla_hooks(hooks: LifecycleHooks) -> None:
    hooks.add_ticket_hook(after_ticket_change, batch=after_tickets_change)
    hooks.after_message_appended.append(after_message_appended)
