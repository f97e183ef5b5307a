"""sla_calendars, sla_policies, sla_target_events, and each ticket's SLA state

Revision ID: 0023
Revises: 0014
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0023"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "sla_calendars",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("hours", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("holidays", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("exceptions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_calendars")),
        sa.UniqueConstraint("name", name=op.f("uq_sla_calendars_name")),
    )
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("calendar_id", sa.BigInteger(), nullable=True),
        sa.Column("conditions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("targets", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("pauses", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("actions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("warning_fraction", sa.Float(), server_default="0.8", nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "warning_fraction > 0 AND warning_fraction < 1",
            name=op.f("ck_sla_policies_warning_fraction"),
        ),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["sla_calendars.id"],
            name=op.f("fk_sla_policies_calendar_id_sla_calendars"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("name", name=op.f("uq_sla_policies_name")),
    )
    op.create_table(
        "sla_target_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("metric", sa.String(length=30), nullable=False),
        sa.Column("cycle", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("policy_id", sa.BigInteger(), nullable=True),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("assignee_id", sa.BigInteger(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.CheckConstraint(
            "kind IN ('warning', 'breached', 'met')", name=op.f("ck_sla_target_events_kind")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_sla_target_events_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["sla_policies.id"],
            name=op.f("fk_sla_target_events_policy_id_sla_policies"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_sla_target_events_team_id_teams"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["agents.id"],
            name=op.f("fk_sla_target_events_assignee_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_target_events")),
        sa.UniqueConstraint(
            "ticket_id", "metric", "cycle", "kind", name=op.f("uq_sla_target_events_ticket_id_metric_cycle_kind")
        ),
    )
    op.create_index(
        "ix_sla_target_events_kind_at", "sla_target_events", ["kind", "at"], unique=False
    )
    # tickets is a hot table: nullable columns without defaults are a catalog change only,
    # but the ALTER still waits for the table lock; give up rather than queue every writer.
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column("tickets", sa.Column("sla", postgresql.JSONB(astext_type=sa.Text())))
    op.add_column("tickets", sa.Column("sla_policy_id", sa.BigInteger()))
    op.add_column("tickets", sa.Column("sla_due_at", sa.DateTime(timezone=True)))
    op.add_column("tickets", sa.Column("sla_next_event_at", sa.DateTime(timezone=True)))
    # A constant default is also a catalog change only (PostgreSQL 11+).
    op.add_column(
        "tickets",
        sa.Column("sla_fired", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
    )
    op.create_foreign_key(
        op.f("fk_tickets_sla_policy_id_sla_policies"),
        "tickets",
        "sla_policies",
        ["sla_policy_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_constraint(op.f("fk_tickets_sla_policy_id_sla_policies"), "tickets", type_="foreignkey")
    op.drop_column("tickets", "sla_fired")
    op.drop_column("tickets", "sla_next_event_at")
    op.drop_column("tickets", "sla_due_at")
    op.drop_column("tickets", "sla_policy_id")
    op.drop_column("tickets", "sla")
    op.drop_index("ix_sla_target_events_kind_at", table_name="sla_target_events")
    op.drop_table("sla_target_events")
    op.drop_table("sla_policies")
    op.drop_table("sla_calendars")
