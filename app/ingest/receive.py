"""From a stored delivery to messages: the rules every channel shares.

A channel adapter turns its raw item into an `InboundMessage` (or says it is nothing to
import); `process_item` then applies, for every channel alike:
- the per-sender rate limit (`rate_limited`): a loop between two auto-responders, or a
  flood, is held back on its first try, and an admin's retry lets it through;
- automatic replies (RFC 3834 auto-replied, out of office) to no conversation open no
  ticket: they are kept aside (`ignored`, with their references) and imported after all
  when the message they answer arrives, which is how mail delivered out of order ends up
  on the right ticket;
- our own outbound message coming back (a loop) is `ignored`, a redelivery `duplicate`;
- the optional acknowledgement of a new ticket, never for automated messages.
The item always ends with a final status and, when something went wrong, a reason.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.storage import AttachmentStore
from app.contacts.identities import Identity
from app.contacts.models import ContactIdentity
from app.errors import ValidationFailed
from app.inbound.models import InboundItem
from app.inbound.service import finish
from app.ingest.service import REFERENCES_KEPT, Unthreaded, ingest
from app.ingest.types import InboundMessage
from app.messages.models import Message
from app.messages.service import do_add_system_reply
from app.tickets.models import Ticket

KEPT_ASIDE = (
    "an automatic reply (auto-replied, out of office) to no conversation of this inbox; "
    "kept aside until the message it answers arrives"
)


@dataclass(frozen=True)
class ReceivePolicy:
    """An inbox's rules, read from its settings by the channel adapter."""

    rate_limit_messages: int = 20
    rate_limit_minutes: int = 10
    # Answer each new ticket once with this text (None: no acknowledgement).
    acknowledge: str | None = None


@dataclass(frozen=True)
class Skip:
    """The adapter's verdict that an item is not to be imported, and why."""

    status: str  # ignored or failed
    reason: str


# The channel's part: parse the item (and act on what only it understands, such as a
# bounce) into the messages to ingest (a webhook payload may carry several), or say why
# there are none.
Prepare = Callable[[AsyncSession, InboundItem], Awaitable[Sequence[InboundMessage] | Skip]]
# When one payload holds several messages, the item reads as the most telling outcome.
OUTCOME_ORDER = ("imported", "duplicate", "rate_limited", "ignored", "failed")


async def _recent_and_waiting(
    session: AsyncSession,
    item: InboundItem,
    sender: Identity | None,
    external_id: str,
    *,
    since: datetime | None,
) -> tuple[int, list[int]]:
    """(the sender's inbound messages since `since`, for the rate limit; the items kept
    aside waiting for this message), in one statement."""
    recent: Any = literal(0)
    if sender is not None and since is not None:
        # By the sender's contact id, so the (author, time) index answers however large the
        # inbox grows (a join on the address let the planner scan all of its messages).
        contact_id = (
            select(ContactIdentity.contact_id)
            .where(ContactIdentity.kind == sender.kind, ContactIdentity.value == sender.value)
            .scalar_subquery()
        )
        recent = (
            select(func.count())
            .select_from(Message)
            .where(
                Message.author_contact_id == contact_id,
                Message.created_at >= since,
                Message.inbox_id == item.inbox_id,
                Message.direction == "inbound",
            )
            .scalar_subquery()
        )
    waiting = (
        select(func.array_agg(InboundItem.id))
        .where(
            InboundItem.inbox_id == item.inbox_id,
            InboundItem.status == "ignored",
            InboundItem.referenced_ids.contains([external_id]),  # the partial GIN index
        )
        .scalar_subquery()
    )
    count, ids = (await session.execute(select(recent, waiting))).one()
    return int(count or 0), sorted(ids or [])


def _sender(inbound: InboundMessage) -> Identity | None:
    try:
        first = inbound.sender[0]
        return Identity.of(first.kind, first.address)
    except (IndexError, ValidationFailed):
        return None  # ingest names the problem


async def receive(
    session: AsyncSession,
    item: InboundItem,
    inbound: InboundMessage,
    *,
    policy: ReceivePolicy,
    store: AttachmentStore,
    now: datetime,
) -> tuple[str, list[int]]:
    """Ingest one prepared message; returns (the item's final status, the kept-aside items
    waiting for this message, to import next if it was imported)."""
    first_try = item.status == "pending" and item.attempts == 0
    since = now - timedelta(minutes=policy.rate_limit_minutes) if first_try else None
    sender = _sender(inbound)
    recent, waiting = await _recent_and_waiting(
        session, item, sender, inbound.external_id, since=since
    )
    if recent >= policy.rate_limit_messages:
        who = sender.value if sender else "the sender"
        reason = (
            f"{who} sent more than {policy.rate_limit_messages} messages in "
            f"{policy.rate_limit_minutes} minutes; held back to stop a loop"
        )
        return finish(item, "rate_limited", reason, now), []
    try:
        result = await ingest(session, inbound, store=store, now=now)
    except Unthreaded:
        item.referenced_ids = list(inbound.thread.replies_to[:REFERENCES_KEPT])
        return finish(item, "ignored", KEPT_ASIDE, now), []
    if result.duplicate and result.message.direction == "outbound":
        return finish(item, "ignored", "one of our own replies came back (mail loop)", now), []
    item.message_id = result.message.id
    if result.duplicate:
        return finish(item, "duplicate", None, now), []
    if result.created_ticket and policy.acknowledge and not inbound.automated:
        ticket = await session.get(Ticket, result.ticket.id)
        assert ticket is not None
        await do_add_system_reply(session, ticket, body=policy.acknowledge, now=now)
    return finish(item, "imported", None, now), waiting


async def _kept_aside(session: AsyncSession, item_ids: list[int]) -> list[InboundItem]:
    """These items, locked, if still kept aside; one that another import is pulling in
    already is left to it."""
    stmt = (
        select(InboundItem)
        .where(InboundItem.id.in_(item_ids), InboundItem.status == "ignored")
        .order_by(InboundItem.id)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(stmt)).all())


async def process_item(
    session: AsyncSession,
    item: InboundItem,
    *,
    prepare: Prepare,
    policy: ReceivePolicy,
    store: AttachmentStore,
    now: datetime,
) -> str:
    """Process a `pending` item (the caller holds its lock); returns its final status.

    Items kept aside for want of this one's message are processed after it, onto its
    ticket (and so are those waiting for them in turn: each pass takes only items that
    were kept aside, so it ends).
    """
    status, waiting = await _process(
        session, item, prepare=prepare, policy=policy, store=store, now=now
    )
    while waiting:
        rows, waiting = await _kept_aside(session, waiting), []
        for kept in rows:
            pulled, more = await _process(
                session, kept, prepare=prepare, policy=policy, store=store, now=now
            )
            waiting += more if pulled == "imported" else []
    return status


async def _process(
    session: AsyncSession,
    item: InboundItem,
    *,
    prepare: Prepare,
    policy: ReceivePolicy,
    store: AttachmentStore,
    now: datetime,
) -> tuple[str, list[int]]:
    prepared = await prepare(session, item)
    if isinstance(prepared, Skip):
        return finish(item, prepared.status, prepared.reason, now), []
    if not prepared:
        return finish(item, "ignored", "the delivery carries no message", now), []
    outcomes: list[tuple[str, str | None]] = []
    waiting: list[int] = []
    first_message_id: int | None = None
    for inbound in prepared:
        status, more = await receive(session, item, inbound, policy=policy, store=store, now=now)
        outcomes.append((status, item.error))
        waiting += more
        first_message_id = first_message_id or item.message_id
        if len(prepared) > 1:
            item.status = "pending"  # the next message is judged afresh (rate limit)
    status, reason = min(outcomes, key=lambda o: OUTCOME_ORDER.index(o[0]))
    item.message_id = first_message_id
    return finish(item, status, reason, now), sorted(set(waiting))
