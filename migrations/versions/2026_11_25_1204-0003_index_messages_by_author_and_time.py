"""index messages by author and time (loop protection counts a sender's recent messages)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 12:04:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_messages_author_contact_id_created_at"


def upgrade() -> None:
    # messages is a hot table: build without blocking writes, outside a transaction.
    with op.get_context().autocommit_block():
        op.create_index(
            INDEX,
            "messages",
            ["author_contact_id", "created_at"],
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(INDEX, table_name="messages", postgresql_concurrently=True, if_exists=True)
