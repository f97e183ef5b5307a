"""Agents, teams and skills: the people who work tickets and how they are grouped.

Only admins manage them; an agent may edit their own name, password and presence. The
modules split by what is managed; import from this package, which re-exports them.
"""

from __future__ import annotations

from app.agents.service.agents import (
    agent_out,
    check_capacity,
    check_email_free,
    do_create_agent,
    do_deactivate_agent,
    do_update_agent,
    find_agent_by_email,
    get_agent,
    list_agents,
    normalize_email,
    with_relations,
)
from app.agents.service.common import MAX_ID, check_id
from app.agents.service.presence import (
    AGENT_PRESENCE,
    ChannelState,
    PresenceView,
    channel_states,
    check_presence_choice,
    choose_presence,
    do_set_own_presence,
    expire_disconnected,
    lock_agent,
    offline_grace,
    online_on,
    presence_view,
    set_agent_presence,
    touch_activity,
)
from app.agents.service.skills import (
    check_skills,
    do_create_skill,
    do_delete_skill,
    do_update_skill,
    get_skill,
    list_skills,
    skill_out,
)
from app.agents.service.teams import (
    check_teams,
    do_create_team,
    do_delete_team,
    do_update_team,
    get_team,
    list_teams,
    team_view,
)

__all__ = [
    "AGENT_PRESENCE",
    "MAX_ID",
    "ChannelState",
    "PresenceView",
    "agent_out",
    "channel_states",
    "check_capacity",
    "check_email_free",
    "check_id",
    "check_presence_choice",
    "check_skills",
    "check_teams",
    "choose_presence",
    "do_create_agent",
    "do_create_skill",
    "do_create_team",
    "do_deactivate_agent",
    "do_delete_skill",
    "do_delete_team",
    "do_set_own_presence",
    "do_update_agent",
    "do_update_skill",
    "do_update_team",
    "expire_disconnected",
    "find_agent_by_email",
    "get_agent",
    "get_skill",
    "get_team",
    "list_agents",
    "list_skills",
    "list_teams",
    "lock_agent",
    "normalize_email",
    "offline_grace",
    "online_on",
    "presence_view",
    "set_agent_presence",
    "skill_out",
    "team_view",
    "touch_activity",
    "with_relations",
]
