"""SLA due times from a ticket's history: one example per rule a supervisor relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from routing.core.calendars import BusinessCalendar
from routing.core.sla_history import (
    AgentReply,
    CustomerMessage,
    DueOverride,
    PriorityChanged,
    StatusChanged,
    TeamChanged,
    TicketHistory,
)
from routing.core.sla_policy import (
    PolicyError,
    SlaPolicy,
    SlaTarget,
    TicketFacts,
    select_policy,
)
from routing.core.sla_timeline import SlaState, TargetState, compute_sla, teams_owning

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = BusinessCalendar.from_hours(
    "Europe/Berlin", {d: [("09:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")}
)
H = timedelta(hours=1)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in Berlin in March 2026 (Monday is the 2nd, 9th, 16th)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=BERLIN)


def policy(*targets: SlaTarget, **kwargs: object) -> SlaPolicy:
    return SlaPolicy(1, targets, **kwargs)  # type: ignore[arg-type]


def target(state: SlaState, metric: str, cycle: int = 0) -> TargetState:
    return next(t for t in state.targets if t.metric == metric and t.cycle == cycle)


def test_first_response_is_due_in_business_hours_and_met_by_a_reply() -> None:
    rules = policy(SlaTarget("first_response", "normal", 2 * H))
    history = TicketHistory(at(6, 16), "new", "normal")  # Friday 16:00
    waiting = compute_sla(rules, OFFICE, history, now=at(6, 18))
    assert target(waiting, "first_response").due_at == at(9, 10)  # Monday 10:00
    assert target(waiting, "first_response").status == "running"
    assert waiting.next_due_at == at(9, 10)

    answered = TicketHistory(at(6, 16), "new", "normal", (AgentReply(at(9, 9, 30)),))
    state = target(compute_sla(rules, OFFICE, answered, now=at(9, 12)), "first_response")
    assert (state.status, state.met_at, state.breached_at) == ("met", at(9, 9, 30), None)
    assert state.elapsed == timedelta(hours=1, minutes=30)


def test_a_late_reply_is_met_and_breached_with_both_instants() -> None:
    rules = policy(SlaTarget("first_response", "normal", 2 * H))
    history = TicketHistory(at(9, 9), "new", "normal", (AgentReply(at(9, 12)),))
    state = target(compute_sla(rules, OFFICE, history, now=at(9, 13)), "first_response")
    assert (state.status, state.met_at, state.breached_at) == ("breached", at(9, 12), at(9, 11))


def test_an_unanswered_ticket_breaches_once_now_passes_its_due_time() -> None:
    rules = policy(SlaTarget("first_response", "normal", 2 * H))
    history = TicketHistory(at(9, 9), "new", "normal")
    before = target(compute_sla(rules, OFFICE, history, now=at(9, 10, 59)), "first_response")
    after = target(compute_sla(rules, OFFICE, history, now=at(9, 11)), "first_response")
    assert (before.breached_at, after.breached_at) == (None, at(9, 11))


def test_a_warning_fires_at_the_configured_fraction() -> None:
    rules = policy(SlaTarget("resolution", "normal", 10 * H, business_hours=False),
                   warning_fraction=0.8)  # fmt: skip
    history = TicketHistory(at(9, 9), "open", "normal")
    state = compute_sla(rules, OFFICE, history, now=at(9, 10))
    assert target(state, "resolution").warning_at == at(9, 17)
    assert state.next_event_at == at(9, 17)
    later = compute_sla(rules, OFFICE, history, now=at(9, 18))
    assert later.next_event_at == at(9, 19)  # the warning is past; the breach is next


def test_pending_and_on_hold_pause_the_resolution_clock() -> None:
    rules = policy(SlaTarget("resolution", "normal", 8 * H, business_hours=False))
    history = TicketHistory(
        at(9, 9), "open", "normal",
        (StatusChanged(at(9, 10), "pending"), StatusChanged(at(9, 13), "open")),
    )  # fmt: skip
    state = target(compute_sla(rules, None, history, now=at(9, 14)), "resolution")
    assert state.due_at == at(9, 20)  # 9:00 + 8h + 3h on pending
    assert state.elapsed == 2 * H

    paused = TicketHistory(at(9, 9), "open", "normal", (StatusChanged(at(9, 10), "on_hold"),))
    state = target(compute_sla(rules, None, paused, now=at(9, 20)), "resolution")
    assert (state.status, state.due_at, state.elapsed) == ("paused", None, H)


def test_requester_wait_runs_on_hold_but_not_while_pending() -> None:
    rules = policy(SlaTarget("requester_wait", "normal", 4 * H, business_hours=False))
    on_hold = TicketHistory(at(9, 9), "open", "normal", (StatusChanged(at(9, 10), "on_hold"),))
    pending = TicketHistory(at(9, 9), "open", "normal", (StatusChanged(at(9, 10), "pending"),))
    now = at(9, 11)
    assert target(compute_sla(rules, None, on_hold, now), "requester_wait").due_at == at(9, 13)
    assert target(compute_sla(rules, None, pending, now), "requester_wait").status == "paused"


def test_a_policy_decides_which_statuses_pause_which_target() -> None:
    rules = policy(
        SlaTarget("resolution", "normal", 4 * H, business_hours=False),
        pauses={"resolution": frozenset()},  # the clock runs even while pending
    )
    history = TicketHistory(at(9, 9), "open", "normal", (StatusChanged(at(9, 10), "pending"),))
    assert target(compute_sla(rules, None, history, at(9, 11)), "resolution").due_at == at(9, 13)


def test_next_response_cycles_start_at_the_first_unanswered_customer_message() -> None:
    rules = policy(SlaTarget("next_response", "normal", H, business_hours=False))
    history = TicketHistory(
        at(9, 9), "new", "normal",
        (
            CustomerMessage(at(9, 9)),  # the first message: first response's business
            AgentReply(at(9, 10)),
            CustomerMessage(at(9, 11)),
            CustomerMessage(at(9, 11, 30)),  # still the same wait
            AgentReply(at(9, 11, 45)),
            CustomerMessage(at(9, 14)),
        ),
    )  # fmt: skip
    state = compute_sla(rules, None, history, now=at(9, 16))
    cycles = [t for t in state.targets if t.metric == "next_response"]
    assert [(t.started_at, t.met_at, t.status) for t in cycles] == [
        (at(9, 11), at(9, 11, 45), "met"),
        (at(9, 14), None, "breached"),
    ]
    assert cycles[1].breached_at == at(9, 15)


def test_a_priority_change_retargets_the_running_cycle_from_its_start() -> None:
    rules = policy(
        SlaTarget("first_response", "normal", 4 * H, business_hours=False),
        SlaTarget("first_response", "urgent", H, business_hours=False),
    )
    history = TicketHistory(at(9, 9), "new", "normal", (PriorityChanged(at(9, 9, 30), "urgent"),))
    state = target(compute_sla(rules, None, history, now=at(9, 9, 45)), "first_response")
    assert (state.priority, state.due_at) == ("urgent", at(9, 10))


def test_a_priority_without_a_target_has_no_clock() -> None:
    rules = policy(SlaTarget("first_response", "urgent", H))
    history = TicketHistory(at(9, 9), "new", "low")
    state = compute_sla(rules, OFFICE, history, now=at(9, 10))
    assert (state.targets, state.next_due_at, state.next_event_at) == ((), None, None)


def test_solving_meets_resolution_and_reopening_resumes_it() -> None:
    rules = policy(SlaTarget("resolution", "normal", 8 * H, business_hours=False))
    solved = TicketHistory(at(9, 9), "open", "normal", (StatusChanged(at(9, 12), "solved"),))
    state = target(compute_sla(rules, None, solved, now=at(9, 13)), "resolution")
    assert (state.status, state.met_at) == ("met", at(9, 12))

    reopened = TicketHistory(
        at(9, 9), "open", "normal",
        (StatusChanged(at(9, 12), "solved"), StatusChanged(at(9, 15), "open")),
    )  # fmt: skip
    state = target(compute_sla(rules, None, reopened, now=at(9, 16)), "resolution")
    assert (state.status, state.due_at) == ("running", at(9, 20))  # 3h used, solved 3h


def test_a_manual_due_override_freezes_the_target() -> None:
    rules = policy(SlaTarget("resolution", "normal", 8 * H, business_hours=False))
    history = TicketHistory(
        at(9, 9), "open", "normal",
        (DueOverride(at(9, 10), "resolution", at(9, 12)), StatusChanged(at(9, 11), "pending")),
    )  # fmt: skip
    state = target(compute_sla(rules, None, history, now=at(9, 13)), "resolution")
    assert state.overridden
    assert (state.due_at, state.breached_at) == (at(9, 12), at(9, 12))  # pending did not help


def test_a_policy_change_mid_ticket_measures_the_new_targets_from_the_start() -> None:
    """The driver recomputes with whichever policy now matches; the new promise counts
    from the ticket's creation, as it would have had it applied from the start."""
    standard = SlaPolicy(1, (SlaTarget("first_response", "normal", 8 * H),), position=2)
    vip = SlaPolicy(2, (SlaTarget("first_response", "normal", 2 * H),), position=1,
                    conditions={"account_tier": frozenset({"vip"})})  # fmt: skip
    history = TicketHistory(at(9, 9), "new", "normal")
    before = select_policy([standard, vip], TicketFacts("normal", "email"))
    after = select_policy([standard, vip], TicketFacts("normal", "email", account_tier="vip"))
    assert (before, after) == (standard, vip)
    now = at(9, 12)
    assert target(compute_sla(standard, OFFICE, history, now), "first_response").status == (
        "running"
    )
    switched = target(compute_sla(vip, OFFICE, history, now), "first_response")
    assert (switched.due_at, switched.breached_at) == (at(9, 11), at(9, 11))


def test_policies_are_chosen_by_conditions_first_match_wins() -> None:
    chat = SlaPolicy(1, (), conditions={"channel": frozenset({"chat"})}, position=1)
    tagged = SlaPolicy(2, (), conditions={"tags": frozenset({"vip", "gold"})}, position=2)
    urgent_inbox = SlaPolicy(
        3, (), conditions={"priority": frozenset({"urgent"}), "inbox": frozenset({"7"})},
        position=3,
    )  # fmt: skip
    policies = [urgent_inbox, tagged, chat]
    assert select_policy(policies, TicketFacts("urgent", "chat", inbox=7)) is chat
    assert select_policy(policies, TicketFacts("low", "email", tags=frozenset({"gold"}))) is tagged
    assert select_policy(policies, TicketFacts("urgent", "email", inbox=7)) is urgent_inbox
    assert select_policy(policies, TicketFacts("urgent", "email", inbox=8)) is None


def test_the_api_shape_of_a_state() -> None:
    rules = policy(SlaTarget("first_response", "normal", 2 * H))
    state = compute_sla(rules, OFFICE, TicketHistory(at(9, 9), "new", "normal"), now=at(9, 9))
    assert state.to_dict() == {
        "policy_id": 1,
        "targets": [
            {
                "metric": "first_response", "cycle": 0, "status": "running",
                "due_at": at(9, 11).astimezone(UTC).isoformat(),
                "warning_at": datetime(2026, 3, 9, 9, 36, tzinfo=UTC).isoformat(),
                "met_at": None, "breached_at": None,
            }
        ],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: SlaTarget("first_reply", "normal", H), "targets.metric"),  # type: ignore[arg-type]
        (lambda: SlaTarget("resolution", "normal", timedelta(0)), "targets.minutes"),
        (lambda: SlaPolicy(1, (), conditions={"colour": frozenset()}), "conditions.colour"),
        (lambda: SlaPolicy(1, (), warning_fraction=1.5), "warning_fraction"),
        (
            lambda: SlaPolicy(
                1, (SlaTarget("resolution", "low", H), SlaTarget("resolution", "low", 2 * H))
            ),
            "targets",
        ),
    ],
)
def test_bad_policies_name_the_field(build: object, field: str) -> None:
    with pytest.raises(PolicyError, match=field):
        build()  # type: ignore[operator]


def test_history_after_now_is_refused() -> None:
    history = TicketHistory(at(9, 9), "new", "normal", (AgentReply(at(9, 12)),))
    with pytest.raises(ValueError, match="past now"):
        compute_sla(policy(), OFFICE, history, now=at(9, 10))


def test_lifting_an_override_gives_the_clock_back() -> None:
    rules = policy(SlaTarget("resolution", "normal", 8 * H, business_hours=False))
    overrides = (
        DueOverride(at(9, 10), "resolution", at(9, 12)),
        DueOverride(at(9, 11), "resolution", None),
    )
    history = TicketHistory(at(9, 9), "open", "normal", overrides)
    state = target(compute_sla(rules, None, history, now=at(9, 13)), "resolution")
    assert (state.overridden, state.due_at, state.breached_at) == (False, at(9, 17), None)


def test_a_group_sla_times_each_stretch_a_team_owns_the_ticket() -> None:
    rules = policy(SlaTarget("group_ownership", "normal", 2 * H, business_hours=False))
    history = TicketHistory(
        at(9, 9), "open", "normal",
        (TeamChanged(at(9, 10), 2), TeamChanged(at(9, 13), 1), StatusChanged(at(9, 14), "solved")),
        team_id=1,
    )  # fmt: skip
    first_line = compute_sla(rules, None, history, now=at(9, 15), team_id=1)
    assert [(t.started_at, t.met_at, t.status) for t in first_line.targets] == [
        (at(9, 9), at(9, 10), "met"),  # handed on after an hour
        (at(9, 13), at(9, 14), "met"),  # solved after another
    ]
    second_line = target(
        compute_sla(rules, None, history, now=at(9, 15), team_id=2), "group_ownership"
    )
    assert (second_line.met_at, second_line.breached_at) == (at(9, 13), at(9, 12))
    # The customer's SLA has no group targets.
    assert compute_sla(rules, None, history, now=at(9, 15)).targets == ()


def test_group_policies_are_chosen_per_team_apart_from_the_customers() -> None:
    customer = SlaPolicy(1, (), position=5)
    tier1_vip = SlaPolicy(2, (), team_id=7, position=1, conditions={"tags": frozenset({"vip"})})
    tier1 = SlaPolicy(3, (), team_id=7, position=2)
    tier2 = SlaPolicy(4, (), team_id=8)
    policies = [tier2, tier1, tier1_vip, customer]
    plain = TicketFacts("normal", "email")
    vip = TicketFacts("normal", "email", tags=frozenset({"vip"}))
    assert select_policy(policies, vip) is customer  # a group policy never is the customer's
    assert select_policy(policies, vip, team_id=7) is tier1_vip
    assert select_policy(policies, plain, team_id=7) is tier1
    assert select_policy(policies, plain, team_id=8) is tier2
    assert select_policy(policies, plain, team_id=9) is None


def test_teams_owning_lists_each_owner_once_in_order() -> None:
    history = TicketHistory(
        at(9, 9), "open", "normal",
        (TeamChanged(at(9, 10), 2), TeamChanged(at(9, 11), None), TeamChanged(at(9, 12), 1),
         TeamChanged(at(9, 13), 3)),
        team_id=1,
    )  # fmt: skip
    assert teams_owning(history) == [1, 2, 3]
