"""The protocol's frames (docs/realtime-protocol.md): reading client frames strictly and
writing server frames once per audience.

A client frame that cannot be read becomes a `FrameError` with the code and the field it
names; the socket answers it with an `error` frame, never silence.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import msgspec

VERSION = 1
MAX_FRAME_BYTES = 64 * 1024
MAX_CLIENT_ID = 64
MAX_BODY = 20_000

_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()


class FrameError(Exception):
    def __init__(self, code: str, detail: str, *, client_id: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.client_id = client_id


def encode(frame: dict[str, Any]) -> str:
    """A server frame as text, carrying the protocol version."""
    return _encoder.encode({**frame, "v": VERSION}).decode()


FrameHandler = Callable[["Fields"], Awaitable[None]]


async def dispatch(
    frame: dict[str, Any],
    handlers: Mapping[str, FrameHandler],
    *,
    send: Callable[[str], None],
    audience: str,
) -> None:
    """Answer a heartbeat here and hand any other client frame to its handler; a type the
    audience may not send is a `FrameError`, never a silent drop."""
    kind = frame["type"]
    if kind == "ping":
        send(encode({"type": "pong"}))
        return
    handler = handlers.get(kind)
    if handler is None:
        raise FrameError("unknown_type", f"type: {kind[:50]!r} is not {audience} frame")
    await handler(Fields(frame))


def error_frame(code: str, detail: str, *, client_id: str | None = None) -> str:
    frame: dict[str, Any] = {"type": "error", "code": code, "detail": detail}
    if client_id is not None:
        frame["client_id"] = client_id
    return encode(frame)


def decode(text: str | bytes) -> dict[str, Any]:
    if len(text) > MAX_FRAME_BYTES:
        raise FrameError("frame_too_large", f"a frame may be at most {MAX_FRAME_BYTES} bytes")
    try:
        frame = _decoder.decode(text)
    except (msgspec.DecodeError, UnicodeDecodeError):
        raise FrameError("bad_frame", "the frame is not JSON") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_frame", "the frame must be a JSON object")
    if not isinstance(frame.get("type"), str):
        raise FrameError("bad_frame", "type: must be a string")
    return frame


class Fields:
    """Typed access to one frame's fields; a wrong type names the field."""

    def __init__(self, frame: dict[str, Any]) -> None:
        self.frame = frame
        client_id = frame.get("client_id")
        self.client_id = client_id if isinstance(client_id, str) else None

    def _fail(self, name: str, message: str) -> FrameError:
        return FrameError("bad_frame", f"{name}: {message}", client_id=self.client_id)

    def client_id_required(self) -> str:
        value = self.frame.get("client_id")
        if not isinstance(value, str) or not 0 < len(value) <= MAX_CLIENT_ID:
            raise self._fail("client_id", f"must be a string of 1-{MAX_CLIENT_ID} characters")
        if not value.isprintable():
            raise self._fail("client_id", "must be printable")
        return value

    def text(self, name: str, *, limit: int = MAX_BODY, required: bool = True) -> str:
        value = self.frame.get(name)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or "\x00" in value:
            raise self._fail(name, "must be a string")
        if len(value) > limit:
            raise FrameError(
                "validation_failed",
                f"{name}: must be at most {limit} characters",
                client_id=self.client_id,
            )
        return value

    def integer(self, name: str, *, required: bool = True, low: int = 0) -> int | None:
        value = self.frame.get(name)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value < 2**63:
            raise self._fail(name, f"must be a whole number of at least {low}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.frame.get(name, default)
        if not isinstance(value, bool):
            raise self._fail(name, "must be true or false")
        return value

    def ids(self, name: str, *, limit: int = 10) -> list[int]:
        value = self.frame.get(name, [])
        if (
            not isinstance(value, list)
            or len(value) > limit
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        ):
            raise self._fail(name, f"must be a list of at most {limit} ids")
        return list(value)

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        value = self.frame.get(name)
        if value not in choices:
            raise self._fail(name, f"must be one of {', '.join(choices)}")
        return str(value)
