"""A realistic demo data set for `relaydesk seed-demo`: a helpdesk two months into use.

Rows go in with bulk INSERTs (a few statements per table), so a seed takes seconds. The
function only flushes; the CLI commits. Random choices come from a fixed seed, so two demo
databases look alike.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.agents.models import Agent, AgentSkill, Skill, Team, team_members
from app.contacts.models import Contact, ContactIdentity
from app.inboxes.models import Inbox
from app.security.passwords import hash_password
from app.seed.content import (
    ACCOUNTS,
    AGENT_REPLIES,
    AGENTS,
    CONTACT_REPLIES,
    DEMO_ADMIN_EMAIL,
    DEMO_DAYS,
    DEMO_DOMAIN,
    DEMO_PASSWORD,
    FIRST_NAMES,
    INBOXES,
    INTERNAL_NOTES,
    LAST_NAMES,
    LOCALES,
    PRIORITY_WEIGHTS,
    PRODUCTS,
    REGIONS,
    SKILLS,
    STATUS_WEIGHTS,
    TAGS,
    TEAMS,
    TOPICS,
)
from app.seed.desk import seed_desk
from app.tickets.lifecycle import import_history
from app.tickets.models import PRIORITIES, STATUSES

Progress = Callable[[str, int, int], None]


class DemoDataPresent(ValueError):
    """The database already holds the demo data set (its admin exists)."""


@dataclass(frozen=True)
class _Contact:
    id: int
    name: str
    email: str
    account_id: int | None


async def seed_demo(
    session: AsyncSession,
    *,
    contacts: int = 300,
    tickets: int = 600,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Insert the demo data set and return row counts per table; flushes, never commits.

    Raises `DemoDataPresent` (a `ValueError`) when the demo admin already exists, so a
    second run does not duplicate everything.
    """
    if contacts < 1 or tickets < 1:
        raise ValueError("contacts and tickets must be positive")
    if await session.scalar(select(Agent.id).where(Agent.email == DEMO_ADMIN_EMAIL)):
        raise DemoDataPresent("demo data already present")
    report: Progress = progress or (lambda stage, done, total: None)
    now = now or datetime.now(UTC)
    rng = random.Random(20_24)  # noqa: S311 - demo data, not secrets
    counts: dict[str, int] = {}

    report("accounts", 0, len(ACCOUNTS))
    account_ids = await _insert_ids(
        session,
        Account,
        [
            {
                "name": name,
                "domains": [_domain(name)],
                "tier": tier,
                "custom_fields": {"region": rng.choice(REGIONS), "seats": rng.randint(5, 400)},
                "created_at": now - timedelta(days=rng.randint(DEMO_DAYS, 720)),
            }
            for name, tier in ACCOUNTS
        ],
    )
    counts["accounts"] = len(account_ids)
    report("accounts", len(account_ids), len(ACCOUNTS))

    people, counts["contact_identities"] = await _seed_contacts(
        session, rng, account_ids, contacts, now, report
    )
    counts["contacts"] = len(people)

    report("agents", 0, len(AGENTS))
    team_ids = await _get_or_create(
        session, Team, {n: {"description": d} for n, d in TEAMS.items()}
    )
    skill_ids = await _get_or_create(session, Skill, {n: {} for n in SKILLS})
    password_hash = await hash_password(DEMO_PASSWORD)  # argon2 is slow: hash once
    agent_ids = await _insert_ids(
        session,
        Agent,
        [
            {
                "email": DEMO_ADMIN_EMAIL if role == "admin" else _agent_email(name),
                "name": name,
                "role": role,
                "password_hash": password_hash,
                "presence": rng.choice(("online", "online", "away", "offline")),
                "capacity": {"email": 12, "chat": 3, "api": 12},
                "created_at": now - timedelta(days=DEMO_DAYS + rng.randint(1, 90)),
            }
            for name, role, _, _ in AGENTS
        ],
    )
    await session.execute(
        insert(team_members),
        [
            {"team_id": team_ids[team], "agent_id": agent_id}
            for agent_id, (_, _, teams, _) in zip(agent_ids, AGENTS, strict=True)
            for team in teams
        ],
    )
    await session.execute(
        insert(AgentSkill),
        [
            {"agent_id": agent_id, "skill_id": skill_ids[skill], "level": level}
            for agent_id, (_, _, _, skills) in zip(agent_ids, AGENTS, strict=True)
            for skill, level in skills.items()
        ],
    )
    counts.update(agents=len(agent_ids), teams=len(team_ids), skills=len(skill_ids))
    report("agents", len(agent_ids), len(AGENTS))

    inbox_ids = await _insert_ids(
        session,
        Inbox,
        [
            {"name": name, "channel": channel, "team_id": team_ids[team], "settings": settings}
            for name, channel, team, settings in INBOXES
        ],
    )
    counts["inboxes"] = len(inbox_ids)

    members: dict[str, list[int]] = {team: [] for team in TEAMS}
    for agent_id, (_, _, teams, _) in zip(agent_ids, AGENTS, strict=True):
        for team in teams:
            members[team].append(agent_id)
    plan = _TicketPlan(
        rng=rng,
        now=now,
        people=people,
        inboxes=list(zip(inbox_ids, INBOXES, strict=True)),
        team_ids=team_ids,
        skill_ids=skill_ids,
        members=members,
    )
    counts["tickets"], counts["messages"] = await _seed_tickets(session, plan, tickets, report)
    admin_id = next(
        a for a, (_, role, _, _) in zip(agent_ids, AGENTS, strict=True) if role == "admin"
    )
    counts.update(await seed_desk(session, admin_id=admin_id, team_ids=team_ids))
    await session.flush()
    return counts


async def _insert_ids(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk INSERT … RETURNING id, ids in the order of `rows`."""
    if not rows:
        return []
    result = await session.execute(
        insert(model).returning(model.id, sort_by_parameter_order=True), rows
    )
    return list(result.scalars().all())


async def _get_or_create(
    session: AsyncSession, model: Any, wanted: dict[str, dict[str, Any]]
) -> dict[str, int]:
    """Ids by unique name: teams and skills may already exist in a database in use."""
    rows = await session.execute(select(model.name, model.id).where(model.name.in_(wanted)))
    existing: dict[str, int] = dict(rows.all())
    missing = [name for name in wanted if name not in existing]
    created = await _insert_ids(session, model, [{"name": n, **wanted[n]} for n in missing])
    return {**existing, **dict(zip(missing, created, strict=True))}


async def _seed_contacts(
    session: AsyncSession,
    rng: random.Random,
    account_ids: Sequence[int],
    count: int,
    now: datetime,
    report: Progress,
) -> tuple[list[_Contact], int]:
    report("contacts", 0, count)
    rows: list[dict[str, Any]] = []
    for i in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{first}.{last}.{i}".lower()
        account_index = rng.randrange(len(account_ids)) if rng.random() < 0.85 else None
        domain = _domain(ACCOUNTS[account_index][0]) if account_index is not None else "mail.test"
        locale, time_zone = rng.choice(LOCALES)
        has_phone = rng.random() < 0.3
        rows.append(
            {
                "name": f"{first} {last}",
                "email": f"{local}@{domain}",
                "phone": f"+1555{i:07d}" if has_phone else None,
                "locale": locale,
                "time_zone": time_zone,
                "account_id": account_ids[account_index] if account_index is not None else None,
                "custom_fields": {"job_title": rng.choice(("CTO", "Office manager", "Engineer",
                                                           "Accountant", "Founder"))},
                "created_at": now - timedelta(days=rng.uniform(DEMO_DAYS, 400)),
            }
        )  # fmt: skip
    ids = await _insert_ids(session, Contact, rows)
    identities: list[dict[str, Any]] = []
    people: list[_Contact] = []
    for contact_id, row in zip(ids, rows, strict=True):
        identities.append({"contact_id": contact_id, "kind": "email", "value": row["email"]})
        if row["phone"]:
            identities.append({"contact_id": contact_id, "kind": "phone", "value": row["phone"]})
            if rng.random() < 0.5:  # the same number on WhatsApp
                identities.append(
                    {"contact_id": contact_id, "kind": "whatsapp", "value": row["phone"]}
                )
        people.append(_Contact(contact_id, row["name"], row["email"], row["account_id"]))
    await session.execute(insert(ContactIdentity), identities)
    report("contacts", count, count)
    return people, len(identities)


@dataclass
class _TicketPlan:
    rng: random.Random
    now: datetime
    people: list[_Contact]
    inboxes: list[tuple[int, tuple[str, str, str, dict[str, Any]]]]
    team_ids: dict[str, int]
    skill_ids: dict[str, int]
    members: dict[str, list[int]]


async def _seed_tickets(
    session: AsyncSession, plan: _TicketPlan, count: int, report: Progress
) -> tuple[int, int]:
    rng = plan.rng
    report("tickets", 0, count)
    combos = [(s, p) for s in STATUSES for p in PRIORITIES]  # the first tickets cover them all
    tickets: list[dict[str, Any]] = []
    threads: list[list[dict[str, Any]]] = []
    for i in range(count):
        if i < len(combos):
            status, priority = combos[i]
        else:
            status = rng.choices(list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()))[0]
            priority = rng.choices(list(PRIORITY_WEIGHTS), list(PRIORITY_WEIGHTS.values()))[0]
        ticket, thread = _ticket(plan, i, status, priority)
        tickets.append(ticket)
        threads.append(thread)

    report("tickets", 0, count)
    ticket_ids = await import_history(session, tickets, threads)
    report("tickets", count, count)
    messages = sum(len(thread) for thread in threads)
    report("messages", messages, messages)
    return len(ticket_ids), messages


def _ticket(
    plan: _TicketPlan, index: int, status: str, priority: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One ticket row and its thread, with timestamps that agree with the status."""
    rng, now = plan.rng, plan.now
    inbox_id, (_, channel, inbox_team, _) = rng.choice(plan.inboxes)
    team = inbox_team if rng.random() < 0.6 else rng.choice(list(TEAMS))
    subject, body, skill = rng.choice(TOPICS[team])
    fill = {"n": rng.randint(100, 9999), "product": rng.choice(PRODUCTS)}
    contact = rng.choice(plan.people)
    done = status in {"solved", "closed"}
    # Closed tickets were solved a few days before closing, so they must be older.
    age = timedelta(days=rng.uniform(6 if status == "closed" else 0.05, DEMO_DAYS))
    created = now - age
    assignee = None
    if status != "new" and rng.random() < 0.9:
        assignee = rng.choice(plan.members[team])

    replies = 0 if status == "new" else rng.randint(1, 5)
    if status == "new":
        count = rng.randint(1, 2)
    else:
        count = min(6, 1 + replies + (1 if rng.random() < 0.3 else 0))
    # Message times: the first when the ticket is opened, then spaced inside its age.
    budget = (age - timedelta(days=5) if status == "closed" else age) * 0.9
    times = sorted(created + budget * rng.random() for _ in range(count - 1))
    times = [created, *times]

    thread: list[dict[str, Any]] = []
    first_response: datetime | None = None
    note_written = False
    for seq, at in enumerate(times, start=1):
        if seq == 1:
            kind = "inbound"
        elif status == "new":
            kind = "inbound"  # a customer following up before anyone answered
        elif first_response is None:
            kind = "outbound"
        elif not note_written and rng.random() < 0.25:
            kind = "note"
        else:
            kind = rng.choice(("inbound", "outbound"))
        agent = assignee or rng.choice(plan.members[team])
        if kind == "inbound":
            thread.append(
                _message(
                    seq,
                    at,
                    direction="inbound",
                    author_type="contact",
                    author_contact_id=contact.id,
                    subject=subject.format(**fill) if seq == 1 else None,
                    body=body.format(**fill) if seq == 1 else rng.choice(CONTACT_REPLIES),
                    inbox_id=inbox_id,
                    external_id=(
                        f"<demo-{index}-{seq}@{contact.email.rsplit('@', 1)[1]}>"
                        if channel == "email"
                        else f"demo-{channel}-{index}-{seq}"
                    ),
                    status="received",
                )
            )
        elif kind == "note":
            note_written = True
            thread.append(
                _message(
                    seq,
                    at,
                    direction="outbound",
                    author_type="agent",
                    author_agent_id=agent,
                    internal=True,
                    body=rng.choice(INTERNAL_NOTES),
                    status="sent",
                    sent_at=at,
                )
            )
        else:
            first_response = first_response or at
            thread.append(
                _message(
                    seq,
                    at,
                    direction="outbound",
                    author_type="agent",
                    author_agent_id=agent,
                    body=rng.choice(AGENT_REPLIES),
                    inbox_id=inbox_id,
                    status="delivered",
                    sent_at=at + timedelta(seconds=2),
                    delivered_at=at + timedelta(seconds=5),
                )
            )

    last = times[-1]
    solved_at = closed_at = None
    if done:
        solved_at = min(now, last + timedelta(minutes=rng.randint(5, 240)))
        if status == "closed":
            closed_at = solved_at + timedelta(days=rng.uniform(3, 4.5))
    updated = max(t for t in (last, solved_at, closed_at) if t is not None)
    if not done and rng.random() < 0.3:  # a status or tag change after the last message
        updated = min(now, updated + timedelta(hours=rng.uniform(0.1, 12)))
    tags = rng.sample(TAGS, rng.choice((0, 1, 1, 2, 2, 3)))
    if priority == "urgent" and "outage" not in tags and team == "Technical":
        tags.append("outage")
    ticket = {
        "subject": subject.format(**fill),
        "status": status,
        "priority": priority,
        "channel": channel,
        "inbox_id": inbox_id,
        "contact_id": contact.id,
        "account_id": contact.account_id,
        "assignee_id": assignee,
        "team_id": plan.team_ids[team],
        "required_skill_ids": [plan.skill_ids[skill]],
        "tags": tags,
        "custom_fields": (
            {"product": fill["product"], "order_id": f"ORD-{rng.randint(10000, 99999)}"}
            if team == "Billing"
            else {"product": fill["product"]}
        ),
        "first_responded_at": first_response,
        "solved_at": solved_at,
        "closed_at": closed_at,
        "created_at": created,
        "updated_at": updated,
    }
    return ticket, thread


def _message(seq: int, at: datetime, *, body: str, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "seq": seq,
        "author_contact_id": None,
        "author_agent_id": None,
        "internal": False,
        "subject": None,
        "body_text": body,
        "inbox_id": None,
        "external_id": None,
        "sent_at": None,
        "delivered_at": None,
        "created_at": at,
    }
    row.update(fields)
    return row


def _domain(account_name: str) -> str:
    return account_name.lower().replace(" ", "-") + ".example"


def _agent_email(name: str) -> str:
    return name.lower().replace(" ", ".") + f"@{DEMO_DOMAIN}"
