"""Domain errors and their one mapping to RFC 9457 problem details.

Services raise these; they carry a stable `code` and no HTTP status. `problem_handlers`
below is the only place that knows how each becomes a response.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # ships neither stubs nor py.typed
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    code = "error"
    title = "Error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflict"


class PermissionDenied(DomainError):
    code = "permission_denied"
    title = "Permission denied"


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    title = "Authentication required"


class TooManyRequests(DomainError):
    code = "too_many_requests"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """Something the request needs is missing on this server (an unbuilt front end)."""

    code = "unavailable"
    title = "Service unavailable"


class ValidationFailed(DomainError):
    code = "validation_failed"
    title = "Validation failed"

    def __init__(self, *errors: FieldError, detail: str | None = None) -> None:
        super().__init__(detail or "; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls(FieldError(field, message))


class InvalidParameter(ValidationFailed):
    """A query or path parameter is malformed: the request itself is wrong (400), where a
    well-formed body that breaks a rule is a 422."""


_STATUS = {
    InvalidParameter: 400,
    NotFound: 404,
    Conflict: 409,
    PermissionDenied: 403,
    NotAuthenticated: 401,
    TooManyRequests: 429,
    ValidationFailed: 422,
    Unavailable: 503,
}

# Constraint names (stable thanks to the naming convention) that mean "already exists".
KNOWN_CONFLICTS = {
    "uq_agents_email": "an agent with this email already exists",
    "uq_teams_name": "a team with this name already exists",
    "uq_skills_name": "a skill with this name already exists",
    "uq_contact_identities_kind_value": "this address already belongs to another contact",
    "uq_messages_inbox_id_external_id": "this message is already stored",
}


def conflict_from_integrity_error(exc: IntegrityError) -> DomainError:
    """Turn a constraint violation into the domain error a caller can act on."""
    constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
    if constraint in KNOWN_CONFLICTS:
        return Conflict(KNOWN_CONFLICTS[constraint], code=f"duplicate:{constraint}")
    if constraint and constraint.startswith("fk_"):
        return ValidationFailed(detail=f"a referenced record does not exist ({constraint})")
    return Conflict("the change conflicts with existing data")


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    code: str,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"https://relaydesk.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[dict[str, Any]]:
    status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    if isinstance(exc, NotAuthenticated):
        headers = {"WWW-Authenticate": "Bearer"}
    errors = exc.errors if isinstance(exc, ValidationFailed) else ()
    return problem(status, exc.title, exc.detail, code=exc.code, errors=errors, headers=headers)


_NAMED_FIELD = re.compile(r"(?:required|unknown) field `([^`]+)`")


def _field_of(item: dict[str, Any]) -> str:
    """The dotted path of the offending field, from msgspec's message when it has one."""
    message = str(item.get("message", ""))
    path = message.rsplit(" - at `$", 1)[1].rstrip("`").lstrip(".") if " - at `$" in message else ""
    if named := _NAMED_FIELD.search(message):
        return f"{path}.{named.group(1)}" if path else named.group(1)
    if path:
        return path
    key = item.get("key")
    return str(key) if key and key != "data" else "body"


def _message_of(message: str) -> str:
    message = message.split(" - at `$")[0]
    if "unknown field" in message:
        return "unknown field"
    if "missing required field" in message:
        return "required"
    return message


def _validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    extra = [item for item in exc.extra if isinstance(item, dict)] if exc.extra else []
    errors = [
        FieldError(_field_of(item), _message_of(str(item.get("message", "invalid value"))))
        for item in extra
    ]
    # A body that is a list (`[{...}]`): Litestar keeps no path for `$[0].field`, but
    # msgspec's own error, the cause, has it.
    cause = str(exc.__cause__ or "")
    if len(errors) == 1 and errors[0].field == "body" and " - at `$.data[" in cause:
        path = cause.rsplit(" - at `$.data", 1)[1].rstrip("`")
        errors = [FieldError(path, errors[0].message)]
    detail = exc.detail if not errors else "; ".join(f"{e.field}: {e.message}" for e in errors)
    # Litestar says where each error is: the parameters (query, path, header, cookie) of a
    # malformed request are a 400, as for InvalidParameter; a body breaking its schema 422.
    in_parameters = bool(extra) and all(item.get("source", "body") != "body" for item in extra)
    status = 400 if in_parameters else 422
    return problem(status, "Validation failed", detail, code="validation_failed", errors=errors)


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    code = {
        400: "bad_request",
        401: "not_authenticated",
        403: "permission_denied",
        404: "not_found",
        405: "method_not_allowed",
        413: "request_too_large",
        415: "unsupported_media_type",
        429: "too_many_requests",
    }.get(exc.status_code, "http_error")
    title = code.replace("_", " ").capitalize()
    return problem(exc.status_code, title, str(exc.detail), code=code, headers=exc.headers)


def _integrity_error(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    return _domain_error(request, conflict_from_integrity_error(exc))


def _database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    # PostgreSQL refused a value the schema let through: a NUL byte in text, a number past
    # 64 bits in a path or query. That is the caller's input, not a server fault.
    cause = getattr(exc.orig, "__cause__", None)
    if not isinstance(exc, DataError) and not isinstance(cause, asyncpg.DataError):
        return _unexpected_error(request, exc)
    reason = str(getattr(exc, "orig", exc)).splitlines()[0][:200]
    log.info("rejected input the database cannot store: %s", reason)
    return problem(
        422,
        "Validation failed",
        f"a value cannot be stored: {reason}",
        code="validation_failed",
        errors=[FieldError("body", "contains a value the database cannot store")],
    )


def _unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(500, "Internal error", "an unexpected error occurred", code="internal_error")


problem_handlers: dict[type[Exception] | int, Any] = {
    DomainError: _domain_error,
    ValidationException: _validation_error,
    HTTPException: _http_error,
    IntegrityError: _integrity_error,
    DBAPIError: _database_error,
    Exception: _unexpected_error,
}
