"""Same-node delivery: the events a session committed go to this node's hub at once.

The lifecycle writes outbox rows in the caller's transaction; a listener collects the ones
each flush inserted (and those written in SQL, `app.outbox.service.note_written`) and, when
the transaction commits, hands them to the hub installed on the session's sessionmaker.
Events of a rolled-back transaction or savepoint are never handed over. Redis is not
involved, so the node's own sockets keep receiving while Redis is down; the relay's copy
arrives later and is dropped by seq.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from app.outbox.models import OutboxEvent
from app.outbox.service import WRITTEN_IN_SQL, WrittenEvent
from app.realtime.render import Event

SINK_KEY = "realtime_local_sink"
PENDING_KEY = "realtime_local_pending"
Sink = Callable[[Sequence[Event]], None]


def install_local_delivery(sessionmaker: async_sessionmaker[AsyncSession], sink: Sink) -> None:
    """Sessions made from now on hand their committed events to `sink`."""
    info = dict(sessionmaker.kw.get("info") or {})
    info[SINK_KEY] = sink
    sessionmaker.configure(info=info)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _: Any) -> None:
    if SINK_KEY not in session.info:
        return
    new = [obj for obj in session.new if isinstance(obj, OutboxEvent)]
    if new:
        session.info.setdefault(PENDING_KEY, []).extend(new)


@event.listens_for(Session, "after_commit")
def _deliver(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released (SQLAlchemy fires after_commit for those too)
    pending: list[OutboxEvent] = session.info.pop(PENDING_KEY, None) or []
    written: list[tuple[Any, WrittenEvent]] = session.info.pop(WRITTEN_IN_SQL, None) or []
    sink: Sink | None = session.info.get(SINK_KEY)
    if not (pending or written) or sink is None:
        return
    events = [
        Event(topic=e.topic, payload=e.payload, ticket_id=e.ticket_id, seq=e.seq)
        for e in pending
        if inspect(e).persistent
    ] + [
        Event(topic=e.topic, payload=e.payload, ticket_id=e.ticket_id, seq=e.seq)
        for _, e in written
    ]
    sink(sorted(events, key=lambda e: (e.ticket_id or 0, e.seq or 0)))


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(PENDING_KEY, None)
        session.info.pop(WRITTEN_IN_SQL, None)
        return
    # A savepoint rolled back: drop what was written in it or in savepoints inside it.
    written = session.info.get(WRITTEN_IN_SQL)
    if written:
        written[:] = [(t, e) for t, e in written if not _within(t, previous_transaction)]


def _within(transaction: Any, outer: Any) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False
