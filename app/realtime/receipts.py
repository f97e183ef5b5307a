"""Read state of a visitor's own messages: `delivered` once an agent's console received
the message, `read` once an agent had its ticket open (a `viewing` frame) or said `read`.
And of agents' replies: `delivered` once a visitor's socket received them (live or by
resume), which is how a reply to a visitor who left is known to need an email
(app.chat.jobs).

The hub notes what it handed to agent sockets; a loop records it in batches, one
transaction for every ticket noted meanwhile, through the lifecycle (each changed message
gets a `message.status_changed` event, which reaches the widget like any ticket frame and
is replayed by resume). Several nodes may note the same message: states only move forward,
so the second finds nothing to change.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from app.clock import Clock
from app.db.engine import SessionMaker
from app.tickets.events import SYSTEM, EventActor
from app.tickets.lifecycle import record_seen
from app.tickets.models import Ticket

log = logging.getLogger(__name__)

# Receipts wait this long to be recorded together (a burst of messages is one transaction).
BATCH_DELAY = 0.05
RETRY_DELAY = 1.0
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

    async def record_forever(self) -> None:
        while True:
            await self.wake.wait()
            await asyncio.sleep(BATCH_DELAY)
            self.wake.clear()
            batch, self.pending = self.pending, {}
            try:
                await self.record(batch)
            except Exception:  # the database is away: keep them for the next round
                log.exception("realtime: %d tickets' receipts not recorded", len(batch))
                for ticket_id, noted in batch.items():
                    self.delivered(ticket_id, noted.delivered)
                    self.reply_delivered(ticket_id, noted.reply_delivered)
                    if noted.reader is not None:
                        self.read(ticket_id, agent_id=noted.reader, seq=noted.read)
                await asyncio.sleep(RETRY_DELAY)

    async def record(self, batch: dict[int, Noted]) -> None:
        now = self.clock()
        async with self.sessionmaker() as session, session.begin():
            for ticket_id in sorted(batch):  # one lock order for every node
                noted = batch[ticket_id]
                ticket = await session.get(Ticket, ticket_id, with_for_update=True)
                if ticket is None or ticket.channel != "chat":
                    continue
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
