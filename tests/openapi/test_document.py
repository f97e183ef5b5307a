"""What the OpenAPI document declares, read without a server: the problem documents of
every route, who needs a token, the constraints on input, and answers without a body."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from litestar import Litestar

from app.errors import PROBLEM_JSON

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def document(app: Litestar) -> dict[str, Any]:
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    return schema


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_route_declares_its_errors_as_problem_documents(document: dict[str, Any]) -> None:
    problem = {"$ref": "#/components/schemas/Problem"}
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        errors = {status for status in responses if status.startswith(("4", "5"))}
        assert "400" in errors, f"{method} {path}"
        for status in errors - {"503"} if path == "/readyz" else errors:
            content = responses[status]["content"]
            assert content == {PROBLEM_JSON: {"schema": problem}}, f"{method} {path} {status}"
        if operation.get("security"):
            assert {"401", "403"} <= errors, f"{method} {path}"
        if "{" in path:
            assert "404" in errors, f"{method} {path}"
        if "requestBody" in operation:
            assert {"413", "422"} <= errors, f"{method} {path}"
    assert set(document["components"]["schemas"]["Problem"]["required"]) == {
        "type",
        "title",
        "status",
        "detail",
        "code",
    }


def test_only_routes_for_signed_in_callers_need_a_token(document: dict[str, Any]) -> None:
    assert "security" not in document  # no blanket requirement the public routes inherit
    # The chat widget's visitors carry no agent token (their session is their credential).
    public = {
        (method, path)
        for method, path, operation in _operations(document)
        if not operation.get("security") and not path.startswith("/api/v1/widget/")
    }
    assert public == {
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/session"),
        ("GET", "/webhooks/{channel}/{public_key}"),
        ("POST", "/webhooks/{channel}/{public_key}"),
    }
    me = document["paths"]["/api/v1/auth/me"]["get"]
    assert me["security"] == [{"bearer": []}]


def test_a_204_is_declared_without_a_body(document: dict[str, Any]) -> None:
    logout = document["paths"]["/api/v1/auth/logout"]["post"]["responses"]
    assert "content" not in logout["204"]
    no_content = [
        (method, path)
        for method, path, operation in _operations(document)
        if "204" in operation["responses"] and "content" in operation["responses"]["204"]
    ]
    assert no_content == []


def test_input_constraints_are_declared(document: dict[str, Any]) -> None:
    tickets = {
        p["name"]: p["schema"] for p in document["paths"]["/api/v1/tickets"]["get"]["parameters"]
    }
    limit = tickets["limit"]
    assert (limit["minimum"], limit["maximum"]) == (1, 200)
    assert "pattern" in str(tickets["cursor"])
    assert "pattern" in str(tickets["updated_before"])
    # Request bodies refuse unknown fields, and say so.
    schemas = document["components"]["schemas"]
    for name in ("TicketCreate", "LoginIn", "AgentUpdate", "MessageCreate"):
        assert schemas[name]["additionalProperties"] is False, name
    assert "additionalProperties" not in schemas["TicketOut"]


async def test_options_lists_every_method_of_the_route(client: AsyncClient) -> None:
    for path, methods in (
        ("/api/v1/tickets", "GET, OPTIONS, POST"),
        ("/api/v1/agents", "GET, OPTIONS, POST"),
        ("/api/v1/tickets/1", "GET, OPTIONS, PATCH"),
    ):
        response = await client.options(path)
        assert response.status_code == 204
        assert response.headers["allow"] == methods, path
