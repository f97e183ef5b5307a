"""Offers: a ticket offered to an agent over their socket, accepted, declined or left to
time out. A decline or a timeout is recorded on the ticket (`QueuedTicket.refused_by`),
so the next round skips that agent, and may set the agent's presence (e.g. away)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from routing.core.model import PresenceStatus, RoutingRules

OfferResult = Literal["pending", "accepted", "declined", "timed_out"]


@dataclass(frozen=True, slots=True)
class Offer:
    ticket_id: int
    agent_id: int
    channel: str
    offered_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class OfferReply:
    at: datetime
    accepted: bool
    reason: str | None = None  # a decline's reason, as the agent gave it


@dataclass(frozen=True, slots=True)
class OfferOutcome:
    offer: Offer
    result: OfferResult
    reason: str | None
    presence: PresenceStatus | None  # set the agent's presence on the channel to this
    requeue: bool  # the ticket goes back to the queue, skipping this agent

    def to_dict(self) -> dict[str, object]:
        return {
            "ticket_id": self.offer.ticket_id,
            "agent_id": self.offer.agent_id,
            "offered_at": self.offer.offered_at.isoformat(),
            "result": self.result,
            "reason": self.reason,
        }


def settle_offer(
    offer: Offer, reply: OfferReply | None, now: datetime, rules: RoutingRules
) -> OfferOutcome:
    """What an offer has come to by `now`. A reply after the offer expired is too late:
    the offer timed out, whatever it said."""
    if reply is not None and reply.at <= offer.expires_at:
        if reply.accepted:
            return OfferOutcome(offer, "accepted", None, None, requeue=False)
        return OfferOutcome(
            offer, "declined", reply.reason, rules.presence_after_decline, requeue=True
        )
    if now >= offer.expires_at:
        return OfferOutcome(
            offer, "timed_out", "no answer in time", rules.presence_after_timeout, requeue=True
        )
    return OfferOutcome(offer, "pending", None, None, requeue=False)
