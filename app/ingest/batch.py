"""A batch of stored deliveries received at once: the rules of `receive`, with the
questions every message asks answered for the whole batch in a few statements.

Before the first message: one statement for what is stored under the batch's external ids
and what references them (dedupe and both threading directions), one locking the tickets
those name (in id order), one grouped count for the rate limit, one for the items kept
aside waiting for the batch's messages, and one to three finding or creating the senders'
contacts (app.contacts.bulk). Each message is then decided in memory, in delivery order,
with what the batch itself stored so far counted in (a reply threads onto a ticket opened
earlier in the same batch, a sender's second message counts against the limit), and its
writes go to a
`LifecycleBatch`, written in multi-row statements by `flush()`. No savepoint per message:
a message that breaks the batch rolls all of it back, and the caller imports the batch
again one message per transaction (the per-message path, with its savepoint).

What the batch does not decide itself, the per-message path (`process_item`) does, in
the same transaction after a `flush()`: a redelivery, a quoted ticket number, a ticket
that was merged or closed, a message tying two tickets, a message that pulls in items
kept aside for it, a channel payload of several messages, and whatever the adapter
prepares only with the session (email: a bounce). The batch then reloads its facts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.storage import AttachmentStore
from app.contacts.bulk import senders_contacts
from app.contacts.models import Contact, ContactIdentity
from app.inbound.models import InboundItem
from app.inbound.service import finish
from app.inboxes.models import Inbox
from app.ingest.receive import KEPT_ASIDE, Prepare, ReceivePolicy, Skip, _sender, process_item
from app.ingest.service import (
    REFERENCES_KEPT,
    new_inbound_message,
    new_inbound_ticket,
    participants_of,
    stored_content,
)
from app.ingest.types import InboundMessage
from app.messages.models import Message
from app.tickets.events import SYSTEM, EventActor
from app.tickets.lifecycle import NewMessage
from app.tickets.lifecycle.batch import LifecycleBatch
from app.tickets.models import Ticket

# What the channel adapter made of an item: its messages, why there are none, or None:
# the adapter needs the session for it (the per-message path prepares it again).
Prepared = Sequence[InboundMessage] | Skip | None
Pair = tuple[str, str]  # an identity's (kind, value)


class _Slow(Exception):
    """This message goes the per-message way."""


@dataclass
class _Facts:
    """What the database says about the messages still to receive, kept up to date with
    what the batch itself stores."""

    # external id -> the ticket of the stored message (None: stored, ticket not loaded)
    stored: dict[str, Ticket] = field(default_factory=dict)
    duplicates: set[str] = field(default_factory=set)
    # external id -> the tickets of stored messages that reference it
    referenced_by: dict[str, set[int]] = field(default_factory=dict)
    tickets: dict[int, Ticket] = field(default_factory=dict)
    waited_for: set[str] = field(default_factory=set)  # items kept aside reference these
    recent: Counter[Pair] = field(default_factory=Counter)
    contacts: dict[Pair, Contact] = field(default_factory=dict)


class BatchReceiver:
    def __init__(
        self,
        session: AsyncSession,
        *,
        inbox_id: int,
        prepare: Prepare,
        policy: ReceivePolicy,
        store: AttachmentStore,
        now: datetime,
    ) -> None:
        self.session = session
        self.inbox_id = inbox_id
        self.prepare = prepare
        self.policy = policy
        self.store = store
        self.now = now
        self.since = now - timedelta(minutes=policy.rate_limit_minutes)
        self.lifecycle = LifecycleBatch(session, now=now)
        self._queue: dict[int, Prepared] = {}  # item id -> prepared, not yet received
        self._facts: _Facts | None = None
        self._linked: list[tuple[InboundItem, Message]] = []
        self._inbox: Inbox | None = None

    def expect(self, items: Sequence[tuple[InboundItem, Prepared]]) -> None:
        """The items about to be received, so their facts are loaded together."""
        for item, prepared in items:
            self._queue[item.id] = prepared

    async def receive(self, item: InboundItem, prepared: Prepared) -> str:
        """The item's final status (its writes may wait for `flush()`)."""
        self._queue.pop(item.id, None)
        if isinstance(prepared, Skip):
            return finish(item, prepared.status, prepared.reason, self.now)
        try:
            if prepared is None or len(prepared) != 1:
                raise _Slow
            if self._facts is None:
                self._facts = await self._load([*self._queue.values(), prepared])
            return await self._receive(item, prepared[0], self._facts)
        except _Slow:
            await self.flush()
            self._facts = None  # what the per-message path stored is not in them
            return await process_item(
                self.session,
                item,
                prepare=self.prepare,
                policy=self.policy,
                store=self.store,
                now=self.now,
            )

    async def _receive(self, item: InboundItem, inbound: InboundMessage, facts: _Facts) -> str:
        sender = _sender(inbound)
        if (
            sender is None
            or len(inbound.sender) != 1
            or not inbound.external_id
            or inbound.thread.continue_open_conversation
        ):
            raise _Slow
        external_id = inbound.external_id
        if external_id in facts.duplicates or external_id in facts.waited_for:
            raise _Slow
        pair = (sender.kind, sender.value)
        first_try = item.status == "pending" and item.attempts == 0
        if first_try and facts.recent[pair] >= self.policy.rate_limit_messages:
            reason = (
                f"{sender.value} sent more than {self.policy.rate_limit_messages} messages in "
                f"{self.policy.rate_limit_minutes} minutes; held back to stop a loop"
            )
            return finish(item, "rate_limited", reason, self.now)

        ticket = self._thread(inbound, facts)
        if ticket is None:
            if inbound.thread.ticket_number is not None:
                raise _Slow
            if not inbound.may_open_ticket:
                item.referenced_ids = list(inbound.thread.replies_to[:REFERENCES_KEPT])
                # Its original, should it come later in this batch, pulls it in.
                facts.waited_for.update(item.referenced_ids)
                return finish(item, "ignored", KEPT_ASIDE, self.now)
        contact = facts.contacts.get(pair)
        if contact is None:
            raise _Slow  # an auto-reply's sender, not created up front

        html, files = await stored_content(self.session, inbound, store=self.store)
        new = new_inbound_message(inbound, contact=contact, html=html, now=self.now)
        actor = EventActor.contact(contact.id)
        created = ticket is None
        if ticket is None:
            opening = new_inbound_ticket(
                inbound, contact=contact, inbox=await self._inbox_row(), linked_to=None
            )
            ticket, message = self.lifecycle.open_ticket(
                opening, first_message=new, attachments=files, actor=actor
            )
        else:
            message = self.lifecycle.append_message(ticket, new, attachments=files, actor=actor)
        self.lifecycle.add_participants(
            ticket, participants_of(inbound, ticket, contact=contact, created=created)
        )
        if created and self.policy.acknowledge and not inbound.automated:
            self.lifecycle.append_message(ticket, self._acknowledgement(ticket), actor=SYSTEM)
        self._linked.append((item, message))

        facts.recent[pair] += 1
        facts.stored[external_id] = ticket
        facts.duplicates.add(external_id)
        for ref in new.referenced_ids:
            facts.referenced_by.setdefault(ref, set()).add(id(ticket))
            facts.tickets.setdefault(id(ticket), ticket)
        return finish(item, "imported", None, self.now)

    def _thread(self, inbound: InboundMessage, facts: _Facts) -> Ticket | None:
        """The ticket the references choose, when they choose exactly one open or
        reopenable ticket; anything else is the per-message path's to decide."""
        nearest = next(
            (facts.stored[r] for r in inbound.thread.replies_to if r in facts.stored), None
        )
        candidates = {id(t): t for t in ([nearest] if nearest is not None else [])}
        for key in facts.referenced_by.get(inbound.external_id, ()):
            candidates.setdefault(key, facts.tickets[key])
        if len(candidates) > 1:
            raise _Slow  # it ties tickets together: they get linked
        ticket = next(iter(candidates.values()), None)
        if ticket is None:
            return None
        if ticket.merged_into_id is not None:
            raise _Slow
        if ticket.status == "closed" and not (
            inbound.thread.reopen_closed or not inbound.may_open_ticket
        ):
            raise _Slow  # a new ticket linked to the closed one
        return ticket

    def _acknowledgement(self, ticket: Ticket) -> NewMessage:
        """As `do_add_system_reply` writes it: sent as automatic, not a first response."""
        assert self.policy.acknowledge is not None
        return NewMessage(
            direction="outbound",
            author_type="system",
            body_text=self.policy.acknowledge,
            inbox_id=ticket.inbox_id,
            status="queued",
        )

    async def _inbox_row(self) -> Inbox | None:
        if self._inbox is None:
            self._inbox = await self.session.get(Inbox, self.inbox_id)
        return self._inbox

    async def flush(self) -> None:
        """Write what the batch gathered (tickets, messages, events, participants)."""
        await self.lifecycle.flush()
        for item, message in self._linked:
            item.message_id = message.id
        self._linked = []
        await self.session.flush()  # the items' statuses, for the per-message path to see

    # -- the facts, for every message still to receive -----------------------------------

    async def _load(self, batch: Sequence[Prepared]) -> _Facts:
        messages = [
            p[0] for p in batch if p is not None and not isinstance(p, Skip) and len(p) == 1
        ]
        facts = _Facts()
        ids = sorted({m.external_id for m in messages if m.external_id})
        refs = sorted({r for m in messages for r in m.thread.replies_to} - set(ids))
        if not ids:
            return facts
        rows = (
            await self.session.execute(
                select(Message.external_id, Message.ticket_id, Message.referenced_ids).where(
                    Message.inbox_id == self.inbox_id,
                    or_(
                        Message.external_id.in_([*ids, *refs]),
                        Message.referenced_ids.overlap(ids),  # the GIN index
                    ),
                )
            )
        ).all()
        ticket_ids = sorted({row.ticket_id for row in rows})
        if ticket_ids:
            # Locked in id order, as every importer locks them, so two cannot deadlock.
            stmt = (
                select(Ticket)
                .where(Ticket.id.in_(ticket_ids))
                .order_by(Ticket.id)
                .with_for_update()
            )
            for ticket in await self.session.scalars(stmt):
                facts.tickets[id(ticket)] = ticket
        by_id = {t.id: t for t in facts.tickets.values()}
        wanted = set(ids)
        for row in rows:
            ticket = by_id[row.ticket_id]
            if row.external_id is not None:
                facts.stored.setdefault(row.external_id, ticket)
                if row.external_id in wanted:
                    facts.duplicates.add(row.external_id)
            for ref in set(row.referenced_ids or ()) & wanted:
                facts.referenced_by.setdefault(ref, set()).add(id(ticket))
        waiting = select(InboundItem.referenced_ids).where(
            InboundItem.inbox_id == self.inbox_id,
            InboundItem.status == "ignored",
            InboundItem.referenced_ids.overlap(ids),  # the partial GIN index
        )
        for referenced in await self.session.scalars(waiting):
            facts.waited_for.update(set(referenced or ()) & wanted)

        senders = [(m, s) for m in messages if (s := _sender(m)) is not None]
        pairs = sorted({(s.kind, s.value) for _, s in senders})
        facts.recent = await self._recent(pairs)
        creates = {
            (s.kind, s.value): m.sender_name
            for m, s in senders
            if not m.auto_reply  # kept aside, most likely: its sender is made if it joins
        }
        facts.contacts = await senders_contacts(self.session, pairs, creates=creates)
        return facts

    async def _recent(self, pairs: Sequence[Pair]) -> Counter[Pair]:
        """Each sender's inbound messages in the rate-limit window, one grouped count (by
        contact id, so the (author, time) index answers)."""
        if not pairs:
            return Counter()
        stmt = (
            select(ContactIdentity.kind, ContactIdentity.value, func.count(Message.id))
            .join(Message, Message.author_contact_id == ContactIdentity.contact_id)
            .where(
                tuple_(ContactIdentity.kind, ContactIdentity.value).in_(pairs),
                Message.created_at >= self.since,
                Message.inbox_id == self.inbox_id,
                Message.direction == "inbound",
            )
            .group_by(ContactIdentity.kind, ContactIdentity.value)
        )
        return Counter({(k, v): n for k, v, n in (await self.session.execute(stmt)).all()})
