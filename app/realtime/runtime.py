"""What every socket of a node shares (the hub, limits, services), and the loop that
serves one socket: read frames in order, answer each, write through the socket's queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from app.attachments.storage import AttachmentStore
from app.chat.port import ChatChannel
from app.clock import Clock
from app.config import Settings
from app.db.engine import SessionMaker
from app.realtime.frames import FrameError, decode, error_frame
from app.realtime.hub import Hub
from app.realtime.limits import Counter, TokenBuckets
from app.realtime.moments import Moments
from app.realtime.offers import OfferFrames
from app.realtime.presence import leave_node, renew_and_sweep
from app.realtime.receipts import Receipts
from app.realtime.sockets import Socket
from app.routing.events import AnswerOffer
from app.security.crypto import SecretBox

log = logging.getLogger(__name__)

# Close codes (4000-4999 are the application's): the client reconnects after 4408 and
# 1013, and asks for a new session after 4001.
CLOSE_UNAUTHENTICATED = 4001
CLOSE_FORBIDDEN = 4003
CLOSE_IDLE = 4408
CLOSE_TOO_MANY = 4429
CLOSE_TRY_AGAIN = 1013


def server_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves the sockets (`relaydesk serve`, `dev`, the tests' live app).

    uvicorn's implementation on the `websockets` library's sans-I/O protocol (its older
    `websockets` one is deprecated by uvicorn and costs a task per connection). Frames up
    to 1 MiB are read, so one over the protocol's 64 KiB gets a `frame_too_large` error
    frame rather than a dropped connection; uvicorn's pings find dead connections from the
    server's side."""
    heartbeat = settings.realtime.heartbeat_seconds
    return {
        "ws": "websockets-sansio",
        "ws_max_size": 1024 * 1024,
        "ws_ping_interval": heartbeat,
        "ws_ping_timeout": heartbeat,
    }


class WebSocketLike(Protocol):
    """What `serve` needs of Litestar's WebSocket."""

    receive: Callable[..., Awaitable[Any]]

    async def send_text(self, data: str) -> None: ...
    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


@dataclass
class Realtime:
    settings: Settings
    sessionmaker: SessionMaker
    hub: Hub
    chat: ChatChannel
    box: SecretBox
    store: AttachmentStore
    clock: Clock
    # Settles an agent's answer to an offer (routing.answers, wired in by app.main).
    answer_offer: AnswerOffer | None = None
    address_frames: TokenBuckets = field(init=False)
    visitor_messages: TokenBuckets = field(init=False)
    address_sockets: Counter = field(default_factory=Counter)
    moments: Moments = field(init=False)
    receipts: Receipts = field(init=False)
    offers: OfferFrames = field(init=False)

    def __post_init__(self) -> None:
        self.moments = Moments(self.hub, self.sessionmaker)
        self.offers = OfferFrames(self.hub, self.sessionmaker)
        self.receipts = Receipts(self.sessionmaker, self.clock)
        self.hub.receipts = self.receipts
        rate = self.settings.realtime.frames_per_address_per_second
        self.address_frames = TokenBuckets(rate=rate, burst=rate * 5)
        # Each inbox sets its rate (ChatSettings.rate_limit_per_minute) at `take`.
        self.visitor_messages = TokenBuckets(rate=0.5, burst=10)

    @property
    def heartbeat(self) -> float:
        return self.settings.realtime.heartbeat_seconds

    def new_id(self) -> str:
        return f"{self.hub.node}:{uuid.uuid4().hex[:12]}"


FrameHandler = Callable[[dict[str, Any]], Awaitable[None]]


async def serve(realtime: Realtime, ws: WebSocketLike, sock: Socket, handle: FrameHandler) -> None:
    """Until the client leaves, goes silent for two heartbeats, or is disconnected."""
    writer = asyncio.create_task(_write(ws, sock), name=f"realtime:write:{sock.id}")
    try:
        while not sock.closed:
            try:
                async with asyncio.timeout(realtime.heartbeat * 2):
                    message = await ws.receive()
            except TimeoutError:
                sock.send(error_frame("idle", "no frame for two heartbeats; reconnect"))
                sock.close_code = CLOSE_IDLE
                break
            if message.get("type") == "websocket.disconnect":
                break
            await _receive_one(realtime, sock, message, handle)
    finally:
        sock.close()
        with contextlib.suppress(Exception):
            await writer


async def _receive_one(
    realtime: Realtime, sock: Socket, message: dict[str, Any], handle: FrameHandler
) -> None:
    client_id = None
    try:
        if not realtime.address_frames.take(sock.address):
            raise FrameError("rate_limited", "too many frames from this address; slow down")
        text = message.get("text")
        if text is None:
            raise FrameError("bad_frame", "frames are JSON text, not binary")
        frame = decode(text)
        client_id = frame.get("client_id") if isinstance(frame.get("client_id"), str) else None
        await handle(frame)
    except FrameError as exc:
        sock.send(error_frame(exc.code, exc.detail, client_id=exc.client_id or client_id))
    except Exception:  # a bug must not end the socket silently: say so, keep serving
        log.exception("realtime: a %s frame failed", sock.kind)
        sock.send(error_frame("internal", "the frame could not be handled", client_id=client_id))


async def _write(ws: WebSocketLike, sock: Socket) -> None:
    try:
        await sock.write_loop(ws.send_text)
    except Exception as exc:  # the client went away mid-send
        log.debug("realtime: send to %s failed: %s", sock.id, exc)
    finally:
        sock.close()
        with contextlib.suppress(Exception):
            await ws.close(code=sock.close_code)


def realtime_loops(realtime: Realtime) -> dict[str, Callable[[], Coroutine[Any, Any, None]]]:
    """The node's long-running realtime tasks, by the name the supervisor reports: the
    hub's dispatcher, its Redis subscriber, the renewal of its agents' presence, the
    recording of agents' receipts of visitors' messages. Each may
    be restarted on its own (the hub's state lives in the Hub, not in the loops)."""
    hub = realtime.hub
    return {
        "realtime-dispatch": hub.dispatch_forever,
        "realtime-redis": hub.listen_forever,
        "realtime-presence": lambda: renew_presence(realtime),
        "realtime-receipts": realtime.receipts.record_forever,
    }


async def renew_presence(realtime: Realtime) -> None:
    stale_after = timedelta(seconds=realtime.heartbeat * 3)
    while True:
        await asyncio.sleep(realtime.heartbeat)
        try:
            async with realtime.sessionmaker() as session, session.begin():
                await renew_and_sweep(
                    session, node=realtime.hub.node, now=realtime.clock(), stale_after=stale_after
                )
        except Exception:  # the database is away: try again next heartbeat
            log.exception("realtime: presence renewal failed")


async def leave(realtime: Realtime) -> None:
    """The node stops: its agents' sockets are gone."""
    try:
        async with realtime.sessionmaker() as session, session.begin():
            await leave_node(session, node=realtime.hub.node, now=realtime.clock())
    except Exception:  # the rows go stale and another node sweeps them
        log.exception("realtime: could not remove this node's agent connections")
