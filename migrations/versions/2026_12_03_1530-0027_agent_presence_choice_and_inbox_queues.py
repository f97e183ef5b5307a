"""agents: the presence they chose (held until they change it) and when their last socket
closed (offline once the grace period has passed); routing queues per inbox; NOTIFY the
routing driver's sweep when an agent goes offline or loses their last socket

Revision ID: 0027
Revises: 0025
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied from routing.wakeup (migrations never import app code).
ROUTING_CHANNEL = "relaydesk_routing"


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.add_column("agents", sa.Column("presence_choice", sa.String(length=20), nullable=True))
    op.add_column("agents", sa.Column("disconnected_at", sa.DateTime(timezone=True)))
    op.create_check_constraint(
        "presence_choice", "agents", "presence_choice IN ('online', 'away', 'offline')"
    )
    op.add_column("routing_queues", sa.Column("inbox_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_routing_queues_inbox_id_inboxes"),
        "routing_queues",
        "inboxes",
        ["inbox_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_unique_constraint(op.f("uq_routing_queues_inbox_id"), "routing_queues", ["inbox_id"])
    op.create_check_constraint(
        "team_or_inbox", "routing_queues", "team_id IS NULL OR inbox_id IS NULL"
    )
    op.execute(
        f"""
        CREATE FUNCTION agents_routing_sweep_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{ROUTING_CHANNEL}', 'sweep');
            RETURN NULL;
        END $$
        """
    )
    # An agent gone offline (their chats requeue after the grace) or whose last socket
    # closed (they go offline after it): the sweep schedules itself for that moment.
    op.execute(
        """
        CREATE TRIGGER agents_routing_sweep_notify AFTER UPDATE OF presence, disconnected_at
        ON agents FOR EACH ROW
        WHEN ((NEW.presence = 'offline' AND OLD.presence IS DISTINCT FROM NEW.presence)
              OR (NEW.disconnected_at IS NOT NULL AND OLD.disconnected_at IS NULL))
        EXECUTE FUNCTION agents_routing_sweep_notify()
        """
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.execute("DROP TRIGGER agents_routing_sweep_notify ON agents")
    op.execute("DROP FUNCTION agents_routing_sweep_notify()")
    op.drop_constraint(op.f("ck_routing_queues_team_or_inbox"), "routing_queues", type_="check")
    op.drop_constraint(op.f("uq_routing_queues_inbox_id"), "routing_queues", type_="unique")
    op.drop_constraint(
        op.f("fk_routing_queues_inbox_id_inboxes"), "routing_queues", type_="foreignkey"
    )
    op.drop_column("routing_queues", "inbox_id")
    op.drop_constraint(op.f("ck_agents_presence_choice"), "agents", type_="check")
    op.drop_column("agents", "disconnected_at")
    op.drop_column("agents", "presence_choice")
