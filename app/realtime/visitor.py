"""A visitor's socket: `/ws/widget?token=<visitor token>`.

It follows the visitor's own conversations and nothing else: the tickets of the visitor's
contact in the visitor's inbox, joined by each new one their first message opens.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.chat.messages import do_visitor_message, do_visitor_read
from app.chat.models import ChatVisitor
from app.chat.port import ChatSettings
from app.chat.quick import quick_visitor_message
from app.chat.service import latest_conversation, visitor_ticket_ids
from app.errors import DomainError
from app.realtime.frames import Fields, FrameError, dispatch, encode
from app.realtime.render import Event, visitor_frame
from app.realtime.resume import resume
from app.realtime.runtime import Realtime
from app.realtime.sockets import VisitorSocket
from app.tickets.models import Ticket


class VisitorSession:
    def __init__(self, realtime: Realtime, sock: VisitorSocket, *, settings: ChatSettings) -> None:
        self.realtime = realtime
        self.sock = sock
        self.settings = settings

    async def start(self, visitor: ChatVisitor) -> None:
        """Follow the visitor's conversations from where they stand now, and say hello."""
        async with self.realtime.sessionmaker() as session:
            ids = await visitor_ticket_ids(session, visitor)
            rows = await session.execute(
                select(Ticket.id, Ticket.last_seq).where(Ticket.id.in_(ids))
            )
            seqs: dict[int, int] = dict(rows.all())
        for ticket_id, last_seq in seqs.items():
            self.realtime.hub.follow(self.sock, ticket_id, seen=last_seq)
        latest = max(seqs) if seqs else None
        self.sock.send(
            encode(
                {
                    "type": "hello",
                    "heartbeat_seconds": self.realtime.heartbeat,
                    "visitor": {
                        "name": visitor.name,
                        "email": visitor.email,
                        "verified": visitor.user_id is not None,
                    },
                    "conversation": (
                        {"ticket_id": latest, "last_seq": seqs[latest]} if latest else None
                    ),
                }
            )
        )

    async def handle(self, frame: dict[str, Any]) -> None:
        handlers = {
            "message.send": self.send_message,
            "resume": self.resume,
            "typing": self.typing,
            "read": self.read,
        }
        await dispatch(frame, handlers, send=self.sock.send, audience="a visitor")

    async def send_message(self, fields: Fields) -> None:
        client_id = fields.client_id_required()
        body = fields.text("body", required=False)
        upload_ids = fields.ids("attachment_ids")
        if not body.strip() and not upload_ids:
            raise FrameError(
                "validation_failed",
                "body: must not be empty without attachments",
                client_id=client_id,
            )
        rate = self.settings.rate_limit_per_minute / 60
        if not self.realtime.visitor_messages.take(
            self.sock.visitor_id, rate=rate, burst=min(10, self.settings.rate_limit_per_minute)
        ):
            raise FrameError(
                "rate_limited",
                f"at most {self.settings.rate_limit_per_minute} messages a minute",
                client_id=client_id,
            )
        realtime = self.realtime
        if not upload_ids and self.sock.tickets:
            quick = await quick_visitor_message(
                realtime.sessionmaker,
                visitor_id=self.sock.visitor_id,
                visitor_key=self.sock.visitor_key,
                inbox_id=self.sock.inbox_id,
                ticket_id=max(self.sock.tickets),
                client_id=client_id,
                body=body,
                now=realtime.clock(),
            )
            if quick is not None:
                realtime.hub.follow(self.sock, quick.ticket_id, seen=0)
                # What the commit would have handed to this node's hub (app.realtime.local).
                realtime.hub.deliver_local(
                    [Event(e.topic, e.payload, quick.ticket_id, e.seq) for e in quick.events]
                )
                self._ack(client_id, quick.ticket_id, quick.message_id, quick.seq)
                return
        try:
            async with realtime.sessionmaker() as session, session.begin():
                visitor = await session.get(ChatVisitor, self.sock.visitor_id, with_for_update=True)
                if visitor is None or visitor.is_blocked:
                    raise FrameError(
                        "not_allowed", "this visitor may not send", client_id=client_id
                    )
                result = await do_visitor_message(
                    session,
                    visitor,
                    client_id=client_id,
                    body=body,
                    upload_ids=upload_ids,
                    store=realtime.store,
                    now=realtime.clock(),
                )
                # Before the commit, so the frames the commit produces find this socket.
                realtime.hub.follow(self.sock, result.ticket.id, seen=0)
        except DomainError as exc:
            raise FrameError("validation_failed", exc.detail, client_id=client_id) from None
        message = result.message
        self._ack(client_id, message.ticket_id, message.id, message.seq)

    def _ack(self, client_id: str, ticket_id: int, message_id: int, seq: int) -> None:
        frame = {
            "type": "message.ack",
            "client_id": client_id,
            "ticket_id": ticket_id,
            "message_id": message_id,
            "seq": seq,
        }
        self.sock.send(encode(frame))

    async def _conversation(self, fields: Fields) -> int | None:
        ticket_id = fields.integer("ticket_id", required=False, low=1)
        if ticket_id is not None:
            if ticket_id not in self.sock.tickets:
                raise FrameError("not_allowed", "ticket_id: not one of your conversations")
            return ticket_id
        if self.sock.tickets:
            return max(self.sock.tickets)
        async with self.realtime.sessionmaker() as session:
            visitor = await session.get(ChatVisitor, self.sock.visitor_id)
            ticket = await latest_conversation(session, visitor) if visitor else None
        return ticket.id if ticket else None

    async def resume(self, fields: Fields) -> None:
        since = fields.integer("since", low=0) or 0
        ticket_id = await self._conversation(fields)
        if ticket_id is None:
            self.sock.send(
                encode(
                    {"type": "resume.done", "ticket_id": None, "since": since, "last_seq": since}
                )
            )
            return
        last = await resume(
            self.realtime, self.sock, ticket_id=ticket_id, since=since, render=visitor_frame
        )
        if last > since:
            self.realtime.receipts.reply_delivered(ticket_id, last)  # the replies they missed

    async def read(self, fields: Fields) -> None:
        seq = fields.integer("seq", low=0) or 0
        ticket_id = await self._conversation(fields)
        if ticket_id is None:
            return
        realtime = self.realtime
        async with realtime.sessionmaker() as session, session.begin():
            visitor = await session.get(ChatVisitor, self.sock.visitor_id)
            if visitor is not None:
                await do_visitor_read(
                    session, visitor, ticket_id=ticket_id, seq=seq, now=realtime.clock()
                )

    async def typing(self, fields: Fields) -> None:
        active = fields.flag("active", True)
        ticket_id = await self._conversation(fields)
        if ticket_id is None:
            return  # nobody to tell before the first message
        await self.realtime.moments.typing(
            ticket_id,
            author={"type": "contact", "id": None, "name": None},
            active=active,
            origin=self.sock,
        )
