"""Bulk-load a helpdesk of realistic shape straight into PostgreSQL (INSERT … SELECT).

The API is too slow a way to write 100,000 tickets for a benchmark, so the reference data
(accounts, contacts, agents, teams, inboxes) and the tickets are generated server-side with
`generate_series`. Distributions follow a busy support desk: a quarter of tickets open,
most closed or solved, 5% urgent, one ticket in six unassigned, tags on most tickets, a
year of history with ids increasing with creation time.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime

import asyncpg

TAGS = ["billing", "refund", "bug", "login", "vip", "feature-request", "how-to", "api",
        "mobile", "churn-risk", "outage", "import"]  # fmt: skip
INBOXES = [("Support email", "email"), ("Website chat", "chat"), ("WhatsApp", "whatsapp"),
           ("Partner API", "api")]  # fmt: skip
TEAMS = ["Billing", "Technical", "Onboarding", "Customer Success", "Enterprise", "Tier 2"]


@dataclass(frozen=True)
class Loaded:
    tickets: int
    agents: list[int]
    teams: list[int]
    inboxes: list[int]
    contacts: int
    seconds: float


REFERENCE_SQL = """
INSERT INTO accounts (name, domains, tier)
SELECT 'Account ' || g, ARRAY['account' || g || '.example'],
       (ARRAY['starter', 'business', 'enterprise'])[1 + g % 3]
FROM generate_series(1, $1::int) g;

-- One contact in ($1 + 20) has no account: a freemail address.
INSERT INTO contacts (name, email, account_id, created_at, updated_at)
SELECT 'Contact ' || g, 'contact' || g || '@' || coalesce(a.domains[1], 'mail.example'), a.id,
       now() - interval '400 days', now() - interval '400 days'
FROM generate_series(1, $2::int) g
LEFT JOIN accounts a ON a.name = 'Account ' || (1 + g % ($1::int + 20));

INSERT INTO contact_identities (contact_id, kind, value)
SELECT id, 'email', email FROM contacts WHERE email LIKE 'contact%' ON CONFLICT DO NOTHING;
"""

TICKETS_SQL = """
WITH params AS (
    SELECT $1::int AS n, $2::bigint[] AS agents, $3::bigint[] AS teams, $4::bigint[] AS inboxes,
           $5::text[] AS channels, $6::text[] AS tags, $7::bigint[] AS contacts,
           $8::bigint[] AS contact_accounts, $9::timestamptz AS now
), draws AS (
    SELECT g, random() AS r_status, random() AS r_priority, random() AS r_assign,
           random() AS r_agent, random() AS r_team, random() AS r_inbox, random() AS r_contact,
           random() AS r_tags, random() AS r_tag1, random() AS r_tag2, random() AS r_age,
           random() AS r_update
    FROM params, generate_series(1, (SELECT n FROM params)) g
), shaped AS (
    SELECT d.*,
        CASE WHEN r_status < 0.08 THEN 'new' WHEN r_status < 0.33 THEN 'open'
             WHEN r_status < 0.45 THEN 'pending' WHEN r_status < 0.50 THEN 'on_hold'
             WHEN r_status < 0.70 THEN 'solved' ELSE 'closed' END AS status,
        CASE WHEN r_priority < 0.20 THEN 'low' WHEN r_priority < 0.75 THEN 'normal'
             WHEN r_priority < 0.95 THEN 'high' ELSE 'urgent' END AS priority,
        1 + floor(r_inbox * cardinality(p.inboxes))::int AS inbox_i,
        1 + floor(r_contact * r_contact * cardinality(p.contacts))::int AS contact_i,
        -- ids follow creation time: ticket g of n was created (n - g)/n of a year ago
        p.now - (interval '365 days') * ((p.n - g)::float8 / p.n) - interval '1 minute' * r_age * 30
            AS created_at
    FROM draws d, params p
)
INSERT INTO tickets (subject, status, priority, channel, inbox_id, contact_id, account_id,
                     assignee_id, team_id, tags, created_at, updated_at, first_responded_at,
                     solved_at, closed_at, last_seq)
SELECT
    'Bench ticket ' || g,
    status,
    priority,
    p.channels[inbox_i],
    p.inboxes[inbox_i],
    p.contacts[contact_i],
    p.contact_accounts[contact_i],
    CASE WHEN status = 'new' OR r_assign < 0.1 THEN NULL
         ELSE p.agents[1 + floor(r_agent * cardinality(p.agents))::int] END,
    p.teams[1 + floor(r_team * cardinality(p.teams))::int],
    CASE WHEN r_tags < 0.3 THEN '{}'::text[]
         WHEN r_tags < 0.75 THEN ARRAY[p.tags[1 + floor(r_tag1 * cardinality(p.tags))::int]]
         ELSE ARRAY(SELECT DISTINCT unnest(ARRAY[
             p.tags[1 + floor(r_tag1 * cardinality(p.tags))::int],
             p.tags[1 + floor(r_tag2 * cardinality(p.tags))::int]]))
    END,
    created_at,
    least(p.now, created_at + interval '1 hour' * r_update * 72),
    CASE WHEN status = 'new' THEN NULL ELSE created_at + interval '1 hour' * r_update END,
    CASE WHEN status IN ('solved', 'closed')
         THEN least(p.now, created_at + interval '1 hour' * r_update * 48) END,
    CASE WHEN status = 'closed'
         THEN least(p.now, created_at + interval '1 hour' * r_update * 72) END,
    1
FROM shaped, params p
ORDER BY g
RETURNING id
"""

MESSAGES_SQL = """
INSERT INTO messages (ticket_id, seq, direction, author_type, author_contact_id, internal,
                      subject, body_text, inbox_id, status, created_at)
SELECT id, 1, 'inbound', 'contact', contact_id, false, subject,
       'Hello, I need help with ' || subject || '.', inbox_id, 'received', created_at
FROM tickets WHERE id > $1
"""


async def load(conn: asyncpg.Connection, *, total: int, now: datetime) -> Loaded:
    """Top the database up to `total` tickets; returns the ids used for the list filters."""
    started = time.monotonic()
    existing: int = await conn.fetchval("SELECT count(*) FROM tickets")
    missing = max(0, total - existing)
    contacts_wanted = max(100, total // 5)
    async with conn.transaction():
        await conn.execute("SELECT setseed(0.42)")
        if not await conn.fetchval("SELECT count(*) FROM contacts WHERE email LIKE 'contact%'"):
            for statement in _statements(REFERENCE_SQL):
                await conn.execute(
                    statement, *_args(statement, max(20, total // 500), contacts_wanted)
                )
        teams = [await _team(conn, name) for name in TEAMS]
        inboxes = [
            await _inbox(conn, name, channel, teams[i % len(teams)])
            for i, (name, channel) in enumerate(INBOXES)
        ]
        agents = await _agents(conn, teams, count=40)
        contact_rows = await conn.fetch(
            "SELECT id, account_id FROM contacts WHERE email LIKE 'contact%' ORDER BY id"
        )
        max_id: int = await conn.fetchval("SELECT coalesce(max(id), 0) FROM tickets")
        if missing:
            await conn.fetch(
                TICKETS_SQL,
                missing,
                agents,
                teams,
                inboxes,
                [channel for _, channel in INBOXES],
                TAGS,
                [r["id"] for r in contact_rows],
                [r["account_id"] for r in contact_rows],
                now,
            )
            await conn.execute(MESSAGES_SQL, max_id)
    await conn.execute("ANALYZE")
    seconds = time.monotonic() - started
    count: int = await conn.fetchval("SELECT count(*) FROM tickets")
    return Loaded(count, agents, teams, inboxes, len(contact_rows), seconds)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";\n") if s.strip()]


def _args(statement: str, accounts: int, contacts: int) -> tuple[int, ...]:
    if "$2" in statement:
        return (accounts, contacts)
    if "$1" in statement:
        return (accounts,)
    return ()


async def _team(conn: asyncpg.Connection, name: str) -> int:
    team_id: int = await conn.fetchval(
        "INSERT INTO teams (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name"
        " RETURNING id",
        name,
    )
    return team_id


async def _inbox(conn: asyncpg.Connection, name: str, channel: str, team_id: int) -> int:
    found = await conn.fetchval("SELECT id FROM inboxes WHERE name = $1", name)
    if found is not None:
        return int(found)
    inbox_id: int = await conn.fetchval(
        "INSERT INTO inboxes (name, channel, team_id, public_key) VALUES ($1, $2, $3, $4)"
        " RETURNING id",
        name,
        channel,
        team_id,
        secrets.token_urlsafe(18),
    )
    return inbox_id


async def _agents(conn: asyncpg.Connection, teams: list[int], *, count: int) -> list[int]:
    await conn.execute(
        """
        INSERT INTO agents (email, name, role)
        SELECT 'agent' || g || '@bench.relaydesk.test', 'Bench Agent ' || g, 'agent'
        FROM generate_series(1, $1::int) g
        ON CONFLICT (email) DO NOTHING
        """,
        count,
    )
    ids = [
        int(r["id"])
        for r in await conn.fetch(
            "SELECT id FROM agents WHERE email LIKE 'agent%@bench.relaydesk.test' ORDER BY id"
        )
    ]
    await conn.executemany(
        "INSERT INTO team_members (team_id, agent_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        [(teams[i % len(teams)], agent_id) for i, agent_id in enumerate(ids)],
    )
    return ids
