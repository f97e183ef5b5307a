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
"""

from __future__ import annotations

import logging
from typing import Any

from arq import Retry

from app.db.engine import transaction
from app.messages.models import Message
from app.messages.outbound import Undeliverable, build_outbound
from app.messages.service import do_record_delivery

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


async def send_outbound(ctx: dict[str, Any], *, message_id: int) -> str:
    """Hand a queued reply to its channel adapter and record what came back.

    A message that is no longer `queued` (already sent, failed, or re-enqueued by a relay
    retry) is left alone.
    """
    sessionmaker, clock = ctx["sessionmaker"], ctx["clock"]
    job_try = int(ctx.get("job_try", 1))
    async with transaction(sessionmaker) as session:
        message = await session.get(Message, message_id, with_for_update=True)
        if message is None or message.status != "queued":
            return "skipped"
        last = dict(message.channel_data.get("attempt") or {})
        unknown = bool(last) and last.get("outcome") is None
        unknown_in_row = int(last.get("unknown_in_row", 0)) + 1 if unknown else 0
        if unknown_in_row >= MAX_UNKNOWN_OUTCOMES:
            log.error("message %s: %d attempts never reported back", message_id, unknown_in_row)
            message.channel_data = {
                **message.channel_data,
                "attempt": {**last, "outcome": "unknown"},
            }
            await do_record_delivery(
                session,
                message_id=message_id,
                status="failed",
                failure_reason=UNKNOWN_OUTCOME,
                now=clock(),
            )
            return "failed"
        if unknown:
            log.warning(
                "message %s: attempt %s never reported back, sending it again",
                message_id,
                last.get("n"),
            )
        try:
            outbound, settings, secrets = await build_outbound(
                session, message, store=ctx["attachment_store"], box=ctx["secret_box"]
            )
        except Undeliverable as exc:
            await do_record_delivery(
                session,
                message_id=message_id,
                status="failed",
                failure_reason=str(exc),
                now=clock(),
            )
            return "failed"
        sender = ctx.get("senders", {}).get(outbound.channel)
        if sender is None:
            reason = f"no adapter can send on the {outbound.channel} channel"
            await do_record_delivery(
                session, message_id=message_id, status="failed", failure_reason=reason, now=clock()
            )
            return "failed"
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
    # Committed: from here on a crash leaves an attempt without outcome, and the next try
    # sends again with the same external id.

    result = await sender.send(
        outbound, inbox_settings=settings, secrets=secrets, external_id=external_id
    )
    temporary = result.retry and job_try < MAX_SEND_TRIES
    async with transaction(sessionmaker) as session:
        message = await session.get(Message, message_id, with_for_update=True)
        assert message is not None
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
            # Another attempt decides (this worker's lease lapsed mid-send) or the message
            # was concluded meanwhile: this one can only add that the message did leave.
            if result.status == "sent":
                await do_record_delivery(
                    session,
                    message_id=message_id,
                    status="sent",
                    external_id=result.external_id,
                    now=clock(),
                )
            return "taken over"
        if not temporary:
            await do_record_delivery(
                session,
                message_id=message_id,
                status="failed" if result.retry else result.status,
                external_id=result.external_id,
                failure_reason=result.failure_reason,
                now=clock(),
            )
    if temporary:
        log.warning(
            "message %s: temporary failure (%s), retrying", message_id, result.failure_reason
        )
        raise Retry(defer=retry_delay(job_try))
    return "failed" if result.retry else result.status
