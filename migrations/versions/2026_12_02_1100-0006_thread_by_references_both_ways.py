"""threading both ways: the ids each message references (GIN), its own date, and the
references of auto-replies kept aside for want of a ticket

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGES_INDEX = "ix_messages_referenced_ids"
KEPT_ASIDE_INDEX = "ix_inbound_emails_referenced_ids"


def upgrade() -> None:
    # Adding a column with a constant default is a catalog change; do not queue behind a
    # long transaction on these hot tables.
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column(
        "messages",
        sa.Column(
            "referenced_ids", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
    )
    op.add_column("messages", sa.Column("dated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "inbound_emails",
        sa.Column("referenced_ids", postgresql.ARRAY(sa.Text()), nullable=True),
    )
    # Built without blocking writes, outside the transaction (as revision 0003 does).
    with op.get_context().autocommit_block():
        op.create_index(
            MESSAGES_INDEX,
            "messages",
            ["referenced_ids"],
            postgresql_using="gin",
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        op.create_index(
            KEPT_ASIDE_INDEX,
            "inbound_emails",
            ["referenced_ids"],
            postgresql_using="gin",
            postgresql_where=sa.text("status = 'ignored'"),
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            KEPT_ASIDE_INDEX,
            table_name="inbound_emails",
            postgresql_concurrently=True,
            if_exists=True,
        )
        op.drop_index(
            MESSAGES_INDEX, table_name="messages", postgresql_concurrently=True, if_exists=True
        )
    op.drop_column("inbound_emails", "referenced_ids")
    op.drop_column("messages", "dated_at")
    op.drop_column("messages", "referenced_ids")
