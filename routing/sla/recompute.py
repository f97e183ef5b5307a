"""Recompute and store tickets' SLA: one ticket in a lifecycle hook, many after a rule
changed. Every met target is recorded (and a late one's breach, if the scheduler missed
it), so reports count from `sla_target_events` alone."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import Account
from app.db.engine import SessionMaker
from app.sla.models import SlaTargetEvent
from app.tickets.lifecycle import write_derived, write_derived_many
from app.tickets.models import Ticket
from routing.core.sla_policy import STOPPED_STATUSES, TicketFacts, select_policy
from routing.core.sla_timeline import TargetState, compute_sla, teams_owning
from routing.sla.history import Opening, history_of, load_event_rows
from routing.sla.rules import RuleBook, load_rules, read_rules
from routing.sla.state import Entry, Stored, group_cycle, moment, stored_sla

# The scheduler LISTENs here; a recomputation that brings a ticket's next moment forward
# wakes it (delivered at commit, never for a rolled-back change).
SLA_CHANNEL = "relaydesk_sla"


def compute_stored(
    rules: RuleBook,
    facts: TicketFacts,
    rows: Sequence[Any],
    *,
    opening: Opening,
    status: str,
    fired: Sequence[str],
    now: datetime,
) -> Stored:
    """The customer policy's targets, then each group policy's: one for every team that
    has owned the ticket (its first matching group policy), timed over the stretches that
    team owned it, so a team handing the ticket on has its own target met there."""
    policy = select_policy(rules.policies, facts)
    history = None
    entries: list[Entry] = []
    if policy is not None:
        history = history_of(rows, opening, now)
        state = compute_sla(policy, rules.calendar_for(policy.id), history, now)
        entries += [Entry(t, t.cycle, policy.id) for t in state.targets]
    group_ids: list[int] = []
    if rules.has_group_policies:
        history = history or history_of(rows, opening, now)
        for team_id in teams_owning(history):
            group = select_policy(rules.policies, facts, team_id=team_id)
            if group is None:
                continue
            group_ids.append(group.id)
            state = compute_sla(group, rules.calendar_for(group.id), history, now, team_id=team_id)
            entries += [
                Entry(t, group_cycle(team_id, t.cycle), group.id, team_id) for t in state.targets
            ]
    return stored_sla(
        policy.id if policy else None,
        entries,
        status=status,
        fired=fired,
        group_policy_ids=group_ids,
    )


def facts_of(ticket: Ticket, account_tier: str | None) -> TicketFacts:
    return TicketFacts(
        priority=ticket.priority,
        channel=ticket.channel,
        inbox=ticket.inbox_id,
        account_tier=account_tier,
        tags=frozenset(ticket.tags),
    )


def opening_of(ticket: Ticket) -> Opening:
    return Opening(ticket.created_at, "new", ticket.priority, ticket.team_id)


@dataclass(frozen=True)
class Record:
    """A target moment to insert into sla_target_events."""

    ticket: Ticket
    entry: Entry
    kind: str
    at: datetime

    @property
    def target(self) -> TargetState:
        return self.entry.state

    @property
    def key(self) -> str:
        return moment(self.entry.state.metric, self.entry.cycle, self.kind)


def records_for(ticket: Ticket, stored: Stored, fired: set[str]) -> list[Record]:
    found = []
    for entry in stored.newly_met:
        target = entry.state
        assert target.met_at is not None
        found.append(Record(ticket, entry, "met", target.met_at))
        if (
            target.breached_at is not None
            and moment(target.metric, entry.cycle, "breached") not in fired
        ):
            found.append(Record(ticket, entry, "breached", target.breached_at))
    return found


async def insert_records(
    session: AsyncSession, records: Sequence[Record], *, now: datetime
) -> None:
    if not records:
        return
    rows = [
        {
            "ticket_id": r.ticket.id,
            "metric": r.target.metric,
            "cycle": r.entry.cycle,
            "kind": r.kind,
            "policy_id": r.entry.policy_id,
            "priority": r.target.priority,
            "started_at": r.target.started_at,
            "due_at": r.target.due_at,
            "at": r.at,
            "recorded_at": now,
            # A group target counts for the team whose clock it was, not the next owner.
            "team_id": r.ticket.team_id if r.entry.team_id is None else r.entry.team_id,
            "assignee_id": r.ticket.assignee_id,
            "channel": r.ticket.channel,
        }
        for r in records
    ]
    await session.execute(insert(SlaTargetEvent).values(rows).on_conflict_do_nothing())


async def store(
    session: AsyncSession, ticket: Ticket, stored: Stored, *, now: datetime
) -> list[Record]:
    """Write the ticket's SLA columns and record what was met; returns the new records."""
    fired = set(ticket.sla_fired or [])
    set_committed_value(ticket, "sla_policy_id", stored.policy_id)
    records = records_for(ticket, stored, fired)
    fired |= {r.key for r in records}
    values = {
        "sla": stored.sla,
        "sla_policy_id": stored.policy_id,
        "sla_due_at": stored.due_at,
        "sla_next_event_at": stored.next_event_at,
        "sla_fired": sorted(fired),
    }
    earlier = stored.next_event_at is not None and (
        ticket.sla_next_event_at is None or stored.next_event_at < ticket.sla_next_event_at
    )
    unchanged = all(getattr(ticket, k) == v for k, v in values.items())
    if not unchanged:
        await write_derived(session, ticket, values)
    await insert_records(session, records, now=now)
    if earlier:
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": SLA_CHANNEL})
    return records


async def recompute_ticket(
    session: AsyncSession, ticket: Ticket, *, now: datetime, rules: RuleBook | None = None
) -> list[Record]:
    """The caller holds the ticket's row lock (the lifecycle's hooks do)."""
    rules = rules or await load_rules(session)
    if not rules.policies and ticket.sla is None:
        return []
    tier = None
    if ticket.account_id is not None and any(
        "account_tier" in p.conditions for p in rules.policies
    ):
        tier = await session.scalar(select(Account.tier).where(Account.id == ticket.account_id))
    rows = (await load_event_rows(session, [ticket.id]))[ticket.id]
    stored = compute_stored(
        rules,
        facts_of(ticket, tier),
        rows,
        opening=opening_of(ticket),
        status=ticket.status,
        fired=ticket.sla_fired or [],
        now=now,
    )
    return await store(session, ticket, stored, now=now)


# What recomputing a ticket reads of it (facts_of, opening_of, the records' owners).
RECOMPUTE_READS = (
    Ticket.status,
    Ticket.priority,
    Ticket.channel,
    Ticket.inbox_id,
    Ticket.account_id,
    Ticket.tags,
    Ticket.created_at,
    Ticket.team_id,
    Ticket.assignee_id,
    Ticket.sla_policy_id,
    Ticket.sla_fired,
)


async def recompute_open_tickets(
    sessionmaker: SessionMaker,
    *,
    now: datetime,
    policy_ids: Sequence[int] | None = None,
    chunk: int = 1000,
    concurrency: int = 3,
) -> int:
    """Every open ticket (or those under `policy_ids`) again, `chunk` per transaction, after
    a calendar or policy changed; `concurrency` chunks at once, so one's queries overlap
    another's arithmetic. A ticket being changed meanwhile is skipped: its own hook
    recomputes it under the new rules. Returns how many were recomputed."""
    async with sessionmaker() as session:
        stmt = select(Ticket.id).where(Ticket.status.notin_(STOPPED_STATUSES)).order_by(Ticket.id)
        if policy_ids is not None:
            stmt = stmt.where(Ticket.sla_policy_id.in_(policy_ids))
        ids = list((await session.scalars(stmt)).all())
    ranges = deque((ids[i], ids[min(i + chunk, len(ids)) - 1]) for i in range(0, len(ids), chunk))

    async def work() -> int:
        done = 0
        while ranges:
            first, last = ranges.popleft()
            async with sessionmaker() as session, session.begin():
                # Read, not cached: this runs because the rules just changed, and the
                # NOTIFY that clears the cache may not have reached this process yet.
                rules = await read_rules(session)
                stmt = (
                    select(Ticket)
                    .options(load_only(*RECOMPUTE_READS))  # not the old `sla` and the rest
                    .where(Ticket.id.between(first, last), Ticket.status.notin_(STOPPED_STATUSES))
                    .order_by(Ticket.id)
                    .with_for_update(skip_locked=True)
                )
                if policy_ids is not None:
                    stmt = stmt.where(Ticket.sla_policy_id.in_(policy_ids))
                tickets = (await session.scalars(stmt)).all()
                if tickets:
                    await _recompute_chunk(session, tickets, rules=rules, now=now)
                done += len(tickets)
        return done

    return sum(await asyncio.gather(*(work() for _ in range(max(1, concurrency)))))


async def _recompute_chunk(
    session: AsyncSession, tickets: Sequence[Ticket], *, rules: RuleBook, now: datetime
) -> None:
    tiers: dict[int, str | None] = {}
    if any("account_tier" in p.conditions for p in rules.policies):
        ids = {t.account_id for t in tickets if t.account_id is not None}
        rows = await session.execute(select(Account.id, Account.tier).where(Account.id.in_(ids)))
        tiers = {row[0]: row[1] for row in rows}
    events = await load_event_rows(session, [t.id for t in tickets])
    updates: list[dict[str, Any]] = []
    records: list[Record] = []
    for ticket in tickets:
        tier = tiers.get(ticket.account_id) if ticket.account_id is not None else None
        stored = compute_stored(
            rules,
            facts_of(ticket, tier),
            events[ticket.id],
            opening=opening_of(ticket),
            status=ticket.status,
            fired=ticket.sla_fired or [],
            now=now,
        )
        fired = set(ticket.sla_fired or [])
        set_committed_value(ticket, "sla_policy_id", stored.policy_id)
        found = records_for(ticket, stored, fired)
        records += found
        fired |= {r.key for r in found}
        updates.append(
            {
                "id": ticket.id,
                "sla": stored.sla,
                "sla_policy_id": stored.policy_id,
                "sla_due_at": stored.due_at,
                "sla_next_event_at": stored.next_event_at,
                "sla_fired": sorted(fired),
            }
        )
    await write_derived_many(session, updates)
    await insert_records(session, records, now=now)
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": SLA_CHANNEL})
