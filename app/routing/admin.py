"""What admins manage about routing: queues (per team or inbox: strategy, order, overflow,
offer or direct assignment), the helpdesk-wide settings, and the skill rules. Supervisors
may read them. A wrong field is a ValidationFailed naming it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Skill
from app.agents.service import check_teams
from app.agents.service.common import audit
from app.auth.actor import Actor, require_admin, require_supervisor
from app.errors import Conflict, NotFound, ValidationFailed
from app.inboxes.models import Inbox
from app.routing.models import RoutingQueue, RoutingSettings, SkillRule
from app.routing.schemas import (
    QueueCreate,
    QueueOut,
    QueueUpdate,
    RoutingSettingsOut,
    RoutingSettingsUpdate,
    RuleConditions,
    SkillNeedIn,
    SkillRuleCreate,
    SkillRuleOut,
    SkillRuleUpdate,
)

# API field -> column, where they differ.
QUEUE_COLUMNS = {"order": "queue_order"}


def _given(changes: msgspec.Struct) -> dict[str, Any]:
    return {
        f: v for f in changes.__struct_fields__ if (v := getattr(changes, f)) is not msgspec.UNSET
    }


def queue_out(row: RoutingQueue) -> QueueOut:
    return QueueOut(
        id=row.id,
        team_id=row.team_id,
        inbox_id=row.inbox_id,
        position=row.position,
        strategy=row.strategy,
        order=row.queue_order,
        sticky=row.sticky,
        drop_optional_after_seconds=row.drop_optional_after_seconds,
        overflow_after_seconds=row.overflow_after_seconds,
        overflow_team_ids=list(row.overflow_team_ids),
        offer_timeout_seconds=row.offer_timeout_seconds,
    )


async def list_queues(session: AsyncSession, actor: Actor) -> list[RoutingQueue]:
    require_supervisor(actor)
    return list(
        (
            await session.scalars(
                select(RoutingQueue).order_by(RoutingQueue.position, RoutingQueue.id)
            )
        ).all()
    )


async def get_queue(session: AsyncSession, queue_id: int) -> RoutingQueue:
    row = await session.get(RoutingQueue, queue_id)
    if row is None:
        raise NotFound(f"queue {queue_id} does not exist")
    return row


async def _check_inbox(session: AsyncSession, inbox_id: int) -> None:
    if await session.get(Inbox, inbox_id) is None:
        raise ValidationFailed.field("inbox_id", f"no inbox with id {inbox_id}")


async def do_create_queue(session: AsyncSession, actor: Actor, data: QueueCreate) -> RoutingQueue:
    require_admin(actor)
    if data.team_id is not None and data.inbox_id is not None:
        raise ValidationFailed.field("inbox_id", "a queue is a team's or an inbox's, not both")
    if data.team_id is not None:
        await check_teams(session, [data.team_id], field="team_id")
    if data.inbox_id is not None:
        await _check_inbox(session, data.inbox_id)
    await check_teams(session, data.overflow_team_ids, field="overflow_team_ids")
    taken = select(RoutingQueue.id).where(
        RoutingQueue.team_id.is_(None)
        if data.team_id is None
        else RoutingQueue.team_id == data.team_id,
        RoutingQueue.inbox_id.is_(None)
        if data.inbox_id is None
        else RoutingQueue.inbox_id == data.inbox_id,
    )
    if await session.scalar(taken) is not None:
        raise Conflict("that team or inbox has a queue already", code="queue_exists")
    values = {QUEUE_COLUMNS.get(k, k): v for k, v in msgspec.structs.asdict(data).items()}
    row = RoutingQueue(**values)
    session.add(row)
    await session.flush()
    audit(session, actor.agent_id, "routing_queue.create", row.id, after=values)
    return row


async def do_update_queue(
    session: AsyncSession, actor: Actor, queue_id: int, changes: QueueUpdate
) -> RoutingQueue:
    require_admin(actor)
    row = await get_queue(session, queue_id)
    given = _given(changes)
    if "overflow_team_ids" in given:
        await check_teams(session, given["overflow_team_ids"], field="overflow_team_ids")
    before = msgspec.structs.asdict(queue_out(row))
    for key, value in given.items():
        setattr(row, QUEUE_COLUMNS.get(key, key), value)
    await session.flush()
    audit(session, actor.agent_id, "routing_queue.update", row.id, before=before,
          after=msgspec.structs.asdict(queue_out(row)))  # fmt: skip
    return row


async def do_delete_queue(session: AsyncSession, actor: Actor, queue_id: int) -> None:
    """Its tickets route with the defaults from then on."""
    require_admin(actor)
    row = await get_queue(session, queue_id)
    await session.delete(row)
    await session.flush()
    audit(session, actor.agent_id, "routing_queue.delete", queue_id,
          before=msgspec.structs.asdict(queue_out(row)))  # fmt: skip


# --- settings ------------------------------------------------------------------------------


def settings_out(row: RoutingSettings) -> RoutingSettingsOut:
    return RoutingSettingsOut(
        counted_statuses=list(row.counted_statuses),
        count_idle_chats=row.count_idle_chats,
        idle_timeout_seconds=row.idle_timeout_seconds,
        offline_grace_seconds=row.offline_grace_seconds,
        presence_after_decline=row.presence_after_decline,
        presence_after_timeout=row.presence_after_timeout,
        team_limits={str(k): int(v) for k, v in row.team_limits.items()},
        inbox_limits={str(k): int(v) for k, v in row.inbox_limits.items()},
    )


async def routing_settings(session: AsyncSession, actor: Actor) -> RoutingSettings:
    """The one row, made with the defaults the first time it is asked for."""
    require_supervisor(actor)
    row = await session.get(RoutingSettings, 1)
    if row is None:
        row = RoutingSettings(id=1)
        session.add(row)
        await session.flush()
        await session.refresh(row)
    return row


async def do_update_settings(
    session: AsyncSession, actor: Actor, changes: RoutingSettingsUpdate
) -> RoutingSettings:
    require_admin(actor)
    row = await routing_settings(session, actor)
    given = _given(changes)
    if "counted_statuses" in given and not given["counted_statuses"]:
        raise ValidationFailed.field("counted_statuses", "at least one status must count")
    if "team_limits" in given:
        await check_teams(session, [int(k) for k in given["team_limits"]], field="team_limits")
    before = msgspec.structs.asdict(settings_out(row))
    for key, value in given.items():
        setattr(row, key, sorted(set(value)) if key == "counted_statuses" else value)
    await session.flush()
    audit(session, actor.agent_id, "routing_settings.update", 1, before=before,
          after=msgspec.structs.asdict(settings_out(row)))  # fmt: skip
    return row


# --- skill rules ---------------------------------------------------------------------------


def rule_out(row: SkillRule) -> SkillRuleOut:
    return SkillRuleOut(
        id=row.id,
        position=row.position,
        skills=list(row.skills),
        optional=row.optional,
        conditions={k: list(v) for k, v in row.conditions.items()},
        keywords=list(row.keywords),
    )


async def list_rules(session: AsyncSession, actor: Actor) -> list[SkillRule]:
    require_supervisor(actor)
    return list(
        (await session.scalars(select(SkillRule).order_by(SkillRule.position, SkillRule.id))).all()
    )


async def get_rule(session: AsyncSession, rule_id: int) -> SkillRule:
    row = await session.get(SkillRule, rule_id)
    if row is None:
        raise NotFound(f"rule {rule_id} does not exist")
    return row


async def _skills(session: AsyncSession, needs: Sequence[SkillNeedIn]) -> list[dict[str, int]]:
    ids = [n.skill_id for n in needs]
    if len(set(ids)) != len(ids):
        raise ValidationFailed.field("skills", "a skill is named twice")
    found = set((await session.scalars(select(Skill.id).where(Skill.id.in_(ids)))).all())
    missing = sorted(set(ids) - found)
    if missing:
        raise ValidationFailed.field("skills", f"no skill with id {missing[0]}")
    return [{"skill_id": n.skill_id, "min_level": n.min_level} for n in needs]


async def _conditions(session: AsyncSession, given: RuleConditions) -> dict[str, list[Any]]:
    conditions = _given(given)
    for inbox_id in conditions.get("inbox", []):
        if await session.get(Inbox, inbox_id) is None:
            raise ValidationFailed.field("conditions.inbox", f"no inbox with id {inbox_id}")
    return {k: list(dict.fromkeys(v)) for k, v in conditions.items()}


def _keywords(words: Sequence[str]) -> list[str]:
    kept = [w.strip() for w in words]
    if any(not w for w in kept):
        raise ValidationFailed.field("keywords", "a keyword must not be blank")
    return list(dict.fromkeys(kept))


async def do_create_rule(session: AsyncSession, actor: Actor, data: SkillRuleCreate) -> SkillRule:
    require_admin(actor)
    row = SkillRule(
        position=data.position,
        skills=await _skills(session, data.skills),
        optional=data.optional,
        conditions=await _conditions(session, data.conditions),
        keywords=_keywords(data.keywords),
    )
    session.add(row)
    await session.flush()
    audit(session, actor.agent_id, "routing_rule.create", row.id,
          after=msgspec.structs.asdict(rule_out(row)))  # fmt: skip
    return row


async def do_update_rule(
    session: AsyncSession, actor: Actor, rule_id: int, changes: SkillRuleUpdate
) -> SkillRule:
    require_admin(actor)
    row = await get_rule(session, rule_id)
    before = msgspec.structs.asdict(rule_out(row))
    given = _given(changes)
    if "skills" in given:
        row.skills = await _skills(session, changes.skills)  # type: ignore[arg-type]
    if "conditions" in given:
        row.conditions = await _conditions(session, given["conditions"])
    if "keywords" in given:
        row.keywords = _keywords(given["keywords"])
    for key in ("position", "optional"):
        if key in given:
            setattr(row, key, given[key])
    await session.flush()
    audit(session, actor.agent_id, "routing_rule.update", row.id, before=before,
          after=msgspec.structs.asdict(rule_out(row)))  # fmt: skip
    return row


async def do_delete_rule(session: AsyncSession, actor: Actor, rule_id: int) -> None:
    require_admin(actor)
    row = await get_rule(session, rule_id)
    await session.delete(row)
    await session.flush()
    audit(session, actor.agent_id, "routing_rule.delete", rule_id,
          before=msgspec.structs.asdict(rule_out(row)))  # fmt: skip
