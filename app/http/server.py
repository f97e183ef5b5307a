"""How uvicorn serves the app: a deadline for each request's headers and a connection cap.

uvicorn holds a connection for as long as bytes trickle in: its keep-alive timer restarts
on every byte and a new connection has no timer at all, so a thousand clients sending one
header byte a second hold a thousand connections forever. `GuardedHttpProtocol` is
uvicorn's httptools protocol with two additions: the request line and headers must be
complete within `header_timeout_seconds` of the connection (or of the first byte of the
next request on a kept-alive one), and a process with `max_connections` open connections
answers a new one with a 503 and closes it. Every entry point builds its uvicorn config
with `uvicorn_options`, so `relaydesk serve`, `relaydesk dev` and the tests' live server
behave alike.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
from typing import Any, ClassVar

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from app.config import HttpSettings

log = logging.getLogger(__name__)

REFUSAL_WARNING_INTERVAL_SECONDS = 60.0
_REFUSAL_BODY = json.dumps(
    {
        "type": "https://relaydesk.dev/problems/unavailable",
        "title": "Service unavailable",
        "status": 503,
        "detail": "this server has as many connections open as it takes; try again shortly",
        "code": "unavailable",
    }
).encode()
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"content-type: application/problem+json\r\n"
    b"content-length: " + str(len(_REFUSAL_BODY)).encode() + b"\r\n"
    b"retry-after: 1\r\n"
    b"connection: close\r\n\r\n" + _REFUSAL_BODY
)


class GuardedHttpProtocol(HttpToolsProtocol):
    _last_refusal_warning: ClassVar[float] = -math.inf

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        header_timeout: float,
        max_connections: int,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_timeout = header_timeout
        self.max_connections = max_connections
        self.refused = False
        self.header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # Websockets upgraded from this protocol stay in `connections`, so they count too.
        if len(self.connections) >= self.max_connections:
            self.refused = True
            self._warn_refusal()
            transport.write(REFUSAL)
            transport.close()
            return
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.refused:
            return  # never set up, never counted
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self.refused:
            super().data_received(data)

    def on_message_begin(self) -> None:
        # The first byte of the next request on a kept-alive connection starts its clock;
        # the first request's clock started with the connection.
        super().on_message_begin()
        if self.header_deadline is None:
            self._arm_header_deadline()

    def on_headers_complete(self) -> None:
        self._cancel_header_deadline()
        super().on_headers_complete()

    def _arm_header_deadline(self) -> None:
        self.header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_header_deadline(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def _headers_too_slow(self) -> None:
        self.header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def _warn_refusal(self) -> None:
        now = self.loop.time()
        cls = GuardedHttpProtocol
        if now - cls._last_refusal_warning >= REFUSAL_WARNING_INTERVAL_SECONDS:
            cls._last_refusal_warning = now
            log.warning(
                "refusing connections: %d are open, the most RELAYDESK_MAX_CONNECTIONS allows",
                len(self.connections),
            )


def uvicorn_options(settings: HttpSettings) -> dict[str, Any]:
    """The uvicorn settings every entry point serves the app with. The protocol is given
    as a partial of a module-level class, so `--workers` can pickle it to each process."""
    protocol = functools.partial(
        GuardedHttpProtocol,
        header_timeout=settings.header_timeout_seconds,
        max_connections=settings.max_connections,
    )
    # proxy_headers=False: uvicorn would trust X-Forwarded-For from 127.0.0.1 by default;
    # create_app honours it only from RELAYDESK_TRUSTED_PROXIES.
    return {"http": protocol, "proxy_headers": False}
