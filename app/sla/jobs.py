"""Which job a committed SLA rule change triggers (the job itself is the engine's,
registered by the worker: routing.sla.jobs.recompute_sla)."""

from __future__ import annotations

from typing import Any

RULES_CHANGED = "sla.rules_changed"


def rules_changed_jobs(payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    keys = {k: v for k, v in payload.items() if k in {"policy_id", "calendar_id"}}
    return [("recompute_sla", keys)] if keys else []


TOPICS = {RULES_CHANGED: rules_changed_jobs}
