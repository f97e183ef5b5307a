"""arq jobs for messages. Jobs take ids, load their rows, and are safe to retry.

Sending follows a write-ahead rule: the attempt (with the id the provider will know the
message by) is committed before anything leaves, and its outcome after. A try that finds
an attempt with no outcome knows a previous worker died mid-send; it cannot tell whether
the provider took the message, so it marks the reply failed with that reason instead of
risking a duplicate, and an agent decides (POST .../messages/{id}/retry).
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
UNCERTAIN = (
    "delivery outcome unknown: the worker stopped while sending, so the reply was not sent "
    "again automatically; retry it if the customer did not receive it"
)


def retry_delay(job_try: int) -> int:
    """Seconds before the next try: 10 s, 20 s, 40 s, ... capped at 30 minutes."""
    return int(min(10 * 2 ** (job_try - 1), 1800))


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
        attempt = dict(message.channel_data.get("attempt") or {})
        if attempt and attempt.get("outcome") is None:
            log.warning("message %s: a previous send attempt never finished", message_id)
            await do_record_delivery(
                session,
                message_id=message_id,
                status="failed",
                failure_reason=UNCERTAIN,
                now=clock(),
            )
            return "failed"
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
        external_id = attempt.get("external_id") or sender.new_external_id(
            outbound, inbox_settings=settings
        )
        attempt = {
            "external_id": external_id,
            "started_at": clock().isoformat(),
            "try": job_try,
            "outcome": None,
        }
        message.channel_data = {**message.channel_data, "attempt": attempt}
    # Committed: from here on a crash leaves an attempt without outcome, never a silent resend.

    result = await sender.send(
        outbound, inbox_settings=settings, secrets=secrets, external_id=external_id
    )
    temporary = result.retry and job_try < MAX_SEND_TRIES
    async with transaction(sessionmaker) as session:
        message = await session.get(Message, message_id, with_for_update=True)
        assert message is not None
        outcome = "temporary_failure" if temporary else result.status
        message.channel_data = {
            **message.channel_data,
            "attempt": {**attempt, "outcome": outcome, "reason": result.failure_reason},
        }
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
