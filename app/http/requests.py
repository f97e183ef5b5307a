"""How requests are read: bodies that cannot be decoded are the client's error, whatever
breaks the decoder, and OPTIONS names every method of the route."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.exceptions import SerializationException
from litestar.routes import HTTPRoute


class JsonSafeRequest(Request[Any, Any, Any]):
    """msgspec reports most malformed JSON as a DecodeError (a 400 from Litestar), but a
    body nested past the interpreter's recursion limit raises RecursionError and invalid
    UTF-8 inside a string UnicodeDecodeError, which would be 500s with a traceback. Both
    are raised while decoding the body and before any handler runs, so they are the
    client's malformed input and become the same 400 as any other."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            raise SerializationException("JSON nested too deeply") from None
        except UnicodeDecodeError as exc:
            raise SerializationException(
                f"JSON is malformed: invalid UTF-8 at byte {exc.start}"
            ) from None


async def answer_options(request: Request[Any, Any, Any]) -> Response[None] | None:
    """An app-wide `before_request`: answer OPTIONS with every method of the route. Litestar's
    own answer lists the methods its route had when it was first registered, so a route
    completed later (a controller's GET "/" and POST "" make one route in two steps) left
    GET out of `Allow`."""
    if request.method != "OPTIONS":
        return None
    template = request.scope.get("path_template")
    for route in request.app.routes:
        if isinstance(route, HTTPRoute) and route.path_format == template:
            allow = ", ".join(sorted(route.methods))
            return Response(
                None, status_code=204, headers={"Allow": allow}, media_type="text/plain"
            )
    return None
