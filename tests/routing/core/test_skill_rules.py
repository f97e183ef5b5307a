"""Skill rules: what a ticket needs from inbox, channel, language, tier and keywords."""

from __future__ import annotations

import pytest

from routing.core.model import ModelError, SkillNeed
from routing.core.skill_rules import SkillRule, TicketText, skills_for

BILLING, GERMAN, ENTERPRISE = 1, 2, 3


def test_every_matching_rule_adds_its_skills_and_the_strictest_level_wins() -> None:
    rules = [
        SkillRule(1, (SkillNeed(BILLING, 2),), keywords=frozenset({"invoice", "refund"})),
        SkillRule(2, (SkillNeed(GERMAN, 3),), conditions={"language": frozenset({"de"})}),
        SkillRule(3, (SkillNeed(BILLING, 4),), conditions={"inbox": frozenset({"7"})}),
        SkillRule(
            4,
            (SkillNeed(ENTERPRISE, 1), SkillNeed(GERMAN, 1)),
            optional=True,
            conditions={"account_tier": frozenset({"enterprise"})},
        ),
    ]
    ticket = TicketText("email", "Frage zur Invoice 2026-03", inbox=7, language="de",
                        account_tier="enterprise")  # fmt: skip
    required, optional = skills_for(rules, ticket)
    assert required == (SkillNeed(BILLING, 4), SkillNeed(GERMAN, 3))
    assert optional == (SkillNeed(ENTERPRISE, 1),)  # German is already required


def test_keywords_match_whole_words_only() -> None:
    rule = SkillRule(1, (SkillNeed(BILLING),), keywords=frozenset({"bill"}))
    assert rule.matches(TicketText("chat", "Where is my BILL?"))
    assert not rule.matches(TicketText("chat", "billing address"))
    assert not rule.matches(TicketText("chat", ""))


def test_a_rule_on_an_unknown_field_is_refused() -> None:
    with pytest.raises(ModelError, match=r"conditions\.colour"):
        SkillRule(1, (), conditions={"colour": frozenset({"red"})})
