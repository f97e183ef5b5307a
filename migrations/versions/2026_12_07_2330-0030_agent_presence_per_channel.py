"""agents: presence per channel (`channel_presence`: what the agent chose for a channel,
or the idle timeout or an unanswered offer set for them, with since when), beside the
overall `presence`; the routing triggers wake the driver on a channel's change too

Revision ID: 0030
Revises: 0026
Create Date: 2026-12-07 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0030"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A channel of the agent is online or offline by choice (jsonpath over channel_presence).
ANY_ONLINE = """jsonb_path_exists(NEW.channel_presence, '$.* ? (@.status == "online")')"""
ANY_OFFLINE = """jsonb_path_exists(NEW.channel_presence, '$.* ? (@.status == "offline")')"""


def _routing_notify(channels: bool) -> str:
    online = f"(NEW.presence = 'online' OR {ANY_ONLINE})" if channels else "NEW.presence = 'online'"
    changed = [
        "OLD.presence IS DISTINCT FROM NEW.presence",
        "OLD.routing_paused IS DISTINCT FROM NEW.routing_paused",
        "OLD.capacity IS DISTINCT FROM NEW.capacity",
    ]
    columns = ["presence", "routing_paused", "capacity"]
    if channels:
        changed.append("OLD.channel_presence IS DISTINCT FROM NEW.channel_presence")
        columns.append("channel_presence")
    return f"""
        CREATE TRIGGER agents_routing_notify AFTER UPDATE OF {", ".join(columns)}
        ON agents FOR EACH ROW
        WHEN ({online} AND ({" OR ".join(changed)}))
        EXECUTE FUNCTION agents_routing_notify()
        """


def _sweep_notify(channels: bool) -> str:
    extra = (
        f"""OR (OLD.channel_presence IS DISTINCT FROM NEW.channel_presence AND {ANY_OFFLINE})"""
        if channels
        else ""
    )
    columns = "presence, disconnected_at" + (", channel_presence" if channels else "")
    return f"""
        CREATE TRIGGER agents_routing_sweep_notify AFTER UPDATE OF {columns}
        ON agents FOR EACH ROW
        WHEN ((NEW.presence = 'offline' AND OLD.presence IS DISTINCT FROM NEW.presence)
              OR (NEW.disconnected_at IS NOT NULL AND OLD.disconnected_at IS NULL)
              {extra})
        EXECUTE FUNCTION agents_routing_sweep_notify()
        """


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.add_column(
        "agents",
        sa.Column(
            "channel_presence",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )
    # Online on one channel wakes the driver; offline on one starts that channel's grace.
    op.execute("DROP TRIGGER agents_routing_notify ON agents")
    op.execute(_routing_notify(channels=True))
    op.execute("DROP TRIGGER agents_routing_sweep_notify ON agents")
    op.execute(_sweep_notify(channels=True))


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.execute("DROP TRIGGER agents_routing_sweep_notify ON agents")
    op.execute(_sweep_notify(channels=False))
    op.execute("DROP TRIGGER agents_routing_notify ON agents")
    op.execute(_routing_notify(channels=False))
    op.drop_column("agents", "channel_presence")
