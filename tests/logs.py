"""Log records of the project and its servers, for tests that assert what was logged.

pytest's caplog sees nothing once an app exists: Litestar's logging config (a dictConfig
run by every `create_app`) replaces the root logger's handlers, caplog's among them. So
this handler sits on the loggers themselves."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

LOGGERS = ("app", "channels", "litestar", "uvicorn")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def captured_logs(level: int = logging.INFO) -> Iterator[list[logging.LogRecord]]:
    handler = _Collect()
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(level)
    try:
        yield handler.records
    finally:
        for logger, old in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(old)
