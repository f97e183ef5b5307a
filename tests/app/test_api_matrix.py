# ruff: noqa: E501  (the matrix reads best as one endpoint per line)
"""Every endpoint against every role, and every endpoint against hostile input.

The role table is the contract: agents work tickets, contacts and accounts; supervisors may
also delete and merge customer records; only admins manage agents, teams, skills and
inboxes. A new endpoint fails `test_every_route_is_in_the_matrix` until it is classified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from httpx import AsyncClient
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.agents.models import Agent
from app.auth.service import do_create_token
from app.chat.models import ChatVisitor
from app.chat.tokens import visitor_token
from app.contacts.identities import Identity, resolve_contact
from app.inbound.models import InboundItem
from app.inbound.service import compress
from app.inboxes.models import Inbox
from app.outbox.models import OutboxEvent
from app.routing.models import RoutingQueue, SkillRule
from app.sla.models import SlaCalendar, SlaPolicy
from tests.conftest import SECRET_KEY
from tests.factories.agents import PASSWORD, make_agent, make_skill, make_team
from tests.factories.assets import CONSOLE_SCRIPT, WIDGET_BUNDLE

ROLES = ("agent", "supervisor", "admin")
RANK = {"public": -1, "agent": 0, "supervisor": 1, "admin": 2}


@dataclass
class World:
    agents: dict[str, Agent]
    tokens: dict[str, str]
    token_ids: dict[str, int]
    ids: dict[str, Any]


Path = Callable[[World, str], str]


@dataclass(frozen=True)
class Case:
    method: str
    route: str  # the route template, as Litestar lists it
    needs: str  # the lowest role allowed: public, agent, supervisor, admin
    path: Path
    body: Callable[[World], Any] | None = None
    multipart: bool = False


def p(template: str) -> Path:
    return lambda world, role: template.format(**world.ids, token_id=world.token_ids[role])


NEW_TICKET = {"subject": "Matrix", "body": "hello", "contact": {"email": "m@customer.test"}}
CASES = [
    Case("POST", "/api/v1/auth/login", "public", p("/api/v1/auth/login"), lambda w: {"email": w.agents["admin"].email, "password": PASSWORD}),
    Case("POST", "/api/v1/auth/session", "public", p("/api/v1/auth/session"), lambda w: {"email": w.agents["admin"].email, "password": PASSWORD}),
    Case("GET", "/healthz", "public", p("/healthz")),
    Case("GET", "/readyz", "public", p("/readyz")),
    Case("GET", "/metrics", "public", p("/metrics")),
    # Providers authenticate by signature, not as agents (tests/app/webhooks checks that).
    Case("GET", "/webhooks/{channel:str}/{public_key:str}", "public", p("/webhooks/telegram/{inbox_key}")),
    Case("POST", "/webhooks/{channel:str}/{public_key:str}", "public", p("/webhooks/telegram/{inbox_key}"), lambda w: {"update_id": 1}),
    Case("GET", "/", "public", p("/")),
    Case("GET", "/console", "public", p("/console")),
    Case("GET", "/console/{path:path}", "public", p("/console/tickets/1")),
    Case("GET", "/console/assets/{name:str}", "public", p(f"/console/assets/{CONSOLE_SCRIPT}")),
    Case("GET", "/widget.js", "public", p("/widget.js")),
    Case("GET", "/widget/{name:str}", "public", p(f"/widget/{WIDGET_BUNDLE}")),
    # The widget on customers' sites: the inbox's public key and the visitor token (tests/app/chat).
    Case("GET", "/api/v1/widget/config", "public", p("/api/v1/widget/config?inbox={inbox_key}")),
    Case("POST", "/api/v1/widget/sessions", "public", p("/api/v1/widget/sessions"), lambda w: {"inbox": w.ids["inbox_key"]}),
    Case("POST", "/api/v1/widget/attachments", "public", p("/api/v1/widget/attachments?token={visitor_token}"), multipart=True),
    Case("GET", "/api/v1/widget/attachments/{attachment_id:int}", "public", p("/api/v1/widget/attachments/{attachment}?token={visitor_token}")),
    Case("POST", "/api/v1/auth/logout", "agent", p("/api/v1/auth/logout")),
    Case("GET", "/api/v1/auth/me", "agent", p("/api/v1/auth/me")),
    Case("GET", "/api/v1/auth/tokens", "agent", p("/api/v1/auth/tokens")),
    Case("POST", "/api/v1/auth/tokens", "agent", p("/api/v1/auth/tokens"), lambda w: {"name": "zap"}),
    Case("DELETE", "/api/v1/auth/tokens/{token_id:int}", "agent", p("/api/v1/auth/tokens/{token_id}")),
    Case("GET", "/api/v1/auth/two-factor", "agent", p("/api/v1/auth/two-factor")),
    Case("POST", "/api/v1/auth/two-factor/enrolment", "agent", p("/api/v1/auth/two-factor/enrolment")),
    Case("POST", "/api/v1/auth/two-factor/confirm", "agent", p("/api/v1/auth/two-factor/confirm"), lambda w: {"code": "000000"}),
    Case("POST", "/api/v1/auth/two-factor/recovery-codes", "agent", p("/api/v1/auth/two-factor/recovery-codes"), lambda w: {"code": "000000"}),
    Case("POST", "/api/v1/auth/two-factor/disable", "agent", p("/api/v1/auth/two-factor/disable"), lambda w: {"code": "000000"}),
    Case("DELETE", "/api/v1/agents/{agent_id:int}/two-factor", "admin", p("/api/v1/agents/{other_agent}/two-factor")),
    Case("GET", "/api/v1/settings/security", "admin", p("/api/v1/settings/security")),
    Case("PATCH", "/api/v1/settings/security", "admin", p("/api/v1/settings/security"), lambda w: {"require_two_factor_for_staff": False}),
    Case("GET", "/api/v1/agents", "agent", p("/api/v1/agents")),
    Case("GET", "/api/v1/agents/{agent_id:int}", "agent", p("/api/v1/agents/{other_agent}")),
    Case("POST", "/api/v1/agents", "admin", p("/api/v1/agents"), lambda w: {"email": "new.agent@example.test", "name": "New", "role": "agent", "password": "a long password"}),
    Case("PATCH", "/api/v1/agents/{agent_id:int}", "admin", p("/api/v1/agents/{other_agent}"), lambda w: {"name": "Renamed"}),
    Case("DELETE", "/api/v1/agents/{agent_id:int}", "admin", p("/api/v1/agents/{other_agent}")),
    Case("GET", "/api/v1/agents/{agent_id:int}/tokens", "admin", p("/api/v1/agents/{other_agent}/tokens")),
    Case("DELETE", "/api/v1/agents/{agent_id:int}/tokens", "admin", p("/api/v1/agents/{other_agent}/tokens")),
    Case("DELETE", "/api/v1/agents/{agent_id:int}/tokens/{token_id:int}", "admin", p("/api/v1/agents/{other_agent}/tokens/{other_token}")),
    Case("GET", "/api/v1/teams", "agent", p("/api/v1/teams")),
    Case("GET", "/api/v1/teams/{team_id:int}", "agent", p("/api/v1/teams/{team}")),
    Case("POST", "/api/v1/teams", "admin", p("/api/v1/teams"), lambda w: {"name": "Fresh team"}),
    Case("PATCH", "/api/v1/teams/{team_id:int}", "admin", p("/api/v1/teams/{spare_team}"), lambda w: {"name": "Renamed team"}),
    Case("DELETE", "/api/v1/teams/{team_id:int}", "admin", p("/api/v1/teams/{spare_team}")),
    Case("GET", "/api/v1/skills", "agent", p("/api/v1/skills")),
    Case("GET", "/api/v1/skills/{skill_id:int}", "agent", p("/api/v1/skills/{skill}")),
    Case("POST", "/api/v1/skills", "admin", p("/api/v1/skills"), lambda w: {"name": "fresh-skill"}),
    Case("PATCH", "/api/v1/skills/{skill_id:int}", "admin", p("/api/v1/skills/{skill}"), lambda w: {"name": "renamed-skill"}),
    Case("DELETE", "/api/v1/skills/{skill_id:int}", "admin", p("/api/v1/skills/{skill}")),
    Case("PUT", "/api/v1/agents/{agent_id:int}/skills", "admin", p("/api/v1/agents/{other_agent}/skills"), lambda w: [{"skill_id": w.ids["skill"], "level": 3}]),
    Case("PUT", "/api/v1/agents/me/presence", "agent", p("/api/v1/agents/me/presence"), lambda w: {"status": "away"}),
    Case("GET", "/api/v1/inboxes", "agent", p("/api/v1/inboxes")),
    Case("GET", "/api/v1/inboxes/{inbox_id:int}", "agent", p("/api/v1/inboxes/{inbox}")),
    Case("POST", "/api/v1/inboxes", "admin", p("/api/v1/inboxes"), lambda w: {"name": "API", "channel": "api", "settings": {}}),
    Case("POST", "/api/v1/inboxes/connection-test", "admin", p("/api/v1/inboxes/connection-test"), lambda w: {"channel": "api", "settings": {}}),
    Case("PATCH", "/api/v1/inboxes/{inbox_id:int}", "admin", p("/api/v1/inboxes/{inbox}"), lambda w: {"name": "Renamed"}),
    Case("DELETE", "/api/v1/inboxes/{inbox_id:int}", "admin", p("/api/v1/inboxes/{inbox}")),
    Case("GET", "/api/v1/inboxes/{inbox_id:int}/emails", "admin", p("/api/v1/inboxes/{inbox}/emails")),
    Case("GET", "/api/v1/inboxes/{inbox_id:int}/emails/{email_id:int}/raw", "admin", p("/api/v1/inboxes/{inbox}/emails/{email}/raw")),
    Case("POST", "/api/v1/inboxes/{inbox_id:int}/emails/{email_id:int}/retry", "admin", p("/api/v1/inboxes/{inbox}/emails/{email}/retry")),
    Case("GET", "/api/v1/inboxes/{inbox_id:int}/inbound", "admin", p("/api/v1/inboxes/{inbox}/inbound")),
    Case("GET", "/api/v1/inboxes/{inbox_id:int}/inbound/{item_id:int}/raw", "admin", p("/api/v1/inboxes/{inbox}/inbound/{email}/raw")),
    Case("POST", "/api/v1/inboxes/{inbox_id:int}/inbound/{item_id:int}/retry", "admin", p("/api/v1/inboxes/{inbox}/inbound/{email}/retry")),
    Case("GET", "/api/v1/outbox/dead-letters", "admin", p("/api/v1/outbox/dead-letters")),
    Case("POST", "/api/v1/outbox/dead-letters/{event_id:int}/retry", "admin", p("/api/v1/outbox/dead-letters/{dead_letter}/retry")),
    Case("GET", "/api/v1/accounts", "agent", p("/api/v1/accounts")),
    Case("GET", "/api/v1/accounts/{account_id:int}", "agent", p("/api/v1/accounts/{account}")),
    Case("GET", "/api/v1/accounts/{account_id:int}/contacts", "agent", p("/api/v1/accounts/{account}/contacts")),
    Case("POST", "/api/v1/accounts", "agent", p("/api/v1/accounts"), lambda w: {"name": "Initech"}),
    Case("PATCH", "/api/v1/accounts/{account_id:int}", "agent", p("/api/v1/accounts/{account}"), lambda w: {"name": "Acme 2"}),
    Case("DELETE", "/api/v1/accounts/{account_id:int}", "supervisor", p("/api/v1/accounts/{account}")),
    Case("GET", "/api/v1/contacts", "agent", p("/api/v1/contacts")),
    Case("GET", "/api/v1/contacts/{contact_id:int}", "agent", p("/api/v1/contacts/{lonely_contact}")),
    Case("POST", "/api/v1/contacts", "agent", p("/api/v1/contacts"), lambda w: {"name": "Neo", "email": "neo@customer.test"}),
    Case("PATCH", "/api/v1/contacts/{contact_id:int}", "agent", p("/api/v1/contacts/{lonely_contact}"), lambda w: {"name": "Renamed"}),
    Case("DELETE", "/api/v1/contacts/{contact_id:int}", "supervisor", p("/api/v1/contacts/{lonely_contact}")),
    Case("POST", "/api/v1/contacts/{contact_id:int}/merge", "supervisor", p("/api/v1/contacts/{lonely_contact}/merge"), lambda w: {"into_id": w.ids["other_contact"]}),
    Case("GET", "/api/v1/contacts/{contact_id:int}/tickets", "agent", p("/api/v1/contacts/{other_contact}/tickets")),
    Case("POST", "/api/v1/attachments", "agent", p("/api/v1/attachments"), multipart=True),
    Case("GET", "/api/v1/attachments/{attachment_id:int}", "agent", p("/api/v1/attachments/{attachment}")),
    Case("GET", "/api/v1/tickets", "agent", p("/api/v1/tickets")),
    Case("POST", "/api/v1/tickets", "agent", p("/api/v1/tickets"), lambda w: NEW_TICKET),
    Case("GET", "/api/v1/tickets/{ticket_id:int}", "agent", p("/api/v1/tickets/{ticket}")),
    Case("GET", "/api/v1/tickets/{ticket_id:int}/events", "agent", p("/api/v1/tickets/{ticket}/events")),
    Case("GET", "/api/v1/tickets/{ticket_id:int}/routing", "agent", p("/api/v1/tickets/{ticket}/routing")),
    Case("PATCH", "/api/v1/tickets/{ticket_id:int}", "agent", p("/api/v1/tickets/{ticket}"), lambda w: {"priority": "low"}),
    Case("POST", "/api/v1/tickets/{ticket_id:int}/messages", "agent", p("/api/v1/tickets/{ticket}/messages"), lambda w: {"body": "hi", "internal": True}),
    Case("POST", "/api/v1/tickets/{ticket_id:int}/messages/{message_id:int}/retry", "agent", p("/api/v1/tickets/{ticket}/messages/{note}/retry")),
    Case("POST", "/api/v1/tickets/{ticket_id:int}/merge", "agent", p("/api/v1/tickets/{ticket}/merge"), lambda w: {"into_id": w.ids["second_ticket"]}),
    Case("POST", "/api/v1/tickets/bulk", "agent", p("/api/v1/tickets/bulk"), lambda w: {"ids": [w.ids["ticket"]], "changes": {"priority": "low"}}),
    Case("GET", "/api/v1/views", "agent", p("/api/v1/views")),
    Case("POST", "/api/v1/views", "agent", p("/api/v1/views"), lambda w: {"name": "Mine urgent", "filters": {"assignee": "me"}}),
    Case("GET", "/api/v1/views/{key:str}/tickets", "agent", p("/api/v1/views/mine/tickets")),
    # Each role changes a personal view of its own.
    Case("PATCH", "/api/v1/views/{view_id:int}", "agent", lambda w, role: f"/api/v1/views/{w.ids['views'][role]}", lambda w: {"name": "Renamed"}),
    Case("DELETE", "/api/v1/views/{view_id:int}", "agent", lambda w, role: f"/api/v1/views/{w.ids['views'][role]}"),
    Case("GET", "/api/v1/canned-replies", "agent", p("/api/v1/canned-replies")),
    Case("POST", "/api/v1/canned-replies", "agent", p("/api/v1/canned-replies"), lambda w: {"name": "Hi", "body": "Hi {{contact.first_name}}"}),
    Case("PATCH", "/api/v1/canned-replies/{reply_id:int}", "agent", lambda w, role: f"/api/v1/canned-replies/{w.ids['canned'][role]}", lambda w: {"name": "Renamed"}),
    Case("DELETE", "/api/v1/canned-replies/{reply_id:int}", "agent", lambda w, role: f"/api/v1/canned-replies/{w.ids['canned'][role]}"),
    Case("GET", "/api/v1/canned-replies/{reply_id:int}/render", "agent", lambda w, role: f"/api/v1/canned-replies/{w.ids['canned'][role]}/render?ticket_id={w.ids['ticket']}"),
    Case("GET", "/api/v1/routing/queue", "supervisor", p("/api/v1/routing/queue")),
    Case("GET", "/api/v1/routing/queues", "supervisor", p("/api/v1/routing/queues")),
    Case("POST", "/api/v1/routing/queues", "admin", p("/api/v1/routing/queues"), lambda w: {"inbox_id": w.ids["inbox"], "offer_timeout_seconds": 30}),
    Case("PATCH", "/api/v1/routing/queues/{queue_id:int}", "admin", p("/api/v1/routing/queues/{routing_queue}"), lambda w: {"strategy": "round_robin"}),
    Case("DELETE", "/api/v1/routing/queues/{queue_id:int}", "admin", p("/api/v1/routing/queues/{routing_queue}")),
    Case("GET", "/api/v1/routing/settings", "supervisor", p("/api/v1/routing/settings")),
    Case("PATCH", "/api/v1/routing/settings", "admin", p("/api/v1/routing/settings"), lambda w: {"offline_grace_seconds": 60}),
    Case("GET", "/api/v1/routing/rules", "supervisor", p("/api/v1/routing/rules")),
    Case("POST", "/api/v1/routing/rules", "admin", p("/api/v1/routing/rules"), lambda w: {"skills": [{"skill_id": w.ids["skill"], "min_level": 2}], "keywords": ["refund"]}),
    Case("PATCH", "/api/v1/routing/rules/{rule_id:int}", "admin", p("/api/v1/routing/rules/{skill_rule}"), lambda w: {"keywords": ["invoice"]}),
    Case("DELETE", "/api/v1/routing/rules/{rule_id:int}", "admin", p("/api/v1/routing/rules/{skill_rule}")),
    Case("GET", "/api/v1/sla/calendars", "supervisor", p("/api/v1/sla/calendars")),
    Case("POST", "/api/v1/sla/calendars", "admin", p("/api/v1/sla/calendars"), lambda w: {"name": "Office", "time_zone": "UTC", "hours": {"mon": [["09:00", "17:00"]]}}),
    Case("GET", "/api/v1/sla/calendars/{calendar_id:int}", "supervisor", p("/api/v1/sla/calendars/{sla_calendar}")),
    Case("PATCH", "/api/v1/sla/calendars/{calendar_id:int}", "admin", p("/api/v1/sla/calendars/{sla_calendar}"), lambda w: {"time_zone": "Europe/Paris"}),
    Case("DELETE", "/api/v1/sla/calendars/{calendar_id:int}", "admin", p("/api/v1/sla/calendars/{sla_calendar}")),
    Case("GET", "/api/v1/sla/policies", "supervisor", p("/api/v1/sla/policies")),
    Case("POST", "/api/v1/sla/policies", "admin", p("/api/v1/sla/policies"), lambda w: {"name": "Another", "targets": [{"metric": "resolution", "priority": "low", "minutes": 60}]}),
    Case("GET", "/api/v1/sla/policies/{policy_id:int}", "supervisor", p("/api/v1/sla/policies/{sla_policy}")),
    Case("PATCH", "/api/v1/sla/policies/{policy_id:int}", "admin", p("/api/v1/sla/policies/{sla_policy}"), lambda w: {"warning_fraction": 0.5}),
    Case("DELETE", "/api/v1/sla/policies/{policy_id:int}", "admin", p("/api/v1/sla/policies/{sla_policy}")),
    Case("PUT", "/api/v1/sla/tickets/{ticket_id:int}/due", "supervisor", p("/api/v1/sla/tickets/{ticket}/due"), lambda w: {"metric": "first_response", "due_at": "2030-01-01T00:00:00Z"}),
    Case("GET", "/api/v1/sla/breaches", "agent", p("/api/v1/sla/breaches")),
    Case("GET", "/api/v1/sla/at-risk", "agent", p("/api/v1/sla/at-risk")),
    Case("GET", "/api/v1/reports/sla", "supervisor", p("/api/v1/reports/sla?since=2026-01-01T00:00:00Z&until=2027-01-01T00:00:00Z")),
    Case("GET", "/api/v1/reports/sla.csv", "supervisor", p("/api/v1/reports/sla.csv?since=2026-01-01T00:00:00Z&until=2027-01-01T00:00:00Z")),
    Case("GET", "/api/v1/macros", "agent", p("/api/v1/macros")),
    Case("POST", "/api/v1/macros", "agent", p("/api/v1/macros"), lambda w: {"name": "Low", "actions": {"priority": "low"}}),
    Case("PATCH", "/api/v1/macros/{macro_id:int}", "agent", lambda w, role: f"/api/v1/macros/{w.ids['macros'][role]}", lambda w: {"name": "Renamed"}),
    Case("DELETE", "/api/v1/macros/{macro_id:int}", "agent", lambda w, role: f"/api/v1/macros/{w.ids['macros'][role]}"),
    Case("POST", "/api/v1/macros/{macro_id:int}/apply", "agent", lambda w, role: f"/api/v1/macros/{w.ids['macros'][role]}/apply", lambda w: {"ticket_id": w.ids["ticket"]}),
]  # fmt: skip


async def _world(client: AsyncClient, db_session: AsyncSession) -> World:
    team = await make_team(db_session)
    agents = {
        "agent": await make_agent(db_session, role="agent", team_ids=[team.id]),
        "supervisor": await make_agent(db_session, role="supervisor"),
        "admin": await make_agent(db_session, role="admin"),
    }
    tokens, token_ids = {}, {}
    for role, agent in agents.items():
        token, raw = await do_create_token(
            db_session,
            agent_id=agent.id,
            kind="personal",
            name="m",
            scopes=("read", "write"),
            expires_at=datetime.now(UTC) + timedelta(days=365),
        )
        tokens[role], token_ids[role] = raw, token.id
    other = await make_agent(db_session)
    other_token, _ = await do_create_token(
        db_session,
        agent_id=other.id,
        kind="personal",
        name="other",
        scopes=("read",),
        expires_at=datetime.now(UTC) + timedelta(days=365),
    )
    account = Account(name="Acme", domains=["acme.test"])
    inbox = Inbox(name="Mail", channel="api", settings={})
    chat = Inbox(name="Chat", channel="chat", settings={"allowed_origins": ["*"]})
    db_session.add_all([account, inbox, chat])
    await db_session.flush()
    visitor = ChatVisitor(inbox_id=chat.id)
    db_session.add(visitor)
    await db_session.flush()
    email = InboundItem(
        inbox_id=inbox.id,
        channel="email",
        delivery_key="1:1",
        external_id="<m@x>",
        content_type="message/rfc822",
        meta={"uidvalidity": 1, "uid": 1},
        raw_compressed=compress(b"Subject: x\r\n\r\nbody"),
        size=20,
        status="failed",
        error="could not parse",
    )
    dead_letter = OutboxEvent(
        topic="ticket.updated", payload={}, attempts=8, dead_at=datetime.now(UTC)
    )
    db_session.add_all([email, dead_letter])
    lonely, _ = await resolve_contact(db_session, [Identity.of("email", "lonely@customer.test")])
    sla_calendar = SlaCalendar(
        name=f"Matrix hours {uuid4().hex}",
        time_zone="UTC",
        hours={"mon": [["09:00", "17:00"]]},
        holidays=[],
        exceptions=[],
    )
    db_session.add(sla_calendar)
    await db_session.flush()
    sla_policy = SlaPolicy(
        name=f"Matrix SLA {uuid4().hex}",
        calendar_id=sla_calendar.id,
        conditions={},
        pauses={},
        actions={},
        targets=[{"metric": "first_response", "priority": "normal", "minutes": 60}],
    )
    db_session.add(sla_policy)
    routing_queue = RoutingQueue(team_id=(await make_team(db_session)).id)
    skill_rule = SkillRule(skills=[{"skill_id": (await make_skill(db_session)).id, "min_level": 1}])
    db_session.add_all([routing_queue, skill_rule])
    await db_session.flush()
    agent_headers = {"Authorization": f"Bearer {tokens['agent']}"}
    tickets = [
        (
            await client.post(
                "/api/v1/tickets", json={**NEW_TICKET, "team_id": team.id}, headers=agent_headers
            )
        ).json()
        for _ in range(2)
    ]
    upload = (
        await client.post(
            "/api/v1/attachments",
            files={"file": ("a.txt", b"a", "text/plain")},
            headers=agent_headers,
        )
    ).json()
    note = await client.post(
        f"/api/v1/tickets/{tickets[0]['id']}/messages",
        json={"body": "file", "internal": True, "attachment_ids": [upload["id"]]},
        headers=agent_headers,
    )
    views = {
        role: (
            await client.post(
                "/api/v1/views",
                json={"name": f"{role}'s", "filters": {}},
                headers={"Authorization": f"Bearer {tokens[role]}"},
            )
        ).json()["id"]
        for role in ROLES
    }
    kept: dict[str, dict[str, int]] = {"canned": {}, "macros": {}}
    for role in ROLES:
        as_role = {"Authorization": f"Bearer {tokens[role]}"}
        canned = {"name": "Thanks", "body": "Thanks, {{contact.first_name}}"}
        macro = {"name": "Urgent", "actions": {"priority": "urgent"}}
        kept["canned"][role] = (
            await client.post("/api/v1/canned-replies", json=canned, headers=as_role)
        ).json()["id"]
        kept["macros"][role] = (
            await client.post("/api/v1/macros", json=macro, headers=as_role)
        ).json()["id"]
    ids = {
        **kept,
        "views": views,
        "team": team.id,
        "spare_team": (await make_team(db_session)).id,
        "skill": (await make_skill(db_session)).id,
        "other_agent": other.id,
        "other_token": other_token.id,
        "account": account.id,
        "inbox": inbox.id,
        "lonely_contact": lonely.id,
        "other_contact": tickets[0]["contact_id"],
        "ticket": tickets[0]["id"],
        "second_ticket": tickets[1]["id"],
        "attachment": upload["id"],
        "note": note.json()["id"],
        "email": email.id,
        "dead_letter": dead_letter.id,
        "sla_calendar": sla_calendar.id,
        "sla_policy": sla_policy.id,
        "routing_queue": routing_queue.id,
        "skill_rule": skill_rule.id,
        "inbox_key": inbox.public_key,
        "visitor_token": visitor_token(SECRET_KEY, visitor.key),
    }
    return World(agents, tokens, token_ids, ids)


async def _call(client: AsyncClient, case: Case, world: World, role: str | None) -> int:
    headers = {"Authorization": f"Bearer {world.tokens[role]}"} if role else {}
    path = case.path(world, role or "agent")
    if case.multipart:
        response = await client.request(
            case.method, path, files={"file": ("b.txt", b"b", "text/plain")}, headers=headers
        )
    else:
        body = case.body(world) if case.body else None
        response = await client.request(case.method, path, json=body, headers=headers)
    assert response.status_code < 500, f"{case.method} {path} as {role}: {response.text}"
    return response.status_code


def test_every_route_is_in_the_matrix(app: Litestar) -> None:
    routes = {
        (method, route.path)
        for route in app.routes
        if not route.path.startswith("/schema")
        for method in getattr(route, "methods", ())
        if method not in {"HEAD", "OPTIONS"}
    }
    assert routes == {(c.method, c.route) for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.route}")
async def test_roles(client: AsyncClient, db_session: AsyncSession, case: Case) -> None:
    world = await _world(client, db_session)
    if case.needs != "public":
        assert await _call(client, case, world, None) == 401
    for role in ROLES:
        status = await _call(client, case, world, role)
        if RANK[role] >= RANK[case.needs]:
            assert status not in {401, 403}, (
                f"{role} should be allowed {case.method} {case.route}: {status}"
            )
        else:
            assert status == 403, f"{role} should be refused {case.method} {case.route}: {status}"
        if case.method == "DELETE" or case.route.endswith(("/merge", "/logout")):
            world = await _world(client, db_session)  # the call used up what it acted on


HOSTILE_BODIES: list[Any] = [
    [],
    "text",
    123,
    None,
    {"unknown": 1},
    {"name": "\u0000nul", "email": "a\u0000@b.test", "subject": "\u0000", "body": "\u0000"},
    {"name": 2**70, "into_id": 2**70, "ids": [2**70], "priority": ["x"], "assignee_id": -1},
    {
        "name": {"deep": [[[[[[[[[[{}]]]]]]]]]]},
        "tags": ["a b", "", "x" * 10_000],
        "custom_fields": {"k": [1] * 1000},
    },
    {"email": "not an email", "password": "", "role": "root", "channel": "pigeon", "settings": [1]},
]
HOSTILE_PATH_IDS = ["0", "-1", str(2**63), str(2**70), "abc", "1.5"]
HOSTILE_QUERIES = [
    {"limit": "abc"}, {"limit": "100000"}, {"cursor": "\u0000"}, {"cursor": "aWQ6LTE"},
    {"status": "gone"}, {"created_after": "yesterday"}, {"assignee_id": "99999999999999999999"},
    {"team_id": str(2**70)}, {"q": "\u0000"}, {"tag": "x" * 5000},
]  # fmt: skip


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.method != "GET"], ids=lambda c: f"{c.method} {c.route}"
)
async def test_hostile_bodies_never_cause_a_500(
    client: AsyncClient, db_session: AsyncSession, case: Case
) -> None:
    world = await _world(client, db_session)
    headers = {"Authorization": f"Bearer {world.tokens['admin']}"}
    path = case.path(world, "admin")
    for body in HOSTILE_BODIES:
        response = await client.request(case.method, path, json=body, headers=headers)
        assert response.status_code < 500, f"{case.method} {path} {body!r:.80}: {response.text}"
    raw = await client.request(
        case.method,
        path,
        content=b"{broken",
        headers={**headers, "content-type": "application/json"},
    )
    assert raw.status_code < 500


async def test_hostile_ids_and_queries_never_cause_a_500(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    world = await _world(client, db_session)
    headers = {"Authorization": f"Bearer {world.tokens['admin']}"}
    for case in CASES:
        if "{" in case.route:
            for bad in HOSTILE_PATH_IDS:
                path = case.route.split("{")[0] + bad + case.route.split("}", 1)[1]
                response = await client.request(case.method, path, json={}, headers=headers)
                assert response.status_code < 500, f"{case.method} {path}: {response.text}"
        elif case.method == "GET":
            for query in HOSTILE_QUERIES:
                response = await client.get(case.route, params=query, headers=headers)
                assert response.status_code < 500, f"GET {case.route} {query}: {response.text}"
