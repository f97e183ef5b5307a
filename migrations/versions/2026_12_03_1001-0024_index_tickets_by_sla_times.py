"""index tickets by their SLA due time and next SLA event (the board and the scheduler)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 10:01:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_tickets_sla_due_at": "sla_due_at",
    "ix_tickets_sla_next_event_at": "sla_next_event_at",
}


def upgrade() -> None:
    # tickets is a hot table: build without blocking writes, outside a transaction.
    with op.get_context().autocommit_block():
        for name, column in INDEXES.items():
            op.create_index(
                name,
                "tickets",
                [column],
                postgresql_concurrently=True,
                postgresql_where=sa.text(f"{column} IS NOT NULL"),
                if_not_exists=True,
            )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for name in INDEXES:
            op.drop_index(name, table_name="tickets", postgresql_concurrently=True, if_exists=True)
