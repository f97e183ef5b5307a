"""mailbox_states.settled_uid: the after-import action (seen/move/delete) trails last_uid

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "mailbox_states",
        sa.Column("settled_uid", sa.BigInteger(), server_default="0", nullable=False),
    )
    # Mailboxes polled before this revision were settled as they went.
    op.execute("UPDATE mailbox_states SET settled_uid = last_uid")


def downgrade() -> None:
    op.drop_column("mailbox_states", "settled_uid")
