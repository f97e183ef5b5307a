"""index tickets for the console's view counts: open ones by assignee and team, solved by time

Revision ID: 0026
Revises: 0027
Create Date: 2026-12-03 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied from app.tickets.models (migrations never import app code).
ACTIVE_STATUSES = ("new", "open", "pending", "on_hold")
INDEXES = {
    "ix_tickets_active_assignee_team": (
        ["assignee_id", "team_id", "status"],
        f"status IN {ACTIVE_STATUSES}",
    ),
    "ix_tickets_solved_at": (["solved_at", "assignee_id", "team_id"], "status = 'solved'"),
}


def upgrade() -> None:
    # tickets is a hot table: build without blocking writes, outside a transaction.
    with op.get_context().autocommit_block():
        for name, (columns, where) in INDEXES.items():
            op.create_index(
                name,
                "tickets",
                columns,
                postgresql_concurrently=True,
                postgresql_where=sa.text(where),
                if_not_exists=True,
            )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in INDEXES:
            op.drop_index(name, table_name="tickets", postgresql_concurrently=True, if_exists=True)
