"""What the email ingest benchmark's import left in PostgreSQL, and how well it threaded.

The generator knows each message's conversation (`MailGenerator.conversations`); the
check compares that with the ticket each message landed on. A conversation's ticket is
the one its first message is on; a reply or auto-reply is threaded when it is there too.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import asyncpg


async def verify(conn: asyncpg.Connection) -> dict[str, Any]:
    statuses = await conn.fetch(
        "SELECT status, count(*) AS n FROM inbound_items GROUP BY status ORDER BY status"
    )
    errors = await conn.fetch(
        "SELECT status, error FROM inbound_items WHERE status <> 'imported' ORDER BY id LIMIT 5"
    )
    return {
        "inbound_items": {r["status"]: r["n"] for r in statuses},
        "inbound_messages": await conn.fetchval(
            "SELECT count(*) FROM messages WHERE direction = 'inbound'"
        ),
        "tickets": await conn.fetchval("SELECT count(*) FROM tickets"),
        "tickets_with_follow_ups": await conn.fetchval(
            "SELECT count(*) FROM (SELECT ticket_id FROM messages WHERE direction = 'inbound'"
            " GROUP BY ticket_id HAVING count(*) > 1) t"
        ),
        "contacts": await conn.fetchval("SELECT count(*) FROM contacts"),
        "attachments": await conn.fetchval("SELECT count(*) FROM attachments"),
        "outbox_events": await conn.fetchval("SELECT count(*) FROM outbox_events"),
        "html_messages": await conn.fetchval(
            "SELECT count(*) FROM messages WHERE body_html IS NOT NULL"
        ),
        "errors": [f"{r['status']}: {r['error']}" for r in errors],
    }


async def threading(
    conn: asyncpg.Connection, conversations: dict[str, tuple[str, str]]
) -> dict[str, Any]:
    """Replies and auto-replies on their conversation's ticket, and who opened tickets."""
    rows = await conn.fetch(
        "SELECT m.external_id, m.ticket_id, m.id = first.id AS opened, t.linked_ticket_id"
        " FROM messages m JOIN tickets t ON t.id = m.ticket_id"
        " JOIN LATERAL (SELECT id FROM messages WHERE ticket_id = m.ticket_id"
        "   ORDER BY id LIMIT 1) first ON true"
        " WHERE m.direction = 'inbound'"
    )
    ticket_of = {r["external_id"]: r["ticket_id"] for r in rows}
    counts: Counter[str] = Counter()
    for row in rows:
        root, kind = conversations[row["external_id"]]
        if kind == "new":
            continue
        counts[f"{kind}_on_conversation_ticket"] += ticket_of.get(root) == row["ticket_id"]
        counts[f"{kind}_opened_ticket"] += row["opened"]
    kinds = Counter(kind for _, kind in conversations.values())
    linked = {r["ticket_id"] for r in rows if r["linked_ticket_id"] is not None}
    return {
        "conversations": kinds["new"],
        "replies": kinds["reply"],
        "auto_replies": kinds["auto"],
        "tickets": len(set(ticket_of.values())),
        "replies_threaded": counts["reply_on_conversation_ticket"],
        "replies_opened_ticket": counts["reply_opened_ticket"],
        "auto_replies_threaded": counts["auto_on_conversation_ticket"],
        "auto_replies_opened_ticket": counts["auto_opened_ticket"],
        "auto_replies_kept_aside": await conn.fetchval(
            "SELECT count(*) FROM inbound_items WHERE status = 'ignored'"
        ),
        "tickets_linked": len(linked),
    }
