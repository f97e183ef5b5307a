"""Why a routing decision chose whom: plain data to store and show to supervisors
(`GET /api/v1/tickets/{id}/routing`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

RejectionCode = Literal[
    "routing_paused",
    "not_online",
    "not_in_pool",
    "missing_skill",
    "skill_too_low",
    "declined",
    "offer_timed_out",
    "no_capacity_for_channel",
    "at_capacity",
    "team_limit",
    "inbox_limit",
]
TierName = Literal["sticky", "preferred", "optional_dropped", "overflow"]


@dataclass(frozen=True, slots=True)
class Rejection:
    code: RejectionCode
    detail: str


@dataclass(frozen=True, slots=True)
class Candidate:
    agent_id: int
    rejections: tuple[Rejection, ...]  # empty: eligible
    score: tuple[float, ...] | None = None  # the strategy's score, higher wins

    @property
    def eligible(self) -> bool:
        return not self.rejections


@dataclass(frozen=True, slots=True)
class Tier:
    """One pass over a pool of agents: the ticket's last agent (sticky), the team with
    every skill, then without the optional ones, then the overflow pool."""

    name: TierName
    skills: tuple[tuple[int, int], ...]  # (skill id, minimum level) required in this tier
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    ticket_id: int
    queue_id: int
    decided_at: datetime
    strategy: str
    tiers: tuple[Tier, ...]
    chosen: int | None
    reason: str  # one sentence: why the winner won, or why the ticket waits

    def to_dict(self) -> dict[str, object]:
        return {
            "ticket_id": self.ticket_id,
            "queue_id": self.queue_id,
            "decided_at": self.decided_at.isoformat(),
            "strategy": self.strategy,
            "chosen_agent_id": self.chosen,
            "reason": self.reason,
            "tiers": [
                {
                    "name": tier.name,
                    "skills": [{"skill_id": s, "min_level": m} for s, m in tier.skills],
                    "candidates": [
                        {
                            "agent_id": c.agent_id,
                            "eligible": c.eligible,
                            "score": None if c.score is None else _json_score(c.score),
                            "rejections": [
                                {"code": r.code, "detail": r.detail} for r in c.rejections
                            ],
                        }
                        for c in tier.candidates
                    ],
                }
                for tier in self.tiers
            ],
        }


def _json_score(score: tuple[float, ...]) -> list[float | None]:
    """JSON has no infinity (PostgreSQL refuses `Infinity` in jsonb): a never-assigned
    agent's round-robin score is stored as null, which ranks above every number."""
    if math.inf not in score and -math.inf not in score:
        return list(score)
    return [None if math.isinf(part) else part for part in score]
