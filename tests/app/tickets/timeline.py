"""A client's view of a ticket, kept up to date from its events the way the console does.

`read_state` is a fresh read over the API; `apply_events` moves an older state forward by
the events after its seq. Zulip's rule: the two must agree after every operation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from httpx import AsyncClient

from app.tickets.lifecycle import STATE_FIELDS

DATETIME_FIELDS = {"first_responded_at", "solved_at", "closed_at"}


def _normal(field: str, value: Any) -> Any:
    if field in DATETIME_FIELDS and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def ticket_fields(raw: dict[str, Any]) -> dict[str, Any]:
    return {f: _normal(f, raw.get(f)) for f in STATE_FIELDS}


async def read_state(
    client: AsyncClient, ticket_id: int, headers: dict[str, str]
) -> dict[str, Any]:
    response = await client.get(f"/api/v1/tickets/{ticket_id}", headers=headers)
    assert response.status_code == 200, response.text
    detail = response.json()
    return {
        "id": ticket_id,
        "seq": detail["last_seq"],
        "ticket": ticket_fields(detail),
        "messages": {m["id"]: m["status"] for m in detail["messages"]},
    }


async def events_after(
    client: AsyncClient, ticket_id: int, since: int, headers: dict[str, str]
) -> list[dict[str, Any]]:
    """Every event after `since`, paging with `next_since` as a client would."""
    events: list[dict[str, Any]] = []
    while True:
        response = await client.get(
            f"/api/v1/tickets/{ticket_id}/events",
            params={"since": since, "limit": 2},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        page = response.json()
        if not page["items"]:
            assert page["next_since"] == since
            return events
        events += page["items"]
        since = page["next_since"]


def apply_events(state: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    state = {**state, "ticket": dict(state["ticket"]), "messages": dict(state["messages"])}
    for event in events:
        assert event["seq"] == state["seq"] + 1, "events come in seq order, without gaps"
        data = event["data"]
        if event["type"] == "ticket.created":
            state["ticket"] = ticket_fields(data["ticket"])
        if event["type"] in {"message.created", "message.moved", "message.status_changed"}:
            state["messages"][data["message_id"]] = data["status"]
        if event["type"] == "ticket.merged" and data["source_id"] == state["id"]:
            state["messages"] = {}
        for field, change in data.get("changes", {}).items():
            state["ticket"][field] = _normal(field, change["to"])
        state["seq"] = event["seq"]
    return state


async def assert_events_replay(
    client: AsyncClient, before: dict[str, Any], headers: dict[str, str]
) -> list[dict[str, Any]]:
    """The state after the events since `before` equals a fresh read; returns the events."""
    events = await events_after(client, before["id"], before["seq"], headers)
    fresh = await read_state(client, before["id"], headers)
    assert apply_events(before, events) == fresh
    return events


EMPTY = {"seq": 0, "ticket": {}, "messages": {}}
