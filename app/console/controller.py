"""Serves the console: the HTML shell for /console and every client-side route under it,
its content-hashed assets, and `/` sending a browser there.

The shell carries the Content-Security-Policy: scripts, styles and connections from this
origin only (plus websockets to this host), no inline script, no eval, never framed.
"""

from __future__ import annotations

import re
from typing import Any

import anyio
from litestar import MediaType, Request, Response, get
from litestar.datastructures import State
from litestar.response import File, Redirect

from app.assets import NO_CACHE, BuiltAssets, hashed_file, not_built

BASE = "/console"
# A Host header we may repeat inside the policy: a name or an IP literal, and a port.
# Anything else (a `;` would add directives) leaves websockets to 'self' alone.
_HOST = re.compile(r"^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")


def content_security_policy(host: str | None) -> str:
    # CSP Level 3 lets 'self' cover ws(s) to the same host, but not every browser in use
    # does; naming the host keeps the console's socket working everywhere.
    sockets = f" ws://{host} wss://{host}" if host and _HOST.match(host) else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self'{sockets}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


@get("/", include_in_schema=False)
async def root() -> Redirect:
    return Redirect(BASE, status_code=302)


@get([BASE, BASE + "/{path:path}"], include_in_schema=False)
async def console_shell(
    request: Request[Any, Any, Any], state: State, path: str | None = None
) -> Response[bytes]:
    """The same shell for every route: the console's router reads the path itself."""
    assets: BuiltAssets = state.assets
    try:
        html = await anyio.Path(assets.console / "index.html").read_bytes()
    except FileNotFoundError:
        raise not_built("console") from None
    return Response(
        html,
        media_type=MediaType.HTML,
        headers={
            "Cache-Control": NO_CACHE,
            "Content-Security-Policy": content_security_policy(request.headers.get("host")),
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
            "Cross-Origin-Opener-Policy": "same-origin",
        },
    )


@get(BASE + "/assets/{name:str}", include_in_schema=False)
async def console_asset(name: str, state: State) -> File:
    assets: BuiltAssets = state.assets
    return await hashed_file(
        assets.console / "assets", name, headers={"Cross-Origin-Resource-Policy": "same-origin"}
    )


CONSOLE_ROUTES = [root, console_shell, console_asset]
