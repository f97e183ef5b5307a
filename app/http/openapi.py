"""What the OpenAPI document declares beyond what Litestar infers: the problem documents
every route may answer, who needs a token, and that request bodies take no unknown fields.

`document_routes(app)` runs once the app is built and declares, for every route in the
schema, the errors the shared machinery produces, from what the handler takes:

- every route: 400 (a malformed request: bad JSON, a query or path parameter breaking its
  constraints), and 422 where it takes parameters or a body;
- a handler that takes `actor` (signed-in callers): the bearer scheme, 401 and 403;
- a path parameter: 404; a request body: 413 (over the body limit) and 422;
- a write (POST, PUT, PATCH, DELETE): 409, as any may collide with existing data;
- a 204: no body.

A route adds what only it answers with `responses=problem_responses(409, 429)`; a
status it declares itself is never replaced. All problems are `application/problem+json`
documents of the `Problem` schema.
"""

from __future__ import annotations

import inspect
from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Schema
from litestar.plugins import OpenAPISchemaPlugin
from litestar.routes import HTTPRoute
from litestar.typing import FieldDefinition

from app.errors import PROBLEM_JSON
from app.schemas import Input, Output

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
DESCRIPTIONS = {
    400: "The request is malformed: unreadable JSON, or a parameter breaking its constraints",
    401: "No valid credentials: sign in, or send an Authorization: Bearer token",
    403: "The caller's role or token scope does not allow this",
    404: "No such resource, or one the caller may not see",
    409: "The change conflicts with the resource's current state or with existing data",
    413: "The request body is larger than this route accepts",
    415: "The request body's media type is not one this route accepts",
    422: "The request is well-formed but breaks a rule; `errors` names each field",
    429: "Too many attempts; `Retry-After` says when to try again",
    503: "Something this request needs is unavailable; try again later",
}


class ProblemField(Output):
    field: str
    message: str


class Problem(Output):
    """An RFC 9457 problem document, as app.errors answers every error."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[ProblemField] | msgspec.UnsetType = msgspec.UNSET


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """Declare problem documents for these statuses (for a route decorator's `responses`)."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=DESCRIPTIONS[status],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in statuses
    }


def _takes(handler: HTTPRouteHandler, name: str) -> bool:
    """Whether the handler takes `name`, itself or through the dependencies it takes."""
    seen: set[str] = set()
    todo = list(handler.parsed_fn_signature.parameters)
    dependencies = handler.resolve_dependencies()
    while todo:
        param = todo.pop()
        if param == name:
            return True
        if param in seen or param not in dependencies:
            continue
        seen.add(param)
        todo.extend(inspect.signature(dependencies[param].dependency).parameters)
    return False


def _inferred_statuses(handler: HTTPRouteHandler, path_params: set[str]) -> set[int]:
    parameters = set(handler.parsed_fn_signature.parameters)
    dependencies = set(handler.resolve_dependencies())
    own = parameters - dependencies - {"request", "state", "scope", "headers", "cookies"}
    statuses = {400}
    if own:
        statuses.add(422)
    if own & path_params:
        statuses.add(404)
    if "data" in parameters:
        statuses |= {413, 422}
    if _takes(handler, "actor"):
        statuses |= {401, 403}
    if handler.http_methods & WRITES:
        statuses.add(409)
    return statuses


def document_routes(app: Litestar) -> None:
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path_params = set(route.path_parameters)
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            declared = dict(handler.responses or {})
            if handler.status_code == 204:
                declared.setdefault(204, ResponseSpec(None, description="Done; no content"))
            for status, spec in problem_responses(
                *_inferred_statuses(handler, path_params)
            ).items():
                declared.setdefault(status, spec)
            handler.responses = declared
            if _takes(handler, "actor") and handler.security is None:
                handler.security = BEARER


class StrictInputSchemaPlugin(OpenAPISchemaPlugin):
    """Request bodies (`app.schemas.Input`) refuse unknown fields; say so in the schema
    (`additionalProperties: false`), which Litestar's own struct schemas leave out."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return not field_definition.is_union and field_definition.is_subclass_of(Input)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        # Litestar's own struct plugin builds the schema; only the flag is added.
        from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin

        schema = StructSchemaPlugin().to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema
