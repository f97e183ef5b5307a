"""Which skills a ticket needs: rules on inbox, channel, language, account tier and
keywords, managed by admins. Every matching rule adds its skills; a skill asked for
twice keeps the highest minimum level, and required beats optional."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from routing.core.model import ModelError, SkillNeed

RULE_FIELDS = frozenset({"inbox", "channel", "language", "account_tier"})


@dataclass(frozen=True, slots=True)
class TicketText:
    """What skill rules look at."""

    channel: str
    text: str = ""  # subject and first message, for keywords
    inbox: int | None = None
    language: str | None = None
    account_tier: str | None = None


@dataclass(frozen=True)
class SkillRule:
    """Matches when every condition does and, if keywords are given, the text contains
    one of them as a whole word (case-insensitive)."""

    id: int
    skills: tuple[SkillNeed, ...]
    optional: bool = False
    conditions: Mapping[str, frozenset[str]] = field(default_factory=dict)
    keywords: frozenset[str] = frozenset()
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = set(self.conditions) - RULE_FIELDS
        if unknown:
            raise ModelError(f"conditions.{sorted(unknown)[0]}: unknown condition")
        words = sorted(k.strip().lower() for k in self.keywords if k.strip())
        pattern = (
            re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)
            if words
            else None
        )
        object.__setattr__(self, "_pattern", pattern)

    def matches(self, ticket: TicketText) -> bool:
        for name, allowed in self.conditions.items():
            value = getattr(ticket, name)
            if value is None or str(value) not in allowed:
                return False
        return self._pattern is None or self._pattern.search(ticket.text) is not None


def skills_for(
    rules: Iterable[SkillRule], ticket: TicketText
) -> tuple[tuple[SkillNeed, ...], tuple[SkillNeed, ...]]:
    """(required, optional) skills from every matching rule, ordered by skill id."""
    required: dict[int, int] = {}
    optional: dict[int, int] = {}
    for rule in rules:
        if not rule.matches(ticket):
            continue
        into = optional if rule.optional else required
        for need in rule.skills:
            into[need.skill_id] = max(into.get(need.skill_id, 0), need.min_level)
    for skill_id in required:
        optional.pop(skill_id, None)
    return (
        tuple(SkillNeed(s, level) for s, level in sorted(required.items())),
        tuple(SkillNeed(s, level) for s, level in sorted(optional.items())),
    )
