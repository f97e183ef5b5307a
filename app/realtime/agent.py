"""An agent's socket: `/ws/agent?token=<bearer token>` (or the console's session cookie).

It receives what the agent may read through the REST API (app.tickets.repository): new
and changed tickets, messages and notes, typing and viewers of those tickets, and every
agent's presence. Sending goes through the same services as the REST API, so a reply is
checked, stored and delivered the same way whichever path it took.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.service import check_presence_choice, presence_view, touch_activity
from app.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from app.messages.models import Message
from app.messages.service import do_add_message
from app.realtime import presence
from app.realtime.frames import Fields, FrameError, dispatch, encode
from app.realtime.models import AgentClientMessage
from app.realtime.render import agent_frame
from app.realtime.resume import resume
from app.realtime.runtime import Realtime
from app.realtime.sockets import AgentSocket
from app.tickets.service import access_ticket

# Frames that show the agent at work (the idle timeout starts again), written at most
# this often: a typing agent must not turn into a write per keystroke.
ACTIVITY_FRAMES = frozenset({"message.send", "typing", "viewing", "offer.accept", "offer.decline"})
ACTIVITY_RESOLUTION = timedelta(minutes=1)


class AgentSession:
    def __init__(self, realtime: Realtime, sock: AgentSocket) -> None:
        self.realtime = realtime
        self.sock = sock
        self.viewing = sock.viewing
        self.activity_written: datetime | None = None

    async def start(self) -> None:
        realtime = self.realtime
        async with realtime.sessionmaker() as session, session.begin():
            status = await presence.connect(
                session,
                connection_id=self.sock.id,
                agent_id=self.sock.actor.agent_id,
                node=realtime.hub.node,
                now=realtime.clock(),
            )
            view = await presence_view(session, self.sock.actor.agent_id)
        realtime.hub.add_agent(self.sock)
        self.sock.send(
            encode(
                {
                    "type": "hello",
                    "heartbeat_seconds": realtime.heartbeat,
                    "agent": {"id": self.sock.actor.agent_id, "name": self.sock.name},
                    "presence": status,
                    "channels": {c: state.status for c, state in view.channels.items()},
                }
            )
        )
        await realtime.offers.send_open(self.sock, now=realtime.clock())

    async def stop(self) -> None:
        realtime = self.realtime
        realtime.hub.remove(self.sock)
        await realtime.moments.left(self.sock, self.viewing)
        async with realtime.sessionmaker() as session, session.begin():
            await presence.disconnect(
                session,
                connection_id=self.sock.id,
                agent_id=self.sock.actor.agent_id,
                now=realtime.clock(),
            )

    async def handle(self, frame: dict[str, Any]) -> None:
        handlers = {
            "message.send": self.send_message,
            "resume": self.resume,
            "typing": self.typing,
            "viewing": self.view,
            "presence.set": self.set_presence,
            "offer.accept": self.accept_offer,
            "offer.decline": self.decline_offer,
            "read": self.read,
        }
        if frame.get("type") in ACTIVITY_FRAMES:
            await self._active()
        await dispatch(frame, handlers, send=self.sock.send, audience="an agent")

    async def _active(self) -> None:
        now = self.realtime.clock()
        written = self.activity_written
        if written is not None and now - written < ACTIVITY_RESOLUTION:
            return
        self.activity_written = now
        async with self.realtime.sessionmaker() as session, session.begin():
            await touch_activity(session, agent_id=self.sock.actor.agent_id, now=now)

    async def _readable(self, ticket_id: int, client_id: str | None = None) -> str:
        """The ticket's channel, if the agent may read the ticket."""
        async with self.realtime.sessionmaker() as session:
            try:
                return (await access_ticket(session, self.sock.actor, ticket_id)).channel
            except NotFound:
                raise FrameError(
                    "ticket_not_found", f"ticket {ticket_id} does not exist", client_id=client_id
                ) from None

    async def send_message(self, fields: Fields) -> None:
        client_id = fields.client_id_required()
        ticket_id = fields.integer("ticket_id", low=1)
        assert ticket_id is not None
        body = fields.text("body")
        internal = fields.flag("internal", False)
        attachment_ids = fields.ids("attachment_ids")
        if not body.strip():
            raise FrameError("validation_failed", "body: must not be empty", client_id=client_id)
        actor = self.sock.actor
        if "write" not in actor.scopes:
            raise FrameError("not_allowed", "this token is read-only", client_id=client_id)
        realtime = self.realtime
        try:
            async with realtime.sessionmaker() as session, session.begin():
                message = await self._sent_before(session, client_id)
                if message is None:
                    message = await do_add_message(
                        session,
                        actor,
                        ticket_id,
                        body=body,
                        internal=internal,
                        attachment_ids=attachment_ids,
                        now=realtime.clock(),
                    )
                    session.add(
                        AgentClientMessage(
                            agent_id=actor.agent_id, client_id=client_id, message_id=message.id
                        )
                    )
                    await session.flush()
                ack = {
                    "type": "message.ack",
                    "client_id": client_id,
                    "ticket_id": message.ticket_id,
                    "message_id": message.id,
                    "seq": message.seq,
                }
        except IntegrityError:
            # The same client id raced itself on two sockets: the other one stored it.
            async with realtime.sessionmaker() as session:
                message = await self._sent_before(session, client_id)
            if message is None:
                raise
            ack = {
                "type": "message.ack",
                "client_id": client_id,
                "ticket_id": message.ticket_id,
                "message_id": message.id,
                "seq": message.seq,
            }
        except NotFound as exc:
            raise FrameError("ticket_not_found", exc.detail, client_id=client_id) from None
        except PermissionDenied as exc:
            raise FrameError("not_allowed", exc.detail, client_id=client_id) from None
        except (ValidationFailed, DomainError) as exc:
            raise FrameError("validation_failed", exc.detail, client_id=client_id) from None
        self.sock.send(encode(ack))

    async def _sent_before(self, session: AsyncSession, client_id: str) -> Message | None:
        return await session.scalar(
            select(Message)
            .join(AgentClientMessage, AgentClientMessage.message_id == Message.id)
            .where(
                AgentClientMessage.agent_id == self.sock.actor.agent_id,
                AgentClientMessage.client_id == client_id,
            )
        )

    async def resume(self, fields: Fields) -> None:
        ticket_id = fields.integer("ticket_id", low=1)
        since = fields.integer("since", low=0) or 0
        assert ticket_id is not None
        await self._readable(ticket_id)
        await resume(self.realtime, self.sock, ticket_id=ticket_id, since=since, render=agent_frame)

    async def typing(self, fields: Fields) -> None:
        ticket_id = fields.integer("ticket_id", low=1)
        active = fields.flag("active", True)
        internal = fields.flag("internal", False)
        assert ticket_id is not None
        if ticket_id not in self.viewing:
            await self._readable(ticket_id)
        author = {"type": "agent", "id": self.sock.actor.agent_id, "name": self.sock.name}
        await self.realtime.moments.typing(
            ticket_id, author=author, active=active, internal=internal, origin=self.sock
        )

    async def view(self, fields: Fields) -> None:
        ticket_id = fields.integer("ticket_id", low=1)
        active = fields.flag("active", True)
        assert ticket_id is not None
        if active:
            if await self._readable(ticket_id) == "chat":
                # The agent sees the conversation: the visitor's messages in it are read.
                self.realtime.receipts.read(ticket_id, agent_id=self.sock.actor.agent_id)
            self.viewing.add(ticket_id)
        else:
            self.viewing.discard(ticket_id)
        await self.realtime.moments.viewing(
            ticket_id, agent_id=self.sock.actor.agent_id, name=self.sock.name, active=active
        )

    async def read(self, fields: Fields) -> None:
        """The agent has seen the visitor's messages up to `seq` (a client that shows a
        conversation without saying `viewing`)."""
        ticket_id = fields.integer("ticket_id", low=1)
        seq = fields.integer("seq", low=1)
        assert ticket_id is not None
        assert seq is not None
        if await self._readable(ticket_id) == "chat":
            self.realtime.receipts.read(ticket_id, agent_id=self.sock.actor.agent_id, seq=seq)

    async def set_presence(self, fields: Fields) -> None:
        """`status` (every channel) and/or `channels` (channel -> status), as the REST call."""
        try:
            status, channels = check_presence_choice(
                fields.frame.get("status"), fields.frame.get("channels")
            )
        except ValidationFailed as exc:
            raise FrameError("bad_frame", exc.detail, client_id=fields.client_id) from None
        realtime = self.realtime
        async with realtime.sessionmaker() as session, session.begin():
            self.sock.status = await presence.set_status(
                session,
                connection_id=self.sock.id,
                agent_id=self.sock.actor.agent_id,
                status=status,
                channels=channels,
                now=realtime.clock(),
            )

    async def accept_offer(self, fields: Fields) -> None:
        await self._answer(fields, accept=True)

    async def decline_offer(self, fields: Fields) -> None:
        await self._answer(fields, accept=False)

    async def _answer(self, fields: Fields, *, accept: bool) -> None:
        """The answer is told back as the offer's `offer.ended` frame (every socket of the
        agent hears it); a wrong offer id or a second answer is an error frame."""
        offer_id = fields.integer("offer_id", low=1)
        assert offer_id is not None
        reason = None if accept else (fields.text("reason", limit=500, required=False) or None)
        answer_offer = self.realtime.answer_offer
        if answer_offer is None:
            raise FrameError("not_allowed", "offers are not answered on this server")
        try:
            async with self.realtime.sessionmaker() as session, session.begin():
                await answer_offer(
                    session,
                    agent_id=self.sock.actor.agent_id,
                    offer_id=offer_id,
                    accept=accept,
                    reason=reason,
                    now=self.realtime.clock(),
                )
        except NotFound as exc:
            raise FrameError("offer_not_found", exc.detail) from None
        except Conflict as exc:
            raise FrameError("offer_answered", exc.detail) from None
