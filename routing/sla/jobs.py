"""The job a calendar or policy change triggers (`sla.rules_changed`, app.sla.jobs)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.sla.models import SlaPolicy
from routing.sla.recompute import recompute_open_tickets


async def recompute_sla(
    ctx: dict[str, Any], *, policy_id: int | None = None, calendar_id: int | None = None
) -> int:
    """A calendar change touches only the tickets under its customer policies; a policy
    change may move any open ticket to or from that policy, and a group policy's targets
    are not named by `tickets.sla_policy_id`, so those recompute all open tickets."""
    policy_ids = None
    if calendar_id is not None:
        async with ctx["sessionmaker"]() as session:
            using = (
                await session.execute(
                    select(SlaPolicy.id, SlaPolicy.team_id).where(
                        SlaPolicy.calendar_id == calendar_id
                    )
                )
            ).all()
        if all(team_id is None for _, team_id in using):
            policy_ids = [policy_id for policy_id, _ in using]
    return await recompute_open_tickets(
        ctx["sessionmaker"], now=ctx["clock"](), policy_ids=policy_ids
    )
