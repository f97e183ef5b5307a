"""inbound_items: the raw store of every channel (was inbound_emails)

Each email row keeps its bytes and status; its IMAP position moves into `delivery_key`
("UIDVALIDITY:UID") and `meta`, its Message-ID into `external_id`.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RENAMED_CONSTRAINTS = [
    ("pk_inbound_emails", "pk_inbound_items"),
    ("ck_inbound_emails_status", "ck_inbound_items_status"),
    ("fk_inbound_emails_inbox_id_inboxes", "fk_inbound_items_inbox_id_inboxes"),
    ("fk_inbound_emails_message_id_messages", "fk_inbound_items_message_id_messages"),
]
RENAMED_INDEXES = [
    ("ix_inbound_emails_inbox_id_message_id_header", "ix_inbound_items_inbox_id_external_id"),
    ("ix_inbound_emails_unfinished", "ix_inbound_items_unfinished"),
    ("ix_inbound_emails_referenced_ids", "ix_inbound_items_referenced_ids"),
]


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.rename_table("inbound_emails", "inbound_items")
    op.execute("ALTER SEQUENCE inbound_emails_id_seq RENAME TO inbound_items_id_seq")
    for old, new in RENAMED_CONSTRAINTS:
        op.execute(f"ALTER TABLE inbound_items RENAME CONSTRAINT {old} TO {new}")
    for old, new in RENAMED_INDEXES:
        op.execute(f"ALTER INDEX {old} RENAME TO {new}")
    op.alter_column("inbound_items", "message_id_header", new_column_name="external_id")
    op.add_column("inbound_items", sa.Column("channel", sa.String(20), nullable=True))
    op.add_column("inbound_items", sa.Column("delivery_key", sa.String(300), nullable=True))
    op.add_column("inbound_items", sa.Column("content_type", sa.String(100), nullable=True))
    op.add_column(
        "inbound_items",
        sa.Column(
            "meta",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )
    op.execute(
        """
        UPDATE inbound_items SET
            channel = 'email',
            delivery_key = uidvalidity || ':' || uid,
            content_type = 'message/rfc822',
            meta = jsonb_build_object('uidvalidity', uidvalidity, 'uid', uid)
        """
    )
    for column in ("channel", "delivery_key", "content_type"):
        op.alter_column("inbound_items", column, nullable=False)
    op.drop_constraint("uq_inbound_emails_inbox_id_uidvalidity_uid", "inbound_items")
    op.create_unique_constraint(
        "uq_inbound_items_inbox_id_delivery_key", "inbound_items", ["inbox_id", "delivery_key"]
    )
    op.drop_column("inbound_items", "uidvalidity")
    op.drop_column("inbound_items", "uid")


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '10s'")
    op.add_column("inbound_items", sa.Column("uidvalidity", sa.BigInteger(), nullable=True))
    op.add_column("inbound_items", sa.Column("uid", sa.BigInteger(), nullable=True))
    # Only email rows have an IMAP position; the other channels' rows cannot go back.
    op.execute("DELETE FROM inbound_items WHERE channel <> 'email'")
    op.execute(
        """
        UPDATE inbound_items SET
            uidvalidity = (meta ->> 'uidvalidity')::bigint,
            uid = (meta ->> 'uid')::bigint
        """
    )
    op.alter_column("inbound_items", "uidvalidity", nullable=False)
    op.alter_column("inbound_items", "uid", nullable=False)
    op.drop_constraint("uq_inbound_items_inbox_id_delivery_key", "inbound_items")
    for column in ("meta", "content_type", "delivery_key", "channel"):
        op.drop_column("inbound_items", column)
    op.alter_column("inbound_items", "external_id", new_column_name="message_id_header")
    for old, new in RENAMED_INDEXES:
        op.execute(f"ALTER INDEX {new} RENAME TO {old}")
    for old, new in RENAMED_CONSTRAINTS:
        op.execute(f"ALTER TABLE inbound_items RENAME CONSTRAINT {new} TO {old}")
    op.execute("ALTER SEQUENCE inbound_items_id_seq RENAME TO inbound_emails_id_seq")
    op.rename_table("inbound_items", "inbound_emails")
    op.create_unique_constraint(
        "uq_inbound_emails_inbox_id_uidvalidity_uid", "inbound_emails", ["inbox_id", "uidvalidity", "uid"]
    )
