"""Read state of a visitor's own messages: `delivered` once an agent's console received
the message, `read` once an agent had its ticket open (a `viewing` frame) or said `read`.
And of agents' replies: `delivered` once a visitor's socket received them (live or by
resume), which is how a reply to a visitor who left is known to need an email
(app.chat.jobs).

The hub notes what it handed to sockets; a loop records what was noted meanwhile through
the lifecycle (each changed message gets a `message.status_changed` event, which reaches
the widget like any ticket frame and is replayed by resume). Each ticket is recorded in a
short transaction of its own that skips a ticket a writer holds (and tries it again
shortly), so receipts never make a message wait. Several nodes may note the same
message: states only move forward, so the second finds nothing to change.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select

from app.clock import Clock
from app.db.engine import SessionMaker
from app.tickets.events import SYSTEM, EventActor
from app.tickets.lifecycle import record_seen
from app.tickets.models import Ticket

log = logging.getLogger(__name__)

# Receipts wait this long to be recorded together (a burst of messages is one transaction).
BATCH_DELAY = 0.05
RETRY_DELAY = 1.0
BUSY_DELAY = 0.2  # before trying tickets again that a writer had locked
EVERYTHING = 2**62  # "up to the newest message": an agent opened the ticket


@dataclass
class Noted:
    delivered: int = 0  # up to this seq
    read: int = 0
    reader: int | None = None  # the agent who read
    reply_delivered: int = 0  # agents' replies up to this seq reached the visitor


class Receipts:
    def __init__(self, sessionmaker: SessionMaker, clock: Clock) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.pending: dict[int, Noted] = {}
        self.wake = asyncio.Event()

    def delivered(self, ticket_id: int, seq: int) -> None:
        noted = self.pending.setdefault(ticket_id, Noted())
        noted.delivered = max(noted.delivered, seq)
        self.wake.set()

    def reply_delivered(self, ticket_id: int, seq: int) -> None:
        noted = self.pending.setdefault(ticket_id, Noted())
        noted.reply_delivered = max(noted.reply_delivered, seq)
        self.wake.set()

    def read(self, ticket_id: int, *, agent_id: int, seq: int = EVERYTHING) -> None:
        noted = self.pending.setdefault(ticket_id, Noted())
        if seq > noted.read:
            noted.read, noted.reader = seq, agent_id
        self.wake.set()

    def _keep(self, ticket_id: int, noted: Noted) -> None:
        """Note again what could not be recorded this round."""
        self.delivered(ticket_id, noted.delivered)
        self.reply_delivered(ticket_id, noted.reply_delivered)
        if noted.reader is not None:
            self.read(ticket_id, agent_id=noted.reader, seq=noted.read)

    async def record_forever(self) -> None:
        while True:
            await self.wake.wait()
            await asyncio.sleep(BATCH_DELAY)
            self.wake.clear()
            batch, self.pending = self.pending, {}
            busy = 0
            for ticket_id in sorted(batch):
                try:
                    if not await self.record(ticket_id, batch[ticket_id]):
                        busy += 1
                        self._keep(ticket_id, batch[ticket_id])
                except Exception:  # the database is away: keep it for the next round
                    log.exception("realtime: receipts of ticket %d not recorded", ticket_id)
                    self._keep(ticket_id, batch[ticket_id])
                    await asyncio.sleep(RETRY_DELAY)
            if busy:
                await asyncio.sleep(BUSY_DELAY)

    async def record(self, ticket_id: int, noted: Noted) -> bool:
        """One short transaction per ticket, so a receipt never holds up a message: a
        ticket locked by a writer is skipped (False) and tried again next round."""
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            ticket = await session.scalar(
                select(Ticket).where(Ticket.id == ticket_id).with_for_update(skip_locked=True)
            )
            if ticket is None:
                exists = await session.scalar(select(Ticket.id).where(Ticket.id == ticket_id))
                return exists is None  # deleted: nothing to record
            if ticket.channel != "chat":
                return True
            if noted.reader is not None:
                await record_seen(
                    session,
                    ticket,
                    up_to_seq=noted.read,
                    status="read",
                    actor=EventActor.agent(noted.reader),
                    now=now,
                )
            if noted.delivered > noted.read:
                await record_seen(
                    session,
                    ticket,
                    up_to_seq=noted.delivered,
                    status="delivered",
                    actor=SYSTEM,
                    now=now,
                )
            if noted.reply_delivered:
                await record_seen(
                    session,
                    ticket,
                    up_to_seq=noted.reply_delivered,
                    status="delivered",
                    direction="outbound",
                    actor=SYSTEM,
                    now=now,
                )
        return True
