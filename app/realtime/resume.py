"""`resume`: exactly what a socket missed on one ticket since a seq, in seq order, from
`ticket_events`, then `resume.done`; live frames that arrive meanwhile wait and follow."""

from __future__ import annotations

from collections.abc import Callable

from app.realtime.frames import encode
from app.realtime.hub import event_from_row
from app.realtime.render import Event, MessageView, load_messages
from app.realtime.runtime import Realtime
from app.realtime.sockets import Socket
from app.tickets.events import events_since

PAGE = 500
Render = Callable[[Event, dict[int, MessageView]], str | None]


async def resume(
    realtime: Realtime, sock: Socket, *, ticket_id: int, since: int, render: Render
) -> int:
    """Send the ticket's events after `since`; returns the last seq sent."""
    sock.start_resume(ticket_id)
    last = since
    try:
        async with realtime.sessionmaker() as session:
            while True:
                rows = await events_since(session, ticket_id, since=last, limit=PAGE)
                events = [event_from_row(row) for row in rows]
                messages = await load_messages(
                    session, [e.message_id for e in events if e.message_id is not None]
                )
                for event in events:
                    text = render(event, messages)
                    if text is not None:
                        sock.send(text)  # sent again even if already seen: asked for
                    assert event.seq is not None
                    last = event.seq
                if len(rows) < PAGE:
                    break
        sock.send(
            encode(
                {"type": "resume.done", "ticket_id": ticket_id, "since": since, "last_seq": last}
            )
        )
    finally:
        sock.finish_resume(ticket_id, last)
    return last
