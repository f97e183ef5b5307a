"""Typing and viewing: moments that are never stored, fanned out to the node's sockets
and, through Redis, to the other nodes' (lost while Redis is down: the next one corrects).

Viewers are the console's collision warning: which agents have a ticket open, and whether
they are typing. Each node keeps the whole picture: its own agents' entries and what the
other nodes announced, each entry expiring unless renewed, so a node that died stops
showing its agents after `VIEWER_TTL`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from app.agents.service import AGENT_PRESENCE
from app.db.engine import SessionMaker
from app.realtime.frames import encode
from app.realtime.hub import Hub
from app.realtime.render import Event, TicketMeta, load_metas
from app.realtime.sockets import AgentSocket, Socket

VIEWER_TTL = 90.0


@dataclass
class Viewer:
    agent_id: int
    name: str
    typing: bool
    node: str
    until: float


class Moments:
    def __init__(self, hub: Hub, sessionmaker: SessionMaker) -> None:
        self.hub = hub
        self.sessionmaker = sessionmaker
        self.viewers: dict[int, dict[int, Viewer]] = {}  # ticket -> agent -> entry
        self._tasks: set[asyncio.Task[None]] = set()
        # agent id -> (changed_at, statuses) of the newest presence applied: the same change
        # arrives twice (after the commit, and from Redis), and copies may arrive late.
        self.presence: dict[int, tuple[str, str]] = {}
        hub.ephemeral_handlers.append(self._on_remote)

    async def _meta(self, ticket_id: int) -> TicketMeta | None:
        meta: TicketMeta | None = self.hub.metas.get(ticket_id)
        if meta is None:
            async with self.sessionmaker() as session:
                meta = (await load_metas(session, [ticket_id])).get(ticket_id)
        return meta

    def _agents_seeing(self, meta: TicketMeta) -> list[AgentSocket]:
        return [sock for sock in self.hub.agents if sock.may_see(meta)]

    # --- typing -------------------------------------------------------------------------

    async def typing(
        self,
        ticket_id: int,
        *,
        author: dict[str, Any],
        active: bool,
        internal: bool = False,
        origin: Socket | None = None,
        remote: bool = False,
    ) -> None:
        """`internal`: an agent typing a note, which the visitor must not see."""
        text = encode(
            {"type": "typing", "ticket_id": ticket_id, "author": author, "active": active}
        )
        if author["type"] == "agent" and not internal:
            for follower in self.hub.visitors.get(ticket_id, ()):
                follower.send(text)
        meta = await self._meta(ticket_id) if self.hub.agents else None
        if meta is not None:
            for sock in self._agents_seeing(meta):
                if sock is not origin:
                    sock.send(text)
        if author["type"] == "agent" and author.get("id") in self.viewers.get(ticket_id, {}):
            viewer = self.viewers[ticket_id][author["id"]]
            if viewer.typing != active:
                viewer.typing = active
                await self._send_viewers(ticket_id)
        if not remote:
            await self.hub.publish_ephemeral(
                {
                    "kind": "typing",
                    "ticket_id": ticket_id,
                    "author": author,
                    "active": active,
                    "internal": internal,
                }
            )

    # --- viewers ------------------------------------------------------------------------

    async def viewing(
        self,
        ticket_id: int,
        *,
        agent_id: int,
        name: str,
        active: bool,
        remote_node: str | None = None,
    ) -> None:
        entries = self.viewers.setdefault(ticket_id, {})
        changed = False
        if active:
            previous = entries.get(agent_id)
            entries[agent_id] = Viewer(
                agent_id,
                name,
                previous.typing if previous else False,
                remote_node or self.hub.node,
                time.monotonic() + VIEWER_TTL,
            )
            changed = previous is None
        elif entries.pop(agent_id, None) is not None:
            changed = True
        if not entries:
            self.viewers.pop(ticket_id, None)
        if remote_node is None:
            await self.hub.publish_ephemeral(
                {
                    "kind": "viewing",
                    "ticket_id": ticket_id,
                    "agent_id": agent_id,
                    "name": name,
                    "active": active,
                }
            )
        if changed or active:
            await self._send_viewers(ticket_id)

    def viewers_of(self, ticket_id: int) -> list[dict[str, Any]]:
        now = time.monotonic()
        entries = self.viewers.get(ticket_id, {})
        for agent_id in [a for a, v in entries.items() if v.until < now]:
            del entries[agent_id]
        return [
            {"id": v.agent_id, "name": v.name, "typing": v.typing}
            for v in sorted(entries.values(), key=lambda v: v.agent_id)
        ]

    async def _send_viewers(self, ticket_id: int) -> None:
        meta = await self._meta(ticket_id) if self.hub.agents else None
        if meta is None:
            return
        text = encode(
            {"type": "viewers", "ticket_id": ticket_id, "agents": self.viewers_of(ticket_id)}
        )
        for sock in self._agents_seeing(meta):
            sock.send(text)

    async def left(self, sock: AgentSocket, ticket_ids: set[int]) -> None:
        """The agent's socket closed: it views nothing any more."""
        for ticket_id in ticket_ids:
            await self.viewing(
                ticket_id, agent_id=sock.actor.agent_id, name=sock.name, active=False
            )

    # --- presence -----------------------------------------------------------------------

    def _presence(self, data: dict[str, Any]) -> None:
        agent_id, status, at = data.get("agent_id"), data.get("status"), data.get("changed_at")
        if not isinstance(agent_id, int) or not isinstance(status, str) or not isinstance(at, str):
            return
        raw = data.get("channels")
        channels = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        seen = f"{status} {sorted(channels.items())}"
        known = self.presence.get(agent_id)
        if known is not None and (known == (at, seen) or known[0] > at):
            return
        self.presence[agent_id] = (at, seen)
        text = encode(
            {"type": "presence", "agent_id": agent_id, "status": status, "channels": channels}
        )
        for sock in self.hub.agents:
            sock.send(text)

    # --- from the other nodes -----------------------------------------------------------

    def _on_remote(self, event: Event) -> None:
        if event.topic == AGENT_PRESENCE:
            self._presence(event.payload)
            return
        task = asyncio.get_running_loop().create_task(self._remote(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _remote(self, event: Event) -> None:
        data = event.payload
        ticket_id = data.get("ticket_id")
        if not isinstance(ticket_id, int):
            return
        if event.topic == "ephemeral.typing" and isinstance(data.get("author"), dict):
            await self.typing(
                ticket_id,
                author=data["author"],
                active=bool(data.get("active")),
                internal=bool(data.get("internal")),
                remote=True,
            )
        elif event.topic == "ephemeral.viewing" and isinstance(data.get("agent_id"), int):
            await self.viewing(
                ticket_id,
                agent_id=int(data["agent_id"]),
                name=str(data.get("name") or ""),
                active=bool(data.get("active")),
                remote_node=str(data.get("node")),
            )
