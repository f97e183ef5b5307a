"""Many tickets opened and messages appended in one go: a channel import's batch.

The same writes as `open_ticket` and `append_message` (seq numbers, the automatic status
change, `ticket_events` and outbox rows, the hooks), gathered in memory and written by
`flush()` in a handful of multi-row statements per batch instead of several round trips
per message: the tickets, the messages, one UPDATE per touched ticket (executemany), the
events and outbox rows, the participants.

The rules the caller keeps: it holds the row lock of every existing ticket it appends to
(so the `last_seq` and status in memory are the row's), it makes no other lifecycle call
on those tickets before `flush()`, and the authors are contacts or the system (agent
actions are audited one by one, through `append_message`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.messages.models import Attachment, Message
from app.outbox.service import TICKET_CREATED, TICKET_UPDATED
from app.tickets.events import EventActor
from app.tickets.hooks import TicketChanged, run_ticket_hooks
from app.tickets.lifecycle.core import (
    Event,
    TicketEvents,
    changes_payload,
    diff,
    ticket_state,
    ticket_summary,
    write_events_of,
)
from app.tickets.lifecycle.messages import (
    NewMessage,
    automatic_values,
    message_appended,
    new_message_row,
    run_appended_hooks,
)
from app.tickets.lifecycle.tickets import AUDITED_FIELDS, NewTicket
from app.tickets.models import Ticket
from app.tickets.participants import TicketParticipant


@dataclass
class _Appended:
    ticket: Ticket
    message: Message
    seq: int
    actor: EventActor
    attachments: Sequence[Attachment]
    # The automatic change (field -> (before, after)) and its event's data, at seq + 1.
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    change_data: dict[str, Any] | None = None


@dataclass
class _Opened:
    ticket: Ticket
    actor: EventActor
    state: dict[str, Any]  # the ticket as opened (its id and number come with the INSERT)


def _message(new: NewMessage, *, seq: int, now: datetime) -> Message:
    """The row `insert_message` writes, without the flush (ticket_id is set at flush)."""
    return new_message_row(new, seq=seq, created_at=now)


class LifecycleBatch:
    def __init__(self, session: AsyncSession, *, now: datetime) -> None:
        self.session = session
        self.now = now
        self._opened: list[_Opened] = []
        self._appended: list[_Appended] = []
        # Existing tickets appended to: the column values their UPDATE writes at flush.
        self._updates: dict[int, tuple[Ticket, dict[str, Any]]] = {}
        self._participants: list[tuple[Ticket, str, str]] = []

    def __len__(self) -> int:
        return len(self._appended)

    def open_ticket(
        self,
        new: NewTicket,
        *,
        first_message: NewMessage,
        attachments: Sequence[Attachment] = (),
        actor: EventActor,
    ) -> tuple[Ticket, Message]:
        """A new ticket with its first message (seq 1 `ticket.created`, seq 2 the message);
        ids are assigned at `flush()`."""
        self._no_agent(actor)
        ticket = Ticket(
            subject=new.subject,
            status="new",
            priority=new.priority,
            channel=new.channel,
            inbox_id=new.inbox_id,
            contact_id=new.contact_id,
            account_id=new.account_id,
            assignee_id=new.assignee_id,
            team_id=new.team_id,
            tags=list(new.tags),
            custom_fields=dict(new.custom_fields),
            required_skill_ids=sorted(set(new.required_skill_ids)),
            linked_ticket_id=new.linked_ticket_id,
            first_responded_at=None,
            solved_at=None,
            closed_at=None,
            merged_into_id=None,
            created_at=self.now,
            updated_at=self.now,
            last_seq=1,
        )
        self._opened.append(_Opened(ticket, actor, ticket_state(ticket)))
        message = self.append_message(ticket, first_message, attachments=attachments, actor=actor)
        return ticket, message

    def append_message(
        self,
        ticket: Ticket,
        new: NewMessage,
        *,
        attachments: Sequence[Attachment] = (),
        actor: EventActor,
    ) -> Message:
        """Store `new` on the ticket (opened in this batch, or locked by the caller)."""
        self._no_agent(actor)
        changes = diff(ticket, automatic_values(ticket, new, now=self.now))
        first = ticket.last_seq + 1
        values = {f: v for f, (_, v) in changes.items()}
        values["last_seq"] = ticket.last_seq + (2 if changes else 1)
        values["updated_at"] = self.now
        if ticket.id is None:  # opened in this batch: still a pending object
            for name, value in values.items():
                setattr(ticket, name, value)
        else:
            for name, value in values.items():
                set_committed_value(ticket, name, value)
            self._updates.setdefault(ticket.id, (ticket, {}))[1].update(values)
        appended = _Appended(
            ticket, _message(new, seq=first, now=self.now), first, actor, attachments
        )
        if changes:
            appended.changes = changes
            appended.change_data = {
                **ticket_summary(ticket, sorted(changes)),
                "changes": changes_payload(changes),
            }
        self._appended.append(appended)
        return appended.message

    def add_participants(self, ticket: Ticket, people: Sequence[tuple[str, str]]) -> None:
        """As `add_participants`: an address already on the ticket keeps its first role."""
        self._participants += [(ticket, address, role) for address, role in people if address]

    @staticmethod
    def _no_agent(actor: EventActor) -> None:
        if actor.agent_id is not None:
            raise ValueError("agent actions go through append_message, which audits them")

    async def flush(self) -> None:
        """Write everything gathered so far, then run the hooks in the order it happened."""
        if not self._appended:
            return
        session, now = self.session, self.now
        opened, appended, updates = self._opened, self._appended, self._updates
        self._opened, self._appended, self._updates = [], [], {}
        session.add_all([o.ticket for o in opened])
        await session.flush()  # one INSERT ... RETURNING for the new tickets
        for a in appended:
            a.message.ticket_id = a.ticket.id
        session.add_all([a.message for a in appended])
        await session.flush()  # and one for their messages
        for a in appended:
            for attachment in a.attachments:
                attachment.message_id = a.message.id
        if updates:
            await session.execute(
                update(Ticket),
                [{"id": ticket_id, **values} for ticket_id, (_, values) in updates.items()],
            )
        written: list[TicketEvents] = []
        for o in opened:
            state = {**o.state, "ticket_id": o.ticket.id, "number": o.ticket.number}
            summary = {**ticket_summary(o.ticket), **_status_of(o.state), "ticket": state}
            written.append(TicketEvents(o.ticket.id, 1, [Event(TICKET_CREATED, summary)], o.actor))
        for a in appended:
            events = [message_appended(a.message)]
            if a.change_data is not None:
                events.append(
                    Event(
                        TICKET_UPDATED,
                        {**a.change_data, "ticket_id": a.ticket.id, "number": a.ticket.number},
                    )
                )
            written.append(TicketEvents(a.ticket.id, a.seq, events, a.actor))
        await write_events_of(session, written, now=now)  # every timeline row: one statement
        await session.flush()  # the outbox rows, multi-row
        await self._write_participants()
        unannounced = {id(o.ticket): o for o in opened}
        for a in appended:
            if (new := unannounced.pop(id(a.ticket), None)) is not None:
                changes = {f: (None, v) for f, v in new.state.items() if f in AUDITED_FIELDS}
                await run_ticket_hooks(
                    session, TicketChanged(a.ticket, TICKET_CREATED, 1, changes, new.actor, now)
                )
            await run_appended_hooks(
                session, a.ticket, a.message, seq=a.seq, actor=a.actor, now=now
            )
            if a.changes:
                change = TicketChanged(a.ticket, TICKET_UPDATED, a.seq + 1, a.changes, a.actor, now)
                await run_ticket_hooks(session, change)

    async def _write_participants(self) -> None:
        people, self._participants = self._participants, []
        roles: dict[tuple[int, str], str] = {}
        for ticket, address, role in people:
            roles.setdefault((ticket.id, address.lower()), role)
        if roles:
            await self.session.execute(
                insert(TicketParticipant).on_conflict_do_nothing(
                    constraint="uq_ticket_participants_ticket_id_address"
                ),
                [{"ticket_id": t, "address": a, "role": r} for (t, a), r in roles.items()],
            )


def _status_of(state: dict[str, Any]) -> dict[str, Any]:
    """The summary fields as the ticket was opened, not as later appends left it."""
    return {f: state[f] for f in ("status", "priority", "assignee_id", "team_id")}
