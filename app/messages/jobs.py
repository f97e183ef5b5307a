"""arq jobs for messages. Jobs take ids, load their rows, and are safe to retry."""

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


def retry_delay(job_try: int) -> int:
    """Seconds before the next try: 10 s, 20 s, 40 s, ... capped at 30 minutes."""
    return int(min(10 * 2 ** (job_try - 1), 1800))


async def send_outbound(ctx: dict[str, Any], *, message_id: int) -> str:
    """Hand a queued reply to its channel adapter and record what came back.

    A message that is no longer `queued` (already sent, failed, or re-enqueued by a relay
    retry) is left alone, so running this twice never sends twice through this path.
    """
    sessionmaker, clock = ctx["sessionmaker"], ctx["clock"]
    async with transaction(sessionmaker) as session:
        message = await session.get(Message, message_id)
        if message is None or message.status != "queued":
            return "skipped"
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
        async with transaction(sessionmaker) as session:
            await do_record_delivery(
                session, message_id=message_id, status="failed", failure_reason=reason, now=clock()
            )
        return "failed"

    result = await sender.send(outbound, inbox_settings=settings, secrets=secrets)
    job_try = int(ctx.get("job_try", 1))
    if result.retry and job_try < MAX_SEND_TRIES:
        log.warning(
            "message %s: temporary failure (%s), retrying", message_id, result.failure_reason
        )
        raise Retry(defer=retry_delay(job_try))
    status = "failed" if result.retry else result.status
    async with transaction(sessionmaker) as session:
        await do_record_delivery(
            session,
            message_id=message_id,
            status=status,
            external_id=result.external_id,
            failure_reason=result.failure_reason,
            now=clock(),
        )
    return status
