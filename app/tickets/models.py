from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Sequence, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdMixin, TimestampMixin
from app.inboxes.channels import CHANNEL_NAMES

STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
# The statuses that still need work: what the console's open views list and count.
ACTIVE_STATUSES = ("new", "open", "pending", "on_hold")

ticket_number_seq = Sequence("ticket_number_seq", start=1000, metadata=Base.metadata)


class Ticket(IdMixin, TimestampMixin, Base):
    """A customer's request. `last_seq` numbers every event on it so clients can resume."""

    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES}", name="status"),
        CheckConstraint(f"priority IN {PRIORITIES}", name="priority"),
        CheckConstraint(f"channel IN {CHANNEL_NAMES}", name="channel"),
        # Every list filter is backed by an index ending in id, the cursor's order.
        Index("ix_tickets_status_id", "status", "id"),
        Index("ix_tickets_priority_id", "priority", "id"),
        Index("ix_tickets_assignee_id_id", "assignee_id", "id"),
        Index("ix_tickets_team_id_id", "team_id", "id"),
        Index("ix_tickets_inbox_id_id", "inbox_id", "id"),
        Index("ix_tickets_channel_id", "channel", "id"),
        Index("ix_tickets_contact_id_id", "contact_id", "id"),
        Index("ix_tickets_account_id_id", "account_id", "id"),
        Index("ix_tickets_created_at", "created_at"),
        Index("ix_tickets_updated_at", "updated_at"),
        Index("ix_tickets_tags", "tags", postgresql_using="gin"),
        # The SLA board and the scheduler look only at tickets with a clock running.
        Index(
            "ix_tickets_sla_due_at", "sla_due_at", postgresql_where=text("sla_due_at IS NOT NULL")
        ),
        # The console's sidebar counts every view on each move between views: these cover
        # what the built-in views and the visibility rule read (assignee, team, status;
        # solved_at), so each count is an index-only scan of the tickets still open or
        # solved, not a visit to every page of the table (0026).
        Index(
            "ix_tickets_active_assignee_team",
            "assignee_id",
            "team_id",
            "status",
            postgresql_where=text(f"status IN {ACTIVE_STATUSES}"),
        ),
        Index(
            "ix_tickets_solved_at",
            "solved_at",
            "assignee_id",
            "team_id",
            postgresql_where=text("status = 'solved'"),
        ),
        Index(
            "ix_tickets_sla_next_event_at",
            "sla_next_event_at",
            postgresql_where=text("sla_next_event_at IS NOT NULL"),
        ),
    )

    number: Mapped[int] = mapped_column(
        BigInteger, ticket_number_seq, server_default=ticket_number_seq.next_value(), unique=True
    )
    subject: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="new", server_default="new")
    priority: Mapped[str] = mapped_column(String(20), default="normal", server_default="normal")
    channel: Mapped[str] = mapped_column(String(20))
    inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inboxes.id", ondelete="SET NULL"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    required_skill_ids: Mapped[list[int]] = mapped_column(
        ARRAY(BigInteger), default=list, server_default="{}"
    )
    # [{"skill_id", "min_level"}]; `required_skill_ids` lists the same ids, for old clients.
    required_skills: Mapped[list[dict[str, int]]] = mapped_column(
        JSONB, default=list, server_default="[]"
    )
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    custom_fields: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    first_responded_at: Mapped[datetime | None]
    solved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    last_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    # A follow-up opened instead of reopening (reply to a closed ticket, foreign sender).
    linked_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    # The SLA as of the last change, recomputed by a lifecycle hook (routing.sla): the
    # policy, each target cycle (the API's `sla`), the soonest due time of an unmet target
    # and the soonest warning or breach still to fire (what the SLA scheduler sleeps until).
    sla: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    sla_policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    sla_due_at: Mapped[datetime | None]
    sla_next_event_at: Mapped[datetime | None]
    # The warnings, breaches and meetings recorded so far ("first_response:0:warning"), so
    # a recomputation does not schedule again what has fired.
    sla_fired: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
