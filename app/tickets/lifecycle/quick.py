"""A customer's message in one statement, for the hot path of a live conversation.

`append_message` costs a round trip per step (the seq claim, the message, the timeline,
the outbox, each hook's reads and writes) inside BEGIN and COMMIT. For the commonest
moment of a chat, a customer writing again on their open conversation, none of that
order is needed: the caller reads the ticket once (its columns, its row version, and what
the hooks asked to read, see `QuietDerivation`), computes, and this module writes the
seq claim, the message, its `ticket_events` row, its outbox row and the hooks' derived
columns in ONE statement, outside any explicit transaction (a single statement is atomic
by itself). The UPDATE only applies if the ticket row is still the version read
(`xmin`): anything that changed the ticket meanwhile makes it write nothing, and the
caller reads again. A client message id stored before fails the statement on the
(inbox, external id) constraint, so nothing of it is written either.

Only a message that changes no ticket field qualifies (`quiet`): no reopen, not a ticket's
first message (routing's rules read that one), no attachments. Anything else goes through
`append_message`, which remains the reference: the hooks' derivation must give what their
`after_message_appended` would have written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Label, Select, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.messages.events import message_event
from app.messages.models import Message
from app.outbox.service import MESSAGE_CREATED
from app.tickets.hooks import Derived
from app.tickets.lifecycle.derived import DERIVED_FIELDS
from app.tickets.lifecycle.messages import NewMessage
from app.tickets.models import Ticket

# A customer's message leaves these statuses as they are (automatic_values).
QUIET_STATUSES = ("new", "open", "on_hold")

# What the ticket is read with: what deciding, the message's event and the SLA need.
TICKET_COLUMNS = (
    Ticket.id,
    Ticket.number,
    Ticket.status,
    Ticket.priority,
    Ticket.channel,
    Ticket.inbox_id,
    Ticket.contact_id,
    Ticket.account_id,
    Ticket.team_id,
    Ticket.assignee_id,
    Ticket.tags,
    Ticket.created_at,
    Ticket.last_seq,
    Ticket.merged_into_id,
    Ticket.sla,
    Ticket.sla_policy_id,
    Ticket.sla_due_at,
    Ticket.sla_next_event_at,
    Ticket.sla_fired,
)
VERSION: Label[str] = literal_column("tickets.xmin::text").label("row_version")


def ticket_read(ticket_id: Any) -> Select[Any]:
    """The ticket's columns and row version (`ticket_id` a value or a bindparam);
    callers add their own columns to it."""
    return select(*TICKET_COLUMNS, VERSION).where(Ticket.id == ticket_id)


def ticket_of(row: Mapping[Any, Any]) -> Ticket:
    """A transient Ticket (in no session) with the columns read, for the hooks' pure
    derivations, which read a ticket's attributes."""
    return Ticket(**{c.key: row[c.key] for c in TICKET_COLUMNS})


def quiet(ticket: Ticket) -> bool:
    """A customer's message on this ticket changes none of its fields and runs no routing
    (the ticket has had its first message)."""
    return (
        ticket.status in QUIET_STATUSES and ticket.merged_into_id is None and ticket.last_seq >= 2
    )


@dataclass(frozen=True)
class QuietAppended:
    message_id: int
    seq: int
    topic: str
    payload: dict[str, Any]


# Fixed text, so each connection prepares it once. `xmin` is the row's version: the
# UPDATE applies only to the ticket as it was read.
APPEND = text(
    """
WITH t AS (
    UPDATE tickets SET
        last_seq = last_seq + 1,
        updated_at = CAST(:now AS timestamptz),
        sla = CASE WHEN CAST(:derive AS boolean) THEN CAST(:sla AS jsonb) ELSE sla END,
        sla_policy_id = CASE WHEN CAST(:derive AS boolean)
            THEN CAST(:sla_policy_id AS bigint) ELSE sla_policy_id END,
        sla_due_at = CASE WHEN CAST(:derive AS boolean)
            THEN CAST(:sla_due_at AS timestamptz) ELSE sla_due_at END,
        sla_next_event_at = CASE WHEN CAST(:derive AS boolean)
            THEN CAST(:sla_next_event_at AS timestamptz) ELSE sla_next_event_at END,
        sla_fired = CASE WHEN CAST(:derive AS boolean)
            THEN CAST(:sla_fired AS text[]) ELSE sla_fired END
    WHERE id = CAST(:ticket_id AS bigint) AND xmin::text = CAST(:version AS text)
    RETURNING id, last_seq
), m AS (
    INSERT INTO messages (
        ticket_id, seq, direction, author_type, author_contact_id, internal, body_text,
        inbox_id, external_id, status, channel_data, referenced_ids, created_at
    )
    SELECT t.id, t.last_seq, 'inbound', 'contact', CAST(:contact_id AS bigint), false,
           CAST(:body AS text), CAST(:inbox_id AS bigint), CAST(:external_id AS varchar),
           'received', CAST(:channel_data AS jsonb), '{}', CAST(:now AS timestamptz)
    FROM t
    RETURNING id, ticket_id, seq
), d AS (
    SELECT m.ticket_id, m.seq, jsonb_build_object(
        'message_id', m.id, 'ticket_id', m.ticket_id, 'seq', m.seq, 'direction', 'inbound',
        'internal', false, 'status', 'received', 'author_type', 'contact') AS data
    FROM m
), e AS (
    INSERT INTO ticket_events (ticket_id, seq, type, at, actor_type, actor_id, data)
    SELECT d.ticket_id, d.seq, 'message.created', CAST(:now AS timestamptz), 'contact',
           CAST(:contact_id AS bigint), d.data
    FROM d
), o AS (
    INSERT INTO outbox_events (topic, ticket_id, seq, payload)
    SELECT 'message.created', d.ticket_id, d.seq, d.data FROM d
), n AS (
    SELECT count(pg_notify(channel, '')) AS sent
    FROM unnest(CAST(:notify AS text[])) AS channel
)
SELECT m.id, m.seq, (SELECT sent FROM n) FROM m
"""
)


async def append_quietly(
    session: AsyncSession,
    ticket: Ticket,
    version: str,
    new: NewMessage,
    derived: Derived,
    *,
    now: datetime,
) -> QuietAppended | None:
    """Store `new` (a customer's, `quiet` on `ticket` as read at `version`) with its event,
    outbox row and derived columns in one statement; None if the ticket changed since it
    was read (nothing was written: read again). Raises the IntegrityError of the (inbox,
    external id) constraint if the message is stored already. The session's connection
    must be in autocommit: the statement is its own transaction."""
    unknown = set(derived.values) - DERIVED_FIELDS
    if unknown:
        raise ValueError(f"not derived columns: {sorted(unknown)}")
    values = derived.values
    row = (
        await session.execute(
            APPEND,
            {
                "ticket_id": ticket.id,
                "version": version,
                "now": now,
                "derive": bool(values),
                "sla": None if values.get("sla") is None else json.dumps(values["sla"]),
                "sla_policy_id": values.get("sla_policy_id"),
                "sla_due_at": values.get("sla_due_at"),
                "sla_next_event_at": values.get("sla_next_event_at"),
                "sla_fired": list(values.get("sla_fired") or []),
                "contact_id": new.author_contact_id,
                "body": new.body_text,
                "inbox_id": new.inbox_id,
                "external_id": new.external_id,
                "channel_data": json.dumps(
                    {**new.channel_data, **({"automated": True} if new.automated else {})}
                ),
                "notify": list(derived.notify),
            },
        )
    ).first()
    if row is None:
        return None
    message = Message(
        id=row[0],
        ticket_id=ticket.id,
        seq=row[1],
        direction="inbound",
        internal=False,
        status="received",
        author_type="contact",
    )
    return QuietAppended(row[0], row[1], MESSAGE_CREATED, message_event(message))
