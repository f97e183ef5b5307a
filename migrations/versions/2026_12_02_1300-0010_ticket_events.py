"""ticket_events: every ticket's history by seq (timeline and realtime resume path)

Existing tickets get their history back from what is left of it: the outbox events not
yet pruned, then one `message.created` per message and a `ticket.created` at seq 1 where
neither covers the seq.

Revision ID: 0010
Revises: 0006
Create Date: 2026-12-02 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_events",
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=10), nullable=True),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_events_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", "seq", name=op.f("pk_ticket_events")),
    )
    op.execute(
        """
        INSERT INTO ticket_events (ticket_id, seq, type, at, actor_type, data)
        SELECT DISTINCT ON (ticket_id, seq) ticket_id, seq, topic, created_at, 'system', payload
        FROM outbox_events WHERE ticket_id IS NOT NULL AND seq IS NOT NULL
        ORDER BY ticket_id, seq, id
        ON CONFLICT DO NOTHING
        """
    )
    op.execute(
        """
        INSERT INTO ticket_events (ticket_id, seq, type, at, actor_type, actor_id, data)
        SELECT m.ticket_id, m.seq, 'message.created', m.created_at,
               CASE WHEN m.author_type = 'system' THEN 'system' ELSE m.author_type END,
               COALESCE(m.author_agent_id, m.author_contact_id),
               jsonb_build_object(
                   'message_id', m.id, 'ticket_id', m.ticket_id, 'seq', m.seq,
                   'direction', m.direction, 'internal', m.internal, 'status', m.status,
                   'author_type', m.author_type)
        FROM messages m
        ON CONFLICT DO NOTHING
        """
    )
    op.execute(
        """
        INSERT INTO ticket_events (ticket_id, seq, type, at, actor_type, data)
        SELECT t.id, 1, 'ticket.created', t.created_at, 'system',
               jsonb_build_object('ticket_id', t.id, 'number', t.number, 'imported', true)
        FROM tickets t WHERE t.last_seq >= 1
        ON CONFLICT DO NOTHING
        """
    )


def downgrade() -> None:
    op.drop_table("ticket_events")
