"""Waking the routing driver: a NOTIFY on `ROUTING_CHANNEL`, sent inside the writing
transaction, so PostgreSQL delivers it only once that transaction commits (the driver
then sees the change). Payloads: `ticket:<id>` (route this ticket), `agent:<id>` (this
agent may take work: a full round), `sweep`. The agents table NOTIFYs `agent:<id>` itself
when an agent comes online (migration 0019)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

ROUTING_CHANNEL = "relaydesk_routing"


async def wake(session: AsyncSession, *keys: str) -> None:
    for key in dict.fromkeys(keys):
        await session.execute(select(func.pg_notify(ROUTING_CHANNEL, key)))


@dataclass
class Wakeups:
    tickets: set[int] = field(default_factory=set)
    agents: set[int] = field(default_factory=set)
    sweep: bool = False

    @classmethod
    def parse(cls, payloads: Iterable[str]) -> Wakeups:
        found = cls()
        for payload in payloads:
            kind, _, value = payload.partition(":")
            if kind == "ticket" and value.isdigit():
                found.tickets.add(int(value))
            elif kind == "agent" and value.isdigit():
                found.agents.add(int(value))
            else:
                found.sweep = True
        return found

    def __bool__(self) -> bool:
        return bool(self.tickets or self.agents or self.sweep)
