"""The SLA hook for a quiet customer message (app.tickets.lifecycle.quick): the same
recomputation as `after_message_appended`, from the ticket's history read together with
the ticket (one JSON column) and the rules from the process's cache, so the message costs
no round trip of its own for its SLA."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.tickets.events import TicketEvent
from app.tickets.hooks import Derived
from app.tickets.models import Ticket
from routing.sla.history import COLUMNS, READ_TYPES
from routing.sla.recompute import SLA_CHANNEL, compute_stored, facts_of, opening_of, records_for
from routing.sla.rules import RuleBook, load_rules

HISTORY = "sla_history"
TIER = "sla_account_tier"


class SlaQuietMessage:
    async def prepare(self, session: AsyncSession) -> SlaDerivation:
        return SlaDerivation(await load_rules(session))


def _history_column() -> ColumnElement[Any]:
    """The ticket's SLA history rows (`routing.sla.history.COLUMNS`) as one JSON array."""
    rows = func.json_agg(
        aggregate_order_by(func.json_build_array(*COLUMNS), TicketEvent.seq), type_=JSON
    )
    return (
        select(rows)
        .where(TicketEvent.ticket_id == Ticket.id, TicketEvent.type.in_(READ_TYPES))
        .scalar_subquery()
        .label(HISTORY)
    )


# Built once: callers cache the statements they make of them.
_HISTORY = (_history_column(),)
_WITH_TIER = (
    *_HISTORY,
    select(Account.tier).where(Account.id == Ticket.account_id).scalar_subquery().label(TIER),
)


def _rows(document: Sequence[Sequence[Any]] | None) -> list[tuple[Any, ...]]:
    """The JSON rows as `load_event_rows` gives them (its `at` a datetime)."""
    return [(*row[:3], datetime.fromisoformat(row[3]), *row[4:]) for row in document or ()]


@dataclass(frozen=True)
class SlaDerivation:
    rules: RuleBook

    @property
    def needs_tier(self) -> bool:
        return any("account_tier" in p.conditions for p in self.rules.policies)

    def reads(self) -> Sequence[ColumnElement[Any]]:
        if not self.rules.policies:
            return ()  # nothing to compute: a stored SLA is cleared without its history
        return _WITH_TIER if self.needs_tier else _HISTORY

    def derive(
        self, ticket: Ticket, read: Mapping[Any, Any], *, seq: int, now: datetime
    ) -> Derived | None:
        rules = self.rules
        if not rules.policies and ticket.sla is None:
            return Derived()
        rows = _rows(read.get(HISTORY)) if rules.policies else []
        # The message's own `message.created`, as the timeline will hold it.
        rows.append(
            (ticket.id, seq, "message.created", now, "inbound", "contact", "false",
             None, None, None, None, None, None, None, None)
        )  # fmt: skip
        tier = read.get(TIER) if ticket.account_id is not None and self.needs_tier else None
        stored = compute_stored(
            rules,
            facts_of(ticket, tier),
            rows,
            opening=opening_of(ticket),
            status=ticket.status,
            fired=ticket.sla_fired or [],
            now=now,
        )
        fired = set(ticket.sla_fired or [])
        if records_for(ticket, stored, fired):
            return None  # a target met: its record and `met` actions take the full path
        values = {
            "sla": stored.sla,
            "sla_policy_id": stored.policy_id,
            "sla_due_at": stored.due_at,
            "sla_next_event_at": stored.next_event_at,
            "sla_fired": sorted(fired),
        }
        if all(getattr(ticket, k) == v for k, v in values.items()):
            return Derived()
        earlier = stored.next_event_at is not None and (
            ticket.sla_next_event_at is None or stored.next_event_at < ticket.sla_next_event_at
        )
        return Derived(values, (SLA_CHANNEL,) if earlier else ())
