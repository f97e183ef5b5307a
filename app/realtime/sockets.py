"""One socket's side of the hub: what it may see, what it was sent, and its send queue.

Frames reach a socket through `push` (ticket frames, ordered and deduplicated by seq) or
`send` (everything else). Both only queue: the socket's writer task sends, so one slow
client never holds up the hub. A client too slow to keep up (its queue full) is
disconnected; it reconnects and resumes, which costs less than the memory it would pin.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from app.auth.actor import Actor
from app.realtime.render import TicketMeta

SEND_QUEUE_FRAMES = 2000


class Socket:
    kind = "socket"

    def __init__(self, connection_id: str, *, address: str) -> None:
        self.id = connection_id
        self.address = address
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(SEND_QUEUE_FRAMES)
        # Per ticket: the last seq this socket was sent (live or by resume).
        self.seen: dict[int, int] = {}
        # Tickets being resumed: live frames wait here until the catch-up is sent.
        self.resuming: dict[int, list[tuple[int, str]]] = {}
        self.closed = False
        # Sent when the socket ends: normal, or "try again later" for a client too slow.
        self.close_code = 1000

    def send(self, text: str) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.close_code = 1013
            self.close()

    def push(self, ticket_id: int, seq: int, text: str) -> None:
        """A ticket frame: sent once, in seq order (older or repeated seqs are dropped)."""
        waiting = self.resuming.get(ticket_id)
        if waiting is not None:
            waiting.append((seq, text))
            return
        if seq <= self.seen.get(ticket_id, 0):
            return
        self.seen[ticket_id] = seq
        self.send(text)

    def start_resume(self, ticket_id: int) -> None:
        self.resuming.setdefault(ticket_id, [])

    def finish_resume(self, ticket_id: int, last_seq: int) -> None:
        """The catch-up up to `last_seq` was queued; live frames after it follow."""
        self.seen[ticket_id] = max(self.seen.get(ticket_id, 0), last_seq)
        for seq, text in sorted(self.resuming.pop(ticket_id, []), key=lambda item: item[0]):
            self.push(ticket_id, seq, text)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            # Wakes the writer, which ends the socket; the queue may be full, so make room.
            while self.queue.full():
                self.queue.get_nowait()
            self.queue.put_nowait(None)

    async def write_loop(self, send_text: Callable[[str], Awaitable[None]]) -> None:
        while (text := await self.queue.get()) is not None:
            await send_text(text)


class VisitorSocket(Socket):
    kind = "visitor"

    def __init__(
        self, connection_id: str, *, address: str, visitor_id: int, visitor_key: str, inbox_id: int
    ) -> None:
        super().__init__(connection_id, address=address)
        self.visitor_id = visitor_id
        self.visitor_key = visitor_key
        self.inbox_id = inbox_id
        self.tickets: set[int] = set()


class AgentSocket(Socket):
    kind = "agent"

    def __init__(self, connection_id: str, *, address: str, actor: Actor, name: str) -> None:
        super().__init__(connection_id, address=address)
        self.actor = actor
        self.name = name
        self.status = "online"
        # Tickets the agent has open (`viewing`): what reaches them there is read.
        self.viewing: set[int] = set()

    def may_see(self, meta: TicketMeta) -> bool:
        """As `app.tickets.repository.readable_by` decides for the REST API."""
        actor = self.actor
        return (
            actor.sees_all_tickets
            or meta.assignee_id == actor.agent_id
            or (meta.team_id is not None and meta.team_id in actor.team_ids)
        )
