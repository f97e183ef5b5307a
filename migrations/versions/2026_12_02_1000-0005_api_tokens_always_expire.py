"""api_tokens.expires_at is required: personal API tokens expire too

Tokens made before this revision without an expiry get a year from now, the default a new
personal token gets, so integrations keep working and their owners see the date coming.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every request reads api_tokens: give up rather than queue behind a long transaction.
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute(
        "UPDATE api_tokens SET expires_at = now() + interval '365 days' WHERE expires_at IS NULL"
    )
    op.alter_column("api_tokens", "expires_at", nullable=False)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.alter_column("api_tokens", "expires_at", nullable=True)
