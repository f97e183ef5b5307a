"""routing: queues, settings, skill rules, ticket routing state, offers and decisions;
agents' routing pause, presence time and activity; tickets' required skills with levels;
NOTIFY the routing driver when an agent comes online

Revision ID: 0019
Revises: 0014
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied from routing.wakeup (migrations never import app code).
ROUTING_CHANNEL = "relaydesk_routing"


def _tz(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.add_column(
        "agents",
        sa.Column("routing_paused", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.add_column("agents", _tz("presence_since"))
    op.add_column("agents", _tz("last_activity_at"))
    op.add_column(
        "tickets",
        sa.Column(
            "required_skills",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
    )
    # Tickets routed before kept skill ids only: they need level 1.
    op.execute(
        """
        UPDATE tickets SET required_skills = (
            SELECT coalesce(jsonb_agg(jsonb_build_object('skill_id', s, 'min_level', 1)), '[]')
            FROM unnest(required_skill_ids) AS s
        ) WHERE required_skill_ids <> '{}'
        """
    )
    op.create_table(
        "routing_queues",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("position", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("queue_order", sa.String(length=20), server_default="sla_first", nullable=False),
        sa.Column("strategy", sa.String(length=30), server_default="most_spare", nullable=False),
        sa.Column("sticky", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("drop_optional_after_seconds", sa.BigInteger(), server_default="300"),
        sa.Column("overflow_after_seconds", sa.BigInteger(), nullable=True),
        sa.Column(
            "overflow_team_ids",
            postgresql.ARRAY(sa.BigInteger()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("offer_timeout_seconds", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "queue_order IN ('sla_first', 'priority_first')",
            name=op.f("ck_routing_queues_queue_order"),
        ),
        sa.CheckConstraint(
            "strategy IN ('most_spare', 'highest_spare_ratio', 'round_robin', "
            "'best_skill_match')",
            name=op.f("ck_routing_queues_strategy"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_routing_queues_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_queues")),
        sa.UniqueConstraint("team_id", name=op.f("uq_routing_queues_team_id")),
    )  # fmt: skip
    op.create_table(
        "routing_settings",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "counted_statuses",
            postgresql.ARRAY(sa.Text()),
            server_default="{new,open}",
            nullable=False,
        ),
        sa.Column(
            "count_idle_chats", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
        sa.Column("idle_timeout_seconds", sa.BigInteger(), server_default="600"),
        sa.Column("offline_grace_seconds", sa.BigInteger(), server_default="120", nullable=False),
        sa.Column("presence_after_decline", sa.String(length=20), nullable=True),
        sa.Column("presence_after_timeout", sa.String(length=20), server_default="away"),
        sa.Column(
            "team_limits",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "inbox_limits",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.CheckConstraint("id = 1", name=op.f("ck_routing_settings_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_settings")),
    )
    op.create_table(
        "routing_skill_rules",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "skills", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False
        ),
        sa.Column("optional", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "conditions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("keywords", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_skill_rules")),
    )
    op.create_table(
        "ticket_routing",
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        _tz("eligible_since", nullable=False),
        sa.Column("last_agent_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "refused", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "optional_skills",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["last_agent_id"], ["agents.id"], name=op.f("fk_ticket_routing_last_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_routing_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_routing")),
    )  # fmt: skip
    op.create_table(
        "routing_offers",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        _tz("offered_at", nullable=False),
        _tz("expires_at", nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        _tz("answered_at"),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'declined', 'timed_out', 'withdrawn')",
            name=op.f("ck_routing_offers_status"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_routing_offers_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_routing_offers_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_offers")),
    )  # fmt: skip
    op.create_index("ix_routing_offers_agent_id", "routing_offers", ["agent_id"])
    op.create_index(
        "ix_routing_offers_pending_expiry",
        "routing_offers",
        ["expires_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "uq_routing_offers_pending_ticket",
        "routing_offers",
        ["ticket_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "routing_agent_channels",
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        _tz("last_assigned_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_routing_agent_channels_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "channel", name=op.f("pk_routing_agent_channels")),
    )  # fmt: skip
    op.create_table(
        "routing_decisions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        _tz("decided_at", nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "explanation",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.CheckConstraint(
            "action IN ('assign', 'offer', 'wait', 'accepted', 'declined', 'timed_out', "
            "'withdrawn', 'requeue')",
            name=op.f("ck_routing_decisions_action"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_routing_decisions_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_routing_decisions_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_decisions")),
    )  # fmt: skip
    op.create_index(
        "ix_routing_decisions_ticket_id_id", "routing_decisions", ["ticket_id", "id"]
    )
    # An agent coming online (from a socket or the presence API) wakes the routing driver
    # with the agent's id; only on the change, so heartbeats wake nothing.
    op.execute(
        f"""
        CREATE FUNCTION agents_routing_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{ROUTING_CHANNEL}', 'agent:' || NEW.id::text);
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER agents_routing_notify AFTER UPDATE OF presence, routing_paused, capacity
        ON agents FOR EACH ROW
        WHEN (NEW.presence = 'online' AND (OLD.presence IS DISTINCT FROM NEW.presence
              OR OLD.routing_paused IS DISTINCT FROM NEW.routing_paused
              OR OLD.capacity IS DISTINCT FROM NEW.capacity))
        EXECUTE FUNCTION agents_routing_notify()
        """
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.execute("DROP TRIGGER agents_routing_notify ON agents")
    op.execute("DROP FUNCTION agents_routing_notify()")
    op.drop_table("routing_decisions")
    op.drop_table("routing_agent_channels")
    op.drop_table("routing_offers")
    op.drop_table("ticket_routing")
    op.drop_table("routing_skill_rules")
    op.drop_table("routing_settings")
    op.drop_table("routing_queues")
    op.drop_column("tickets", "required_skills")
    op.drop_column("agents", "last_activity_at")
    op.drop_column("agents", "presence_since")
    op.drop_column("agents", "routing_paused")
