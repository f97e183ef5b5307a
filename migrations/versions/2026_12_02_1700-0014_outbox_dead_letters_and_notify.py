"""outbox: a uuid per event for job ids, per-event retry and dead letters, NOTIFY on commit;
inboxes: NOTIFY when one is created, changed or removed

- `outbox_events.uuid` names the event's arq jobs: unlike the id, no recreated or restored
  database repeats it while Redis still remembers the jobs of the old one.
- `retry_at` defers an event that failed (it waits, the events behind it go out) and
  `dead_at` marks one that failed too often: the relay claims neither.
- The relay and the mail supervisor LISTEN: PostgreSQL delivers these notifications when
  the writing transaction commits (never before, never for a rollback).

Adding `uuid` rewrites outbox_events (a volatile default); the table holds a week of
events at most (prune_outbox), and the lock timeout keeps a busy relay from waiting on it.

Revision ID: 0014
Revises: 0016
Create Date: 2026-12-02 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied from app.outbox.notify and app.inboxes.notify (migrations never import app code).
OUTBOX_CHANNEL = "relaydesk_outbox"
INBOXES_CHANNEL = "relaydesk_inboxes"


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.add_column(
        "outbox_events",
        sa.Column(
            "uuid",
            postgresql.UUID(as_uuid=True),
            server_default=sa.text("gen_random_uuid()"),
            nullable=False,
        ),
    )
    op.add_column("outbox_events", sa.Column("retry_at", sa.DateTime(timezone=True)))
    op.add_column("outbox_events", sa.Column("dead_at", sa.DateTime(timezone=True)))
    op.drop_index("ix_outbox_events_pending", table_name="outbox_events")
    op.create_index(
        "ix_outbox_events_pending",
        "outbox_events",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL AND dead_at IS NULL"),
    )
    op.create_index(
        "ix_outbox_events_dead",
        "outbox_events",
        ["id"],
        postgresql_where=sa.text("dead_at IS NOT NULL"),
    )
    # One notification per statement: the relay drains everything pending when it wakes.
    op.execute(
        f"""
        CREATE FUNCTION outbox_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{OUTBOX_CHANNEL}', '');
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER outbox_events_notify AFTER INSERT ON outbox_events
        FOR EACH STATEMENT EXECUTE FUNCTION outbox_events_notify()
        """
    )
    # The inbox's id, so a worker restarts just that inbox's poller.
    op.execute(
        f"""
        CREATE FUNCTION inboxes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify(
                '{INBOXES_CHANNEL}', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END::text
            );
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER inboxes_notify AFTER INSERT OR UPDATE OR DELETE ON inboxes
        FOR EACH ROW EXECUTE FUNCTION inboxes_notify()
        """
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.execute("DROP TRIGGER inboxes_notify ON inboxes")
    op.execute("DROP FUNCTION inboxes_notify()")
    op.execute("DROP TRIGGER outbox_events_notify ON outbox_events")
    op.execute("DROP FUNCTION outbox_events_notify()")
    op.drop_index("ix_outbox_events_dead", table_name="outbox_events")
    op.drop_index("ix_outbox_events_pending", table_name="outbox_events")
    op.create_index(
        "ix_outbox_events_pending",
        "outbox_events",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_column("outbox_events", "dead_at")
    op.drop_column("outbox_events", "retry_at")
    op.drop_column("outbox_events", "uuid")
