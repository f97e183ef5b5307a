"""NOTIFY `relaydesk_rules` when SLA policies, calendars or routing skill rules change

Every process keeps these rules in a cache (app.db.rules_cache) instead of reading them
for each message; the notification, delivered when the writing transaction commits, tells
the other processes to forget theirs. One per statement: a listener only needs to know
that something changed.

Revision ID: 0032
Revises: 0030
Create Date: 2026-12-07 23:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0032"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Copied from app.db.rules_cache (migrations never import app code).
RULES_CHANNEL = "relaydesk_rules"
TABLES = ("sla_policies", "sla_calendars", "routing_skill_rules")


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.execute(
        f"""
        CREATE FUNCTION rules_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{RULES_CHANNEL}', TG_TABLE_NAME);
            RETURN NULL;
        END $$
        """
    )
    for table in TABLES:
        op.execute(
            f"""
            CREATE TRIGGER {table}_rules_notify
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION rules_notify()
            """
        )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_rules_notify ON {table}")
    op.execute("DROP FUNCTION rules_notify()")
