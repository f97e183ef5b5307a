"""The real app served by uvicorn on a free loopback port, as a browser reaches it.

It runs in a thread with its own event loop (so it builds its own engine and Redis client
in its lifespan, like `relaydesk serve`), inside the test process, which has already paid
for importing the app and blocks outbound network for it too.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from litestar import Litestar

from app.http.server import uvicorn_options
from app.realtime.runtime import server_options

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


class LiveAppError(RuntimeError):
    pass


@contextmanager
def live_app(app: Litestar) -> Iterator[str]:
    """Yields the server's base URL; stops it afterwards, failing if it does not stop."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound here, so no other process can take the port
    port = sock.getsockname()[1]
    # As `relaydesk serve` runs it: no X-Forwarded-For trusted from loopback (app.cli), the
    # header deadline and the connection cap of the app's settings (app.http.server).
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        **server_options(app.state.settings),
        **uvicorn_options(app.state.settings.http),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="live-app", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive():
                raise LiveAppError("the app stopped while starting (see the log above)")
            if time.monotonic() > deadline:
                raise LiveAppError(f"the app did not start within {START_TIMEOUT}s")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT)
        sock.close()
        if thread.is_alive():
            raise LiveAppError(f"the app did not stop within {STOP_TIMEOUT}s")
