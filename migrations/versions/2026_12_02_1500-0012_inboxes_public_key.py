"""inboxes.public_key: the inbox's public name in webhook URLs and the widget's script tag

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("inboxes", sa.Column("public_key", sa.String(length=40), nullable=True))
    # 122 random bits as 22 URL-safe characters (gen_random_uuid is built in since
    # PostgreSQL 13); keys made by the application afterwards are 24 characters.
    op.execute(
        """
        UPDATE inboxes SET public_key = rtrim(translate(encode(
            decode(replace(gen_random_uuid()::text, '-', ''), 'hex'), 'base64'), '+/', '-_'), '=')
        """
    )
    op.alter_column("inboxes", "public_key", nullable=False)
    op.create_unique_constraint(op.f("uq_inboxes_public_key"), "inboxes", ["public_key"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_inboxes_public_key"), "inboxes", type_="unique")
    op.drop_column("inboxes", "public_key")
