"""The ticket lifecycle: the only code that writes ticket state.

Opening a ticket, changing its status, priority, assignee, team, tags or custom fields,
appending a message or note, recording a reply's delivery, merging tickets and moving them
to another contact all happen here. Each operation claims the ticket's next `seq` in the
UPDATE that changes the row, writes a `ticket_events` row and an outbox row per event, an
audit row when an agent acted, and then runs the hooks the composition root registered
(app.tickets.hooks). Permission checks and input validation are the callers' (the ticket,
message and contact services, ingest); the caller holds the row lock of every ticket it
passes in. `tests/test_architecture.py` fails if anything else writes `tickets.status` or
`tickets.last_seq`.
"""

from app.tickets.lifecycle.assign import Assignment, assign_tickets
from app.tickets.lifecycle.core import STATE_FIELDS, ticket_state, ticket_summary
from app.tickets.lifecycle.derived import write_derived, write_derived_many
from app.tickets.lifecycle.history import import_history
from app.tickets.lifecycle.messages import (
    Delivery,
    NewMessage,
    append_message,
    record_deliveries,
    record_delivery,
    record_seen,
    requeue_message,
)
from app.tickets.lifecycle.tickets import (
    AUDITED_FIELDS,
    MESSAGE_MOVED,
    NewTicket,
    change_ticket,
    merge_tickets,
    move_contact_tickets,
    note_event,
    note_events,
    open_ticket,
)

__all__ = [
    "AUDITED_FIELDS",
    "MESSAGE_MOVED",
    "STATE_FIELDS",
    "Assignment",
    "Delivery",
    "NewMessage",
    "NewTicket",
    "append_message",
    "assign_tickets",
    "change_ticket",
    "import_history",
    "merge_tickets",
    "move_contact_tickets",
    "note_event",
    "note_events",
    "open_ticket",
    "record_deliveries",
    "record_delivery",
    "record_seen",
    "requeue_message",
    "ticket_state",
    "ticket_summary",
    "write_derived",
    "write_derived_many",
]
