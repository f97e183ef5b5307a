"""The hub of one app node: every socket of the node, and the events they may see.

Events come from two places. The outbox relay publishes every committed event to Redis
(`app.outbox.relay.events_channel`), which every node subscribes to; and the node that
committed a change hands its events to its own hub right after the commit
(`app.realtime.local`), so its sockets keep receiving while Redis is down. Each event
therefore usually arrives twice, and events of one ticket may arrive out of order (two
relays, local before Redis): the hub applies each ticket's events strictly in seq order,
once, filling any hole from `ticket_events` before going on. After its Redis subscription
was lost, the hub reads what was committed meanwhile from `ticket_events`, so the clients
of this node miss nothing that other nodes committed during the outage.

One dispatcher task does all of this in batches: the messages a batch names are loaded in
one query for every socket, and each frame is encoded once per audience.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import select, tuple_

from app.db.engine import SessionMaker
from app.outbox.relay import events_channel
from app.outbox.service import MESSAGE_CREATED
from app.realtime.receipts import Receipts
from app.realtime.render import (
    Event,
    MessageView,
    TicketMeta,
    agent_frame,
    load_messages,
    load_metas,
    visitor_frame,
)
from app.realtime.sockets import AgentSocket, Socket, VisitorSocket
from app.tickets.events import TicketEvent

log = logging.getLogger(__name__)

CURSOR_CACHE = 50_000
# Events committed this long before the subscription was lost are read again after it is
# back (nodes' clocks differ a little; what was delivered already is dropped by seq).
CATCH_UP_MARGIN = timedelta(seconds=5)
CATCH_UP_PAGE = 2000
REDIS_BACKOFF_MAX = 5.0
REDIS_IDLE_PING = 5.0


def node_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


def ephemeral_channel(prefix: str) -> str:
    """Typing and viewing: not stored, so sent straight to the other nodes."""
    return f"{prefix}:realtime"


class LRU(OrderedDict[int, Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: int, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)


class Hub:
    def __init__(
        self,
        sessionmaker: SessionMaker,
        redis: Redis,
        *,
        prefix: str,
        node: str | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.redis = redis
        self.prefix = prefix
        self.node = node or node_name()
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.cursors: LRU = LRU(CURSOR_CACHE)  # ticket -> last seq applied on this node
        self.metas: LRU = LRU(CURSOR_CACHE)  # ticket -> TicketMeta, while agents are here
        self.visitors: dict[int, set[VisitorSocket]] = {}  # ticket -> its visitors' sockets
        self.agents: set[AgentSocket] = set()
        self.redis_connected = asyncio.Event()
        self.ephemeral_handlers: list[Any] = []
        self.dispatched = 0  # batches, for tests waiting on the dispatcher
        self.receipts: Receipts | None = None  # where agents' receipts of messages go

    # --- sockets --------------------------------------------------------------------------

    def follow(self, sock: VisitorSocket, ticket_id: int, *, seen: int) -> None:
        """The visitor's socket receives the ticket's frames after `seen`."""
        sock.tickets.add(ticket_id)
        sock.seen[ticket_id] = max(sock.seen.get(ticket_id, 0), seen)
        self.visitors.setdefault(ticket_id, set()).add(sock)

    def add_agent(self, sock: AgentSocket) -> None:
        self.agents.add(sock)

    def remove(self, sock: Socket) -> None:
        sock.close()
        if isinstance(sock, AgentSocket):
            self.agents.discard(sock)
            return
        if isinstance(sock, VisitorSocket):
            for ticket_id in sock.tickets:
                followers = self.visitors.get(ticket_id)
                if followers is not None:
                    followers.discard(sock)
                    if not followers:
                        del self.visitors[ticket_id]

    def sockets(self) -> Iterable[Socket]:
        yield from self.agents
        for followers in self.visitors.values():
            yield from followers

    # --- events in ------------------------------------------------------------------------

    def deliver_local(self, events: Sequence[Event]) -> None:
        """Called right after a commit on this node (synchronously, in its event loop)."""
        for event in events:
            self.queue.put_nowait(event)

    def _on_published(self, data: bytes | str) -> None:
        try:
            raw = json.loads(data)
            event = Event(
                topic=str(raw["topic"]),
                payload=raw.get("payload") or {},
                ticket_id=raw.get("ticket_id"),
                seq=raw.get("seq"),
            )
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable event on %s: %.200r", events_channel(prefix=self.prefix), data)
            return
        self.queue.put_nowait(event)

    # --- the dispatcher -------------------------------------------------------------------

    async def dispatch_forever(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self.dispatch(batch)
            except Exception:  # the next event of each ticket fills the hole from the database
                log.exception("realtime: %d events could not be dispatched", len(batch))
            self.dispatched += 1

    async def dispatch(self, batch: Sequence[Event]) -> None:
        by_ticket: dict[int, dict[int, Event]] = {}
        for event in batch:
            if event.ticket_id is None or event.seq is None:
                self._dispatch_global(event)
                continue
            by_ticket.setdefault(event.ticket_id, {}).setdefault(event.seq, event)
        plans: list[tuple[int, int, dict[int, Event]]] = []  # (ticket, applied up to, events)
        holes: list[tuple[int, int, int]] = []
        for ticket_id, events in by_ticket.items():
            cursor = self.cursors.get(ticket_id)
            fresh = {s: e for s, e in events.items() if cursor is None or s > cursor}
            if not fresh:
                continue
            start = cursor if cursor is not None else self._first_start(ticket_id, fresh)
            if len(fresh) != max(fresh) - start:
                holes.append((ticket_id, start, max(fresh)))
            plans.append((ticket_id, start, fresh))
        # Nobody here to tell: the cursor moves on without reading anything.
        heard = [p for p in plans if self._audience(p[0])]
        for ticket_id, _, events in plans:
            if not self._audience(ticket_id):
                self.cursors.put(ticket_id, max(events))
                self.metas.pop(ticket_id, None)
        if not heard:
            return
        holes = [h for h in holes if self._audience(h[0])]
        needs_meta = [t for t, _, _ in heard if self.agents and t not in self.metas]
        async with self.sessionmaker() as session:
            for ticket_id, after, upto in holes:
                rows = await session.scalars(
                    select(TicketEvent)
                    .where(
                        TicketEvent.ticket_id == ticket_id,
                        TicketEvent.seq > after,
                        TicketEvent.seq <= upto,
                    )
                    .order_by(TicketEvent.seq)
                )
                events = next(e for t, _, e in heard if t == ticket_id)
                for row in rows:
                    events.setdefault(row.seq, event_from_row(row))
            wanted = [e.message_id for _, _, events in heard for e in events.values()]
            messages = await load_messages(session, [m for m in wanted if m is not None])
            for ticket_id, meta in (await load_metas(session, needs_meta)).items():
                self.metas.put(ticket_id, meta)
        for ticket_id, start, events in heard:
            self._apply(ticket_id, start, events, messages)

    def _first_start(self, ticket_id: int, fresh: dict[int, Event]) -> int:
        """Where a ticket this node has not applied events of yet starts: its first event
        here, or earlier if a visitor following it was sent less (the hole is filled)."""
        start = min(fresh) - 1
        followers = self.visitors.get(ticket_id)
        if followers:
            start = min(start, *(sock.seen.get(ticket_id, 0) for sock in followers))
        return start

    def _audience(self, ticket_id: int) -> bool:
        return bool(self.agents) or ticket_id in self.visitors

    def _apply(
        self, ticket_id: int, start: int, events: dict[int, Event], messages: dict[int, MessageView]
    ) -> None:
        applied = start
        for seq in sorted(events):
            if seq <= applied:
                continue
            event = events[seq]
            self._fan_out(event, messages)
            applied = seq
        self.cursors.put(ticket_id, applied)

    def _fan_out(self, event: Event, messages: dict[int, MessageView]) -> None:
        ticket_id, seq = event.ticket_id, event.seq
        assert ticket_id is not None
        assert seq is not None
        followers = self.visitors.get(ticket_id)
        if followers:
            text = visitor_frame(event, messages)
            for follower in list(followers):
                follower.push(ticket_id, seq, text)
            view = messages.get(event.message_id or 0) if event.topic == MESSAGE_CREATED else None
            if self.receipts and view and view.direction == "outbound" and not view.internal:
                self.receipts.reply_delivered(ticket_id, seq)  # the visitor has our reply
        is_ticket_event = event.topic.startswith("ticket.")
        if not self.agents:
            if is_ticket_event:
                self.metas.pop(ticket_id, None)  # stale from here on: read again when needed
            return
        before: TicketMeta | None = self.metas.get(ticket_id)
        after = before.updated(event.payload) if before and is_ticket_event else before
        if after is not None and after is not before:
            self.metas.put(ticket_id, after)
        if before is None or after is None:
            return  # deleted meanwhile
        agent_text: str | None = None
        reached: list[AgentSocket] = []
        for sock in list(self.agents):
            # An agent hears of a change that takes the ticket out of their view, too.
            if sock.may_see(before) or sock.may_see(after):
                agent_text = agent_text or agent_frame(event, messages)
                if agent_text is None:
                    return
                sock.push(ticket_id, seq, agent_text)
                reached.append(sock)
        if reached and self.receipts is not None and after.channel == "chat":
            view = messages.get(event.message_id or 0) if event.topic == MESSAGE_CREATED else None
            if view is not None and view.direction == "inbound" and not view.internal:
                self._receipt(ticket_id, seq, reached)

    def _receipt(self, ticket_id: int, seq: int, reached: list[AgentSocket]) -> None:
        """A visitor's message (its seq is its event's) reached agents' consoles: read if
        one of them has the ticket open."""
        assert self.receipts is not None
        reader = next((sock for sock in reached if ticket_id in sock.viewing), None)
        if reader is not None:
            self.receipts.read(ticket_id, agent_id=reader.actor.agent_id, seq=seq)
        else:
            self.receipts.delivered(ticket_id, seq)

    def _dispatch_global(self, event: Event) -> None:
        for handler in self.ephemeral_handlers:
            handler(event)

    # --- Redis ----------------------------------------------------------------------------

    async def publish_ephemeral(self, message: dict[str, Any]) -> None:
        """Typing and viewing for the other nodes; lost while Redis is down (they are
        moments, and the next one corrects them)."""
        if not self.redis_connected.is_set():
            return
        data = json.dumps({**message, "node": self.node}, separators=(",", ":"))
        try:
            await self.redis.publish(ephemeral_channel(self.prefix), data)
        except Exception as exc:  # Redis is down: the listener notices and reconnects
            log.debug("ephemeral frame not published: %s", exc)

    async def listen_forever(self) -> None:
        backoff = 0.25
        lost_at: datetime | None = None
        channels = (events_channel(prefix=self.prefix), ephemeral_channel(self.prefix))
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(*channels)
                if lost_at is not None:
                    await self.catch_up(since=lost_at - CATCH_UP_MARGIN)
                    log.info("realtime: Redis is back; caught up from %s", lost_at.isoformat())
                    lost_at = None
                self.redis_connected.set()
                backoff = 0.25
                await self._read(pubsub, channels[1])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: keep serving this node's sockets
                if lost_at is None:
                    lost_at = datetime.now(UTC)
                    log.warning("realtime: Redis subscription lost (%s); retrying", exc)
                self.redis_connected.clear()
                await asyncio.sleep(backoff)
                backoff = min(REDIS_BACKOFF_MAX, backoff * 2)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _read(self, pubsub: Any, ephemeral: str) -> None:
        while True:
            message = await pubsub.get_message(
                ignore_subscribe_messages=True, timeout=REDIS_IDLE_PING
            )
            if message is None:
                await pubsub.ping()  # a silent connection may be a dead one
                continue
            if message.get("type") != "message":
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else channel
            if channel == ephemeral:
                self._on_ephemeral(message["data"])
            else:
                self._on_published(message["data"])

    def _on_ephemeral(self, data: bytes | str) -> None:
        try:
            raw = json.loads(data)
        except ValueError:
            return
        if not isinstance(raw, dict) or raw.get("node") == self.node:
            return
        self._dispatch_global(Event(topic=f"ephemeral.{raw.get('kind')}", payload=raw))

    async def catch_up(self, *, since: datetime) -> int:
        """Queue every event committed since `since` (deduplicated by seq as they are
        applied); returns how many were read."""
        count = 0
        after: tuple[int, int] = (0, 0)
        async with self.sessionmaker() as session:
            while True:
                rows = (
                    await session.scalars(
                        select(TicketEvent)
                        .where(
                            TicketEvent.at >= since,
                            tuple_(TicketEvent.ticket_id, TicketEvent.seq) > tuple_(*after),
                        )
                        .order_by(TicketEvent.ticket_id, TicketEvent.seq)
                        .limit(CATCH_UP_PAGE)
                    )
                ).all()
                for row in rows:
                    self.queue.put_nowait(event_from_row(row))
                count += len(rows)
                if len(rows) < CATCH_UP_PAGE:
                    return count
                after = (rows[-1].ticket_id, rows[-1].seq)


def event_from_row(row: TicketEvent) -> Event:
    return Event(topic=row.type, payload=row.data, ticket_id=row.ticket_id, seq=row.seq, at=row.at)
