"""Routing's events and the ports the app reaches the routing package through.

An offer is an outbox event (`ROUTING_OFFER`) the hub turns into an `offer` frame on the
agent's sockets; its end (`ROUTING_OFFER_ENDED`: accepted, declined, timed out or
withdrawn) into an `offer.ended` frame. The agent's answer over the socket is settled by
`routing.answers.answer_offer`, handed to the hub at the composition root (app.main)."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncSession

from app.routing.schemas import RoutingQueueOut

ROUTING_OFFER = "routing.offer"
ROUTING_OFFER_ENDED = "routing.offer.ended"


@dataclass(frozen=True)
class Answer:
    offer_id: int
    ticket_id: int
    result: str  # accepted, declined, timed_out, withdrawn
    reason: str | None


class AnswerOffer(Protocol):
    def __call__(
        self,
        session: AsyncSession,
        *,
        agent_id: int,
        offer_id: int,
        accept: bool,
        reason: str | None = None,
        now: datetime,
    ) -> Awaitable[Answer]: ...


@runtime_checkable
class QueueSnapshot(Protocol):
    """The queue as supervisors watch it (routing.queue_view, installed by app.main)."""

    def __call__(self, session: AsyncSession, *, now: datetime) -> Awaitable[RoutingQueueOut]: ...
