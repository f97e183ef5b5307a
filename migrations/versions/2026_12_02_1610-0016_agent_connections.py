"""agent_connections: live agent sockets per app node, from which presence is derived

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_connections",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        sa.Column("node", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column(
            "connected_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_heartbeat_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("status IN ('online', 'away', 'offline')", name=op.f("ck_agent_connections_status")),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_connections_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_connections")),
    )
    op.create_index(
        op.f("ix_agent_connections_agent_id"), "agent_connections", ["agent_id"], unique=False
    )
    op.create_index(
        op.f("ix_agent_connections_node"), "agent_connections", ["node"], unique=False
    )
    op.create_index(
        op.f("ix_agent_connections_last_heartbeat_at"),
        "agent_connections",
        ["last_heartbeat_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_agent_connections_last_heartbeat_at"), table_name="agent_connections")
    op.drop_index(op.f("ix_agent_connections_node"), table_name="agent_connections")
    op.drop_index(op.f("ix_agent_connections_agent_id"), table_name="agent_connections")
    op.drop_table("agent_connections")
