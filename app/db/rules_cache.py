"""A per-process cache of the rules every message consults: SLA policies and calendars,
routing skill rules. They change a few times a day and are read on every message, which
made their SELECTs one of the round trips of a chat message.

A cached value is forgotten
- at once in this process when a transaction that wrote one of their tables commits or
  rolls back (statements are watched at the engine, so Core and ORM writes alike);
- in every other process when a trigger's NOTIFY on `relaydesk_rules` arrives (migration
  0032, delivered at commit), which `listen_for_rule_changes` waits for;
- after `TTL_SECONDS` in any case: a notification missed while a listener reconnected
  costs at most that long.

A value is only cached from a transaction that wrote none of those tables, so neither an
uncommitted change nor one rolled back afterwards is served to other transactions. Values
are kept per database (tests run several in one process) and must be plain data, never
ORM rows: those belong to the session that loaded them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db.notify import Listener

log = logging.getLogger(__name__)

RULES_CHANNEL = "relaydesk_rules"
TTL_SECONDS = 10.0
# How often a listener that lost its connection tries again.
RELISTEN_SECONDS = 1.0
WATCHED_TABLES = ("sla_policies", "sla_calendars", "routing_skill_rules")
_WRITES = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|TRUNCATE|WITH)\b.*\b(" + "|".join(WATCHED_TABLES) + r")\b",
    re.IGNORECASE | re.DOTALL,
)
# Set in a connection's `info` while its transaction has written a watched table.
WROTE_KEY = "rules_cache_wrote"

T = TypeVar("T")


class RulesCache:
    def __init__(
        self, *, ttl: float = TTL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self.generation = 0  # bumped by every invalidation
        self._entries: dict[tuple[str, str], tuple[float, Any]] = {}

    def invalidate(self) -> None:
        self.generation += 1
        self._entries.clear()

    def peek(self, database: str, name: str) -> Any | None:
        """The cached value if it is fresh, without loading anything."""
        entry = self._entries.get((database, name))
        if entry is None or entry[0] <= self.clock():
            return None
        return entry[1]

    async def get(
        self, session: AsyncSession, name: str, load: Callable[[AsyncSession], Awaitable[T]]
    ) -> T:
        """The value cached under `name` for the session's database, else `load(session)`
        (cached when nothing invalidated it meanwhile and the transaction wrote no rule)."""
        database = database_of(session)
        found = self.peek(database, name)
        if found is not None:
            return found  # type: ignore[no-any-return]
        generation, expires = self.generation, self.clock() + self.ttl
        value = await load(session)
        connection = await session.connection()
        if generation == self.generation and not connection.info.get(WROTE_KEY):
            self._entries[database, name] = (expires, value)
        return value


def database_of(session: AsyncSession) -> str:
    bind = session.get_bind()
    return bind.engine.url.render_as_string(hide_password=True)


# The process's cache: web, worker and CLI each have their own.
RULES = RulesCache()


@event.listens_for(Engine, "before_cursor_execute")
def _watch(
    conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
) -> None:
    if not conn.info.get(WROTE_KEY) and _WRITES.match(statement):
        conn.info[WROTE_KEY] = True
        RULES.invalidate()


def _ended(conn: Connection) -> None:
    if conn.invalidated:
        # Its `info` is gone with the dead connection (and reading it raises): whether it
        # wrote is unknown, so forget everything.
        RULES.invalidate()
    elif conn.info.pop(WROTE_KEY, None):
        RULES.invalidate()


def _ended_commit(conn: Connection) -> None:
    _ended(conn)


event.listen(Engine, "commit", _ended_commit)
event.listen(Engine, "rollback", _ended)


async def listen_for_rule_changes(engine: AsyncEngine, cache: RulesCache = RULES) -> None:
    """Forget the cache whenever another process commits a rule change; runs until
    cancelled (under the process's supervisor)."""
    while True:
        try:
            async with Listener(engine, RULES_CHANNEL) as listener:
                cache.invalidate()  # whatever changed while nobody listened
                while True:
                    if await listener.wait(60):
                        listener.take()
                        cache.invalidate()
        except (OSError, ConnectionError) as exc:
            log.warning("rules cache: listening on %s failed: %s", RULES_CHANNEL, exc)
            cache.invalidate()
            await asyncio.sleep(RELISTEN_SECONDS)
