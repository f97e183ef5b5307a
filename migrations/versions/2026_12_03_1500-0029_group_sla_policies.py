"""group SLA policies: a policy with a team is that team's internal target while it owns
a ticket

Revision ID: 0029
Revises: 0024
Create Date: 2026-12-03 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sla_policies", sa.Column("team_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_sla_policies_team_id_teams"),
        "sla_policies",
        "teams",
        ["team_id"],
        ["id"],
        ondelete="CASCADE",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_sla_policies_team_id_teams"), "sla_policies", type_="foreignkey")
    op.drop_column("sla_policies", "team_id")
