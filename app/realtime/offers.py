"""Offers on the agent's socket (docs/realtime-protocol.md, "Offers"): the routing driver's
`routing.offer` event becomes an `offer` frame on the sockets of the agent it is for, its
end an `offer.ended` frame; an agent who connects is sent their offers still open.

Each event usually arrives twice (after the commit on this node, and from Redis): the
frames are sent once per offer and kind."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.db.engine import SessionMaker
from app.realtime.frames import encode
from app.realtime.hub import Hub
from app.realtime.render import Event
from app.realtime.sockets import AgentSocket
from app.routing.events import ROUTING_OFFER, ROUTING_OFFER_ENDED
from app.routing.models import RoutingOffer
from app.tickets.models import Ticket

REMEMBERED = 10_000


def offer_frame(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "offer",
        "offer_id": payload.get("offer_id"),
        "ticket_id": payload.get("ticket_id"),
        "subject": payload.get("subject"),
        "channel": payload.get("channel"),
        "priority": payload.get("priority"),
        "expires_at": payload.get("expires_at"),
        "reason": payload.get("reason"),
    }


class OfferFrames:
    def __init__(self, hub: Hub, sessionmaker: SessionMaker) -> None:
        self.hub = hub
        self.sessionmaker = sessionmaker
        self.sent: OrderedDict[tuple[int, str], None] = OrderedDict()
        hub.ephemeral_handlers.append(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.topic not in (ROUTING_OFFER, ROUTING_OFFER_ENDED):
            return
        data = event.payload
        offer_id, agent_id = data.get("offer_id"), data.get("agent_id")
        if not isinstance(offer_id, int) or not isinstance(agent_id, int):
            return
        key = (offer_id, event.topic)
        if key in self.sent:
            return
        self.sent[key] = None
        if len(self.sent) > REMEMBERED:
            self.sent.popitem(last=False)
        if event.topic == ROUTING_OFFER:
            frame = offer_frame(data)
        else:
            frame = {
                "type": "offer.ended",
                "offer_id": offer_id,
                "ticket_id": data.get("ticket_id"),
                "result": data.get("result"),
                "reason": data.get("reason"),
            }
        text = encode(frame)
        for sock in self.hub.agents:
            if sock.actor.agent_id == agent_id:
                sock.send(text)

    async def send_open(self, sock: AgentSocket, *, now: datetime) -> None:
        """The agent's offers still open, to a socket that has just connected."""
        async with self.sessionmaker() as session:
            rows = await session.execute(
                select(RoutingOffer, Ticket.subject, Ticket.priority)
                .join(Ticket, Ticket.id == RoutingOffer.ticket_id)
                .where(
                    RoutingOffer.agent_id == sock.actor.agent_id,
                    RoutingOffer.status == "pending",
                    RoutingOffer.expires_at > now,
                )
                .order_by(RoutingOffer.id)
            )
            for offer, subject, priority in rows:
                payload = {
                    "offer_id": offer.id,
                    "ticket_id": offer.ticket_id,
                    "subject": subject,
                    "channel": offer.channel,
                    "priority": priority,
                    "expires_at": offer.expires_at.isoformat(),
                    "reason": None,
                }
                sock.send(encode(offer_frame(payload)))
