"""One readable example per strategy, tie-break, sticky and queue order."""

from __future__ import annotations

from datetime import timedelta

from routing.core.model import ChannelSlots, HeldTicket, SkillNeed
from tests.routing.core.builders import NOW, agent, queue, run, ticket, winners


def holding(n: int, channel: str = "chat", status: str = "open") -> tuple[HeldTicket, ...]:
    return tuple(HeldTicket(900 + i, channel, status) for i in range(n))


def test_most_spare_capacity_takes_the_agent_with_the_most_free_places() -> None:
    agents = [agent(1, held=holding(2)), agent(2, held=holding(1)), agent(3, held=holding(3))]
    decisions = run(agents, [ticket(10)], [queue(strategy="most_spare")])
    assert winners(decisions) == {10: 2}
    assert decisions[10].action == "assign"
    assert "most spare capacity" in decisions[10].explanation.reason


def test_highest_share_of_spare_capacity_differs_from_most_spare() -> None:
    # Agent 1: 5 of 10 emails free (50%); agent 2: 3 of 4 free (75%).
    agents = [
        agent(1, capacity=ChannelSlots({"email": 10}), held=holding(5, "email")),
        agent(2, capacity=ChannelSlots({"email": 4}), held=holding(1, "email")),
    ]
    email = [ticket(10, channel="email")]
    assert winners(run(agents, email, [queue(strategy="most_spare")])) == {10: 1}
    assert winners(run(agents, email, [queue(strategy="highest_spare_ratio")])) == {10: 2}


def test_round_robin_goes_to_the_longest_since_an_assignment_on_that_channel() -> None:
    agents = [
        agent(1, last_assigned_at={"chat": NOW - timedelta(minutes=10)}),
        agent(2, last_assigned_at={"chat": NOW - timedelta(hours=1), "email": NOW}),
        agent(3, last_assigned_at={"chat": NOW - timedelta(minutes=5)}),
    ]
    tickets = [ticket(10), ticket(11), ticket(12), ticket(13)]
    decisions = run(agents, tickets, [queue(strategy="round_robin", sticky=False)])
    # Each assignment sends its agent to the back of the line for the next ticket.
    assert [decisions[t].agent_id for t in (10, 11, 12, 13)] == [2, 1, 3, 2]


def test_best_skill_match_prefers_optional_skills_then_higher_levels() -> None:
    agents = [
        agent(1, skills={7: 5}),  # an expert in the required skill only
        agent(2, skills={7: 2, 8: 3}),  # also speaks the optional language
        agent(3, skills={7: 4, 8: 3}),
    ]
    needs = {"required_skills": (SkillNeed(7, 2),), "optional_skills": (SkillNeed(8, 1),)}
    decisions = run(agents, [ticket(10, **needs)], [queue(strategy="best_skill_match")])
    assert winners(decisions) == {10: 3}
    scores = {c.agent_id: c.score for c in decisions[10].explanation.tiers[0].candidates}
    assert scores == {1: None, 2: (1.0, 5.0), 3: (1.0, 7.0)}  # 1 lacks the optional skill


def test_ties_go_to_the_agent_idle_longest_then_the_lowest_id() -> None:
    agents = [
        agent(3, last_assigned_at={"email": NOW - timedelta(minutes=30)}),
        agent(2, last_assigned_at={"email": NOW - timedelta(hours=2)}),
        agent(1, last_assigned_at={"email": NOW - timedelta(minutes=1)}),
    ]
    decisions = run(agents, [ticket(10)])
    assert winners(decisions) == {10: 2}
    assert "tied with 2 other(s) and won the tie-break" in decisions[10].explanation.reason
    never_assigned = [agent(5), agent(4), agent(6)]
    assert winners(run(never_assigned, [ticket(10)])) == {10: 4}


def test_sticky_returns_a_ticket_to_its_last_agent_when_available() -> None:
    agents = [agent(1, held=holding(2)), agent(2)]
    reopened = ticket(10, last_agent_id=1)
    decisions = run(agents, [reopened])
    assert winners(decisions) == {10: 1}
    assert decisions[10].explanation.tiers[0].name == "sticky"
    assert "had this ticket or contact last" in decisions[10].explanation.reason
    assert winners(run(agents, [reopened], [queue(sticky=False)])) == {10: 2}
    # Not available (at capacity): routed as usual, with the reason recorded.
    full = [agent(1, held=holding(3)), agent(2)]
    decisions = run(full, [reopened])
    assert winners(decisions) == {10: 2}
    assert decisions[10].explanation.tiers[0].candidates[0].rejections[0].code == "at_capacity"


def test_sla_first_puts_the_soonest_due_time_first() -> None:
    one_place = [agent(1, capacity=ChannelSlots({"chat": 1}))]
    urgent_no_sla = ticket(10, priority="urgent", eligible_since=NOW - timedelta(hours=1))
    due_soon = ticket(11, priority="low", next_due_at=NOW + timedelta(minutes=5))
    due_later = ticket(12, priority="high", next_due_at=NOW + timedelta(minutes=50))
    tickets = [urgent_no_sla, due_later, due_soon]
    assert winners(run(one_place, tickets, [queue(order="sla_first")])) == {
        11: 1, 12: None, 10: None,
    }  # fmt: skip
    assert winners(run(one_place, tickets, [queue(order="priority_first")])) == {
        10: 1, 12: None, 11: None,
    }  # fmt: skip


def test_equal_urgency_goes_by_time_in_the_queue() -> None:
    one_place = [agent(1, capacity=ChannelSlots({"chat": 1}))]
    older = ticket(11, eligible_since=NOW - timedelta(minutes=9))
    newer = ticket(10, eligible_since=NOW - timedelta(minutes=2))
    assert winners(run(one_place, [newer, older])) == {11: 1, 10: None}


def test_a_higher_precedence_queue_is_served_first() -> None:
    one_place = [agent(1, capacity=ChannelSlots({"chat": 1}), primary_teams=frozenset({1, 2}))]
    vip, standard = queue(id=2, team_id=2), queue(id=1, team_id=1)
    tickets = [ticket(10, queue_id=1, priority="urgent"), ticket(11, queue_id=2, priority="low")]
    assert winners(run(one_place, tickets, [vip, standard])) == {11: 1, 10: None}
