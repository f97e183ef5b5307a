"""Eligibility, overflow, load accounting, presence, offers and reassignment by example."""

from __future__ import annotations

import json
from datetime import timedelta

from routing.core.model import (
    ChannelPresence,
    ChannelSlots,
    HeldTicket,
    RoutingRules,
    SkillNeed,
    WeightedUnits,
)
from routing.core.offers import Offer, OfferReply, settle_offer
from routing.core.presence import idle_presence_changes, tickets_to_requeue
from tests.routing.core.builders import NOW, agent, online, queue, run, ticket, winners

BILLING, GERMAN = 7, 8


def codes(decision: object, agent_id: int, tier: int = -1) -> list[str]:
    tiers = decision.explanation.tiers  # type: ignore[attr-defined]
    candidate = next(c for c in tiers[tier].candidates if c.agent_id == agent_id)
    return [r.code for r in candidate.rejections]


def test_required_skills_need_their_minimum_level() -> None:
    agents = [agent(1, skills={BILLING: 2}), agent(2), agent(3, skills={BILLING: 4})]
    decisions = run(agents, [ticket(10, required_skills=(SkillNeed(BILLING, 3),))])
    assert winners(decisions) == {10: 3}
    assert codes(decisions[10], 1) == ["skill_too_low"]
    assert codes(decisions[10], 2) == ["missing_skill"]


def test_optional_skills_are_dropped_after_the_queue_wait() -> None:
    agents = [agent(1)]  # nobody speaks German
    german = {"optional_skills": (SkillNeed(GERMAN, 1),)}
    fresh = ticket(10, eligible_since=NOW - timedelta(minutes=1), **german)
    waited = ticket(11, eligible_since=NOW - timedelta(minutes=6), **german)
    decisions = run(agents, [fresh, waited], [queue(drop_optional_after=timedelta(minutes=5))])
    assert winners(decisions) == {11: 1, 10: None}
    assert [t.name for t in decisions[11].explanation.tiers] == ["preferred", "optional_dropped"]
    assert "once the optional skills were dropped" in decisions[11].explanation.reason
    assert (
        decisions[10].explanation.reason == "waits: none of 1 agents can take it (1 missing skill)"
    )


def test_overflow_reaches_secondary_members_and_overflow_teams_after_the_wait() -> None:
    full = agent(1, held=tuple(HeldTicket(n, "chat", "open") for n in range(3)))
    secondary = agent(2, primary_teams=frozenset({5}), secondary_teams=frozenset({1}))
    overflow_team = agent(3, primary_teams=frozenset({9}))
    agents = [full, secondary, overflow_team]
    spill = queue(overflow_after=timedelta(minutes=10), overflow_team_ids=(9,))
    early = run(agents, [ticket(10, eligible_since=NOW - timedelta(minutes=9))], [spill])
    assert winners(early) == {10: None}
    late = run(agents, [ticket(10, eligible_since=NOW - timedelta(minutes=10))], [spill])
    assert winners(late) == {10: 2}  # most spare capacity: 3 chats of agent 2's 3
    assert [t.name for t in late[10].explanation.tiers] == ["preferred", "overflow"]
    assert codes(late[10], 1, tier=0) == ["at_capacity"]


def test_pending_and_on_hold_free_capacity_and_idle_chats_may_not_count() -> None:
    held = (HeldTicket(1, "chat", "open"), HeldTicket(2, "chat", "pending"),
            HeldTicket(3, "chat", "on_hold"), HeldTicket(4, "chat", "open", idle=True))  # fmt: skip
    agents = [agent(1, capacity=ChannelSlots({"chat": 3}), held=held)]  # 2 of 3 in use
    assert winners(run(agents, [ticket(10), ticket(11)])) == {10: 1, 11: None}
    lenient = RoutingRules(count_idle_chats=False)
    assert winners(run(agents, [ticket(10), ticket(11)], rules=lenient)) == {10: 1, 11: 1}


def test_a_manual_assignment_past_capacity_blocks_new_offers_until_the_load_falls() -> None:
    overfilled = agent(1, capacity=ChannelSlots({"chat": 2}), held=tuple(
        HeldTicket(n, "chat", "open") for n in range(3)))  # fmt: skip
    decisions = run([overfilled], [ticket(10)])
    assert winners(decisions) == {10: None}
    assert decisions[10].explanation.tiers[0].candidates[0].rejections[0].detail == (
        "3 of 2 chat tickets"
    )


def test_weighted_units_share_one_budget_between_channels() -> None:
    units = WeightedUnits(total=10, weights={"chat": 4, "email": 1})
    emails = tuple(HeldTicket(n, "email", "open") for n in range(2, 5))
    busy = agent(1, capacity=units, held=(HeldTicket(1, "chat", "open"), *emails))
    # 4 + 3 = 7 of 10 units used: an email (1) fits, a chat (4) does not.
    decisions = run([busy], [ticket(10), ticket(11, channel="email")])
    assert winners(decisions) == {10: None, 11: 1}
    assert decisions[10].explanation.tiers[0].candidates[0].rejections[0].detail == (
        "7 of 10 units in use, a chat ticket needs 4"
    )


def test_team_and_inbox_limits_cap_an_agent_below_capacity() -> None:
    held = (HeldTicket(1, "email", "open", inbox_id=3, team_id=1),)
    agents = [agent(1, held=held)]
    inbox_rules = RoutingRules(inbox_limits={3: 1})
    decisions = run(agents, [ticket(10, channel="email", inbox_id=3)], rules=inbox_rules)
    assert codes(decisions[10], 1) == ["inbox_limit"]
    team_rules = RoutingRules(team_limits={1: 2})
    decisions = run(agents, [ticket(10, channel="email"), ticket(11, channel="email")],
                    rules=team_rules)  # fmt: skip
    assert winners(decisions) == {10: 1, 11: None}
    assert codes(decisions[11], 1) == ["team_limit"]


def test_only_online_unpaused_agents_receive_tickets_and_idle_ones_turn_away() -> None:
    idle = {"chat": ChannelPresence("online", NOW - timedelta(hours=2),
                                    last_activity_at=NOW - timedelta(minutes=11))}  # fmt: skip
    agents = [
        agent(1, routing_paused=True),
        agent(2, presence={"chat": ChannelPresence("away", NOW)}),
        agent(3, presence=online("email")),  # online for email only
        agent(4, presence=idle),
    ]
    decisions = run(agents, [ticket(10)])
    assert winners(decisions) == {10: None}
    assert [codes(decisions[10], n) for n in (1, 2, 3, 4)] == [
        ["routing_paused"],
        ["not_online"],
        ["not_online"],
        ["not_online"],
    ]
    changes = idle_presence_changes(agents, NOW, RoutingRules(idle_timeout=timedelta(minutes=10)))
    assert [(c.agent_id, c.channel, c.status) for c in changes] == [(4, "chat", "away")]


def test_an_offer_holds_a_place_and_a_decline_skips_the_agent_next_time() -> None:
    offering = queue(offer_timeout=timedelta(seconds=30))
    decisions = run([agent(1), agent(2)], [ticket(10)], [offering])
    offer_decision = decisions[10]
    assert (offer_decision.action, offer_decision.agent_id) == ("offer", 1)
    assert offer_decision.offer_expires_at == NOW + timedelta(seconds=30)

    offer = Offer(10, 1, "chat", NOW, NOW + timedelta(seconds=30))
    rules = RoutingRules(presence_after_decline=None, presence_after_timeout="away")
    reply = OfferReply(NOW + timedelta(seconds=5), accepted=False, reason="on a call")
    declined = settle_offer(offer, reply, NOW + timedelta(seconds=5), rules)
    assert (declined.result, declined.reason, declined.requeue) == ("declined", "on a call", True)
    assert declined.presence is None

    again = run([agent(1), agent(2)], [ticket(10, refused_by={1: "declined"})], [offering])
    assert winners(again) == {10: 2}
    assert codes(again[10], 1) == ["declined"]


def test_an_unanswered_offer_times_out_and_sets_the_configured_presence() -> None:
    offer = Offer(10, 1, "chat", NOW, NOW + timedelta(seconds=30))
    rules = RoutingRules(presence_after_timeout="away")
    assert settle_offer(offer, None, NOW + timedelta(seconds=29), rules).result == "pending"
    timed_out = settle_offer(offer, None, NOW + timedelta(seconds=30), rules)
    assert (timed_out.result, timed_out.presence, timed_out.requeue) == ("timed_out", "away", True)
    late = OfferReply(NOW + timedelta(seconds=31), accepted=True)
    assert settle_offer(offer, late, NOW + timedelta(seconds=31), rules).result == "timed_out"
    accepted = OfferReply(NOW + timedelta(seconds=3), accepted=True)
    assert settle_offer(offer, accepted, NOW + timedelta(seconds=31), rules).result == "accepted"


def test_an_offline_agents_chats_return_to_the_queue_after_the_grace_period_email_stays() -> None:
    held = (HeldTicket(1, "chat", "open"), HeldTicket(2, "email", "open"),
            HeldTicket(3, "chat", "pending"))  # fmt: skip
    rules = RoutingRules(offline_grace=timedelta(minutes=2), live_channels=frozenset({"chat"}))
    went_offline = {"chat": ChannelPresence("offline", NOW - timedelta(minutes=1)),
                    "email": ChannelPresence("offline", NOW - timedelta(hours=1))}  # fmt: skip
    within = tickets_to_requeue([agent(1, held=held, presence=went_offline)], NOW, rules)
    assert (within.requeue, within.next_check_at) == ((), NOW + timedelta(minutes=1))
    later = tickets_to_requeue(
        [agent(1, held=held, presence=went_offline)], NOW + timedelta(minutes=1), rules
    )
    assert [(r.ticket_id, r.agent_id) for r in later.requeue] == [(1, 1)]
    still_online = tickets_to_requeue([agent(1, held=held)], NOW, rules)
    assert still_online.requeue == ()


def test_the_explanation_is_plain_data_for_the_api() -> None:
    agents = [agent(1, skills={BILLING: 3}), agent(2)]
    decisions = run(agents, [ticket(10, required_skills=(SkillNeed(BILLING, 2),))])
    data = decisions[10].explanation.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["chosen_agent_id"] == 1
    assert data["tiers"] == [
        {
            "name": "preferred",
            "skills": [{"skill_id": BILLING, "min_level": 2}],
            "candidates": [
                {"agent_id": 1, "eligible": True, "score": [3.0], "rejections": []},
                {"agent_id": 2, "eligible": False, "score": None,
                 "rejections": [{"code": "missing_skill", "detail": "lacks skill 7"}]},
            ],
        }
    ]  # fmt: skip


def test_a_ticket_of_an_unknown_queue_waits_with_the_reason() -> None:
    decisions = run([agent(1)], [ticket(10, queue_id=99)])
    assert decisions[10].action == "wait"
    assert decisions[10].explanation.reason == "queue 99 is unknown"
