"""saved_views, canned_replies, macros: what agents keep for the console, personal or shared

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "canned_replies",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("visibility", sa.String(length=20), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(visibility = 'team') = (team_id IS NOT NULL)", name=op.f("ck_canned_replies_team")
        ),
        sa.CheckConstraint(
            "visibility IN ('personal', 'team', 'everyone')",
            name=op.f("ck_canned_replies_visibility"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["agents.id"],
            name=op.f("fk_canned_replies_owner_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_canned_replies_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
    )
    op.create_index(
        op.f("ix_canned_replies_owner_id"), "canned_replies", ["owner_id"], unique=False
    )
    op.create_index(op.f("ix_canned_replies_team_id"), "canned_replies", ["team_id"], unique=False)
    op.create_table(
        "macros",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "actions", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("visibility", sa.String(length=20), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(visibility = 'team') = (team_id IS NOT NULL)", name=op.f("ck_macros_team")
        ),
        sa.CheckConstraint(
            "visibility IN ('personal', 'team', 'everyone')", name=op.f("ck_macros_visibility")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["agents.id"], name=op.f("fk_macros_owner_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_macros_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_macros")),
    )
    op.create_index(op.f("ix_macros_owner_id"), "macros", ["owner_id"], unique=False)
    op.create_index(op.f("ix_macros_team_id"), "macros", ["team_id"], unique=False)
    op.create_table(
        "saved_views",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("visibility", sa.String(length=20), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "filters", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(visibility = 'team') = (team_id IS NOT NULL)", name=op.f("ck_saved_views_team")
        ),
        sa.CheckConstraint(
            "visibility IN ('personal', 'team', 'everyone')", name=op.f("ck_saved_views_visibility")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["agents.id"],
            name=op.f("fk_saved_views_owner_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_saved_views_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
    )
    op.create_index(op.f("ix_saved_views_owner_id"), "saved_views", ["owner_id"], unique=False)
    op.create_index(op.f("ix_saved_views_team_id"), "saved_views", ["team_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_saved_views_team_id"), table_name="saved_views")
    op.drop_index(op.f("ix_saved_views_owner_id"), table_name="saved_views")
    op.drop_table("saved_views")
    op.drop_index(op.f("ix_macros_team_id"), table_name="macros")
    op.drop_index(op.f("ix_macros_owner_id"), table_name="macros")
    op.drop_table("macros")
    op.drop_index(op.f("ix_canned_replies_team_id"), table_name="canned_replies")
    op.drop_index(op.f("ix_canned_replies_owner_id"), table_name="canned_replies")
    op.drop_table("canned_replies")
