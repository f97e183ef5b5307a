"""arq jobs for messages. Jobs take ids, load their rows, and are safe to retry.

Sending follows a write-ahead rule: the attempt, with the id the provider will know the
message by (the email Message-ID), is committed before anything leaves, and its outcome
after. A try that finds the last attempt without an outcome knows that a previous worker
stopped mid-send (killed, or its lease lapsed, see app.leases) and cannot tell whether the
provider took the message. It sends again with the same external id: a receiving system
drops a second copy of a Message-ID it already holds, and a duplicate is far cheaper than
a reply that never arrives. The new attempt is marked `resend`, the earlier ones stay in
`channel_data["attempts"]`, and both show in the message's `delivery_attempts`.

A reply that stops its worker every time must not loop: after MAX_UNKNOWN_OUTCOMES
attempts in a row without an outcome it is marked failed (UNKNOWN_OUTCOME), and an agent
decides (POST /api/v1/tickets/{id}/messages/{message_id}/retry, same Message-ID again).

Many replies go out in one job (`send_outbound_batch`: the relay gathers the replies queued
in one pass, such as a mail import's acknowledgements): one transaction records every
attempt, the sends run concurrently (the adapter bounds them per server, see SmtpPool),
and one transaction records every outcome with `record_deliveries`. Each reply keeps the
rules above on its own; a batch with a temporary failure is retried as a whole, and the
retry sends only what is still `queued`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from arq import Retry
from sqlalchemy import select

from app.db.engine import transaction
from app.ingest.types import ChannelSender, DeliveryResult, OutboundMessage
from app.messages.models import Message
from app.messages.outbound import Undeliverable, build_outbounds
from app.messages.service import do_record_deliveries
from app.tickets.lifecycle import Delivery

log = logging.getLogger(__name__)
MAX_SEND_TRIES = 8
MAX_UNKNOWN_OUTCOMES = 3
# arq counts every start of a job, a takeover from a dead worker included, and refuses a job
# past its max_tries without running it, which would leave the reply `queued` for good. Its
# limit sits above both of ours (a try after MAX_SEND_TRIES only follows a stopped one), so
# the job itself always decides.
MAX_JOB_TRIES = MAX_SEND_TRIES + MAX_UNKNOWN_OUTCOMES
ATTEMPT_HISTORY = 20  # earlier attempts kept in channel_data["attempts"]
UNKNOWN_OUTCOME = (
    f"delivery outcome unknown: the worker stopped while sending, {MAX_UNKNOWN_OUTCOMES} "
    "times in a row, so the reply is not sent again automatically; the customer may have "
    "received it. Retry it to send it once more with the same Message-ID"
)


def retry_delay(job_try: int) -> int:
    """Seconds before the next try: 10 s, 20 s, 40 s, ... capped at 30 minutes."""
    return int(min(10 * 2 ** (job_try - 1), 1800))


def with_attempt(
    channel_data: dict[str, Any], attempt: dict[str, Any], *, previous: dict[str, Any]
) -> dict[str, Any]:
    """`attempt` becomes the current one; `previous` (if any) moves into the history, an
    attempt that never reported back as `unknown`."""
    history = list(channel_data.get("attempts") or [])
    if previous:
        history.append({**previous, "outcome": previous.get("outcome") or "unknown"})
    return {**channel_data, "attempt": attempt, "attempts": history[-ATTEMPT_HISTORY:]}


@dataclass(frozen=True)
class _Send:
    """A reply whose attempt is committed, ready for its adapter."""

    message_id: int
    attempt: dict[str, Any]
    outbound: OutboundMessage
    settings: dict[str, Any]
    secrets: dict[str, Any]
    sender: ChannelSender


async def _locked(session: Any, message_ids: Sequence[int]) -> dict[int, Message]:
    rows = await session.scalars(
        select(Message)
        .where(Message.id.in_(message_ids))
        .order_by(Message.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {m.id: m for m in rows}


async def _start_attempts(
    ctx: dict[str, Any], message_ids: Sequence[int], *, job_try: int, outcomes: dict[int, str]
) -> list[_Send]:
    """Commit an attempt (with the external id every try carries) for each reply still
    queued; fail for good those that cannot be sent or never reported back too often."""
    clock = ctx["clock"]
    senders: dict[str, ChannelSender] = ctx.get("senders", {})
    failures: list[Delivery] = []
    ready: list[tuple[Message, dict[str, Any], bool, int]] = []
    sends: list[_Send] = []
    async with transaction(ctx["sessionmaker"]) as session:
        messages = await _locked(session, message_ids)
        for message_id in message_ids:
            message = messages.get(message_id)
            if message is None or message.status != "queued":
                outcomes[message_id] = "skipped"
                continue
            last = dict(message.channel_data.get("attempt") or {})
            unknown = bool(last) and last.get("outcome") is None
            unknown_in_row = int(last.get("unknown_in_row", 0)) + 1 if unknown else 0
            if unknown_in_row >= MAX_UNKNOWN_OUTCOMES:
                log.error("message %s: %d attempts never reported back", message_id, unknown_in_row)
                message.channel_data = {
                    **message.channel_data,
                    "attempt": {**last, "outcome": "unknown"},
                }
                failures.append(Delivery(message_id, "failed", failure_reason=UNKNOWN_OUTCOME))
                outcomes[message_id] = "failed"
                continue
            if unknown:
                log.warning(
                    "message %s: attempt %s never reported back, sending it again",
                    message_id,
                    last.get("n"),
                )
            ready.append((message, last, unknown, unknown_in_row))
        built = await build_outbounds(
            session,
            [message for message, *_ in ready],
            store=ctx["attachment_store"],
            box=ctx["secret_box"],
        )
        for message, last, unknown, unknown_in_row in ready:
            made = built[message.id]
            if isinstance(made, Undeliverable):
                failures.append(Delivery(message.id, "failed", failure_reason=str(made)))
                outcomes[message.id] = "failed"
                continue
            outbound, settings, secrets = made
            sender = senders.get(outbound.channel)
            if sender is None:
                reason = f"no adapter can send on the {outbound.channel} channel"
                failures.append(Delivery(message.id, "failed", failure_reason=reason))
                outcomes[message.id] = "failed"
                continue
            external_id = last.get("external_id") or sender.new_external_id(
                outbound, inbox_settings=settings
            )
            attempt = {
                "n": int(last.get("n", 0)) + 1,
                "external_id": external_id,
                "started_at": clock().isoformat(),
                "try": job_try,
                "outcome": None,
                "resend": unknown,  # the previous attempt's outcome is unknown
                "unknown_in_row": unknown_in_row,
            }
            message.channel_data = with_attempt(message.channel_data, attempt, previous=last)
            sends.append(_Send(message.id, attempt, outbound, settings, secrets, sender))
        await do_record_deliveries(session, failures, now=clock())
    return sends


async def _finish_attempts(
    ctx: dict[str, Any],
    sends: Sequence[_Send],
    results: Sequence[DeliveryResult],
    *,
    job_try: int,
    outcomes: dict[int, str],
) -> list[int]:
    """Record each attempt's outcome and what it means for its reply; returns the replies
    that failed for now and are tried again."""
    clock = ctx["clock"]
    deliveries: list[Delivery] = []
    again: list[int] = []
    async with transaction(ctx["sessionmaker"]) as session:
        messages = await _locked(session, [s.message_id for s in sends])
        for send, result in zip(sends, results, strict=True):
            message = messages[send.message_id]
            attempt = send.attempt
            temporary = result.retry and job_try < MAX_SEND_TRIES
            outcome = "temporary_failure" if temporary else result.status
            finished = {**attempt, "outcome": outcome, "reason": result.failure_reason}
            if (message.channel_data.get("attempt") or {}).get("n") == attempt["n"]:
                message.channel_data = {**message.channel_data, "attempt": finished}
                ours = message.status == "queued"
            else:  # another worker took the job over and moved this attempt into the history
                history = message.channel_data.get("attempts") or []
                history = [finished if h.get("n") == attempt["n"] else h for h in history]
                message.channel_data = {**message.channel_data, "attempts": history}
                ours = False
            if not ours:
                # Another attempt decides (this worker's lease lapsed mid-send) or the
                # message was concluded meanwhile: this one can only add that it did leave.
                if result.status == "sent":
                    deliveries.append(Delivery(message.id, "sent", result.external_id))
                outcomes[message.id] = "taken over"
            elif temporary:
                log.warning(
                    "message %s: temporary failure (%s), retrying",
                    message.id,
                    result.failure_reason,
                )
                again.append(message.id)
                outcomes[message.id] = "retrying"
            else:
                status = "failed" if result.retry else result.status
                deliveries.append(
                    Delivery(message.id, status, result.external_id, result.failure_reason)
                )
                outcomes[message.id] = status
        await do_record_deliveries(session, deliveries, now=clock())
    return again


async def send_replies(ctx: dict[str, Any], message_ids: Sequence[int]) -> dict[int, str]:
    """Hand the queued replies to their channel adapters, concurrently, and record what
    came back; the outcome of each by id (`sent`, `failed`, `skipped`: no longer queued,
    `taken over`, `retrying`). Raises `Retry` when some failed for now."""
    job_try = int(ctx.get("job_try", 1))
    ids = list(dict.fromkeys(message_ids))
    outcomes: dict[int, str] = {}
    sends = await _start_attempts(ctx, ids, job_try=job_try, outcomes=outcomes)
    # Committed: from here on a crash leaves attempts without outcome, and the next try
    # sends those again with the same external id.
    answers = await asyncio.gather(
        *(
            s.sender.send(
                s.outbound,
                inbox_settings=s.settings,
                secrets=s.secrets,
                external_id=s.attempt["external_id"],
            )
            for s in sends
        ),
        return_exceptions=True,
    )
    for answer in answers:
        if isinstance(answer, asyncio.CancelledError):
            raise answer  # the worker is stopping: as if it stopped mid-send
    done = [(s, a) for s, a in zip(sends, answers, strict=True) if isinstance(a, DeliveryResult)]
    again = await _finish_attempts(
        ctx, [s for s, _ in done], [a for _, a in done], job_try=job_try, outcomes=outcomes
    )
    for answer in answers:
        if isinstance(answer, BaseException):
            # An adapter's bug: the others' outcomes are recorded; this attempt stays
            # without outcome and the retry sends it again with the same external id.
            raise answer
    if again:
        raise Retry(defer=retry_delay(job_try))
    return {i: outcomes[i] for i in ids}


async def send_outbound(ctx: dict[str, Any], *, message_id: int) -> str:
    """Hand a queued reply to its channel adapter and record what came back.

    A message that is no longer `queued` (already sent, failed, or re-enqueued by a relay
    retry) is left alone.
    """
    return (await send_replies(ctx, [message_id]))[message_id]


async def send_outbound_batch(ctx: dict[str, Any], *, message_ids: list[int]) -> dict[str, int]:
    """`send_outbound` for many replies in one job; how many ended each way."""
    return dict(Counter((await send_replies(ctx, message_ids)).values()))
