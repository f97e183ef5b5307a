"""email inboxes: raw messages, mailbox state, ticket participants

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:03:14.975635
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('mailbox_states',
    sa.Column('inbox_id', sa.BigInteger(), nullable=False),
    sa.Column('folder', sa.String(length=500), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('last_uid', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('last_polled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], name=op.f('fk_mailbox_states_inbox_id_inboxes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('inbox_id', name=op.f('pk_mailbox_states'))
    )
    op.create_table('ticket_participants',
    sa.Column('ticket_id', sa.BigInteger(), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_participants_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_participants')),
    sa.UniqueConstraint('ticket_id', 'address', name=op.f('uq_ticket_participants_ticket_id_address'))
    )
    op.create_table('inbound_emails',
    sa.Column('inbox_id', sa.BigInteger(), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=False),
    sa.Column('message_id_header', sa.String(length=998), nullable=True),
    sa.Column('raw_compressed', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'imported', 'duplicate', 'ignored', 'rate_limited', 'failed')", name=op.f('ck_inbound_emails_status')),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], name=op.f('fk_inbound_emails_inbox_id_inboxes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_inbound_emails_message_id_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_emails')),
    sa.UniqueConstraint('inbox_id', 'uidvalidity', 'uid', name=op.f('uq_inbound_emails_inbox_id_uidvalidity_uid'))
    )
    op.create_index('ix_inbound_emails_inbox_id_message_id_header', 'inbound_emails', ['inbox_id', 'message_id_header'], unique=False)
    op.create_index('ix_inbound_emails_unfinished', 'inbound_emails', ['inbox_id', 'id'], unique=False, postgresql_where=sa.text("status IN ('pending', 'failed', 'rate_limited')"))


def downgrade() -> None:
    op.drop_index('ix_inbound_emails_unfinished', table_name='inbound_emails', postgresql_where=sa.text("status IN ('pending', 'failed', 'rate_limited')"))
    op.drop_index('ix_inbound_emails_inbox_id_message_id_header', table_name='inbound_emails')
    op.drop_table('inbound_emails')
    op.drop_table('ticket_participants')
    op.drop_table('mailbox_states')
