"""Request bodies that cannot be decoded are the client's error, whatever breaks the decoder."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import SerializationException


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
