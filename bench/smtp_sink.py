"""The customers' mail server for the email benchmark: aiosmtpd taking every message.

    python bench/smtp_sink.py PORT LOG

Writes one line per message to LOG: the arrival time (Unix seconds) and the Message-ID,
tab-separated, flushed at once, so the benchmark can tell when each acknowledgement
arrived. Runs in its own process, so its CPU is not the benchmark's.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time
from typing import Any, TextIO

from aiosmtpd.controller import Controller

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class Sink:
    def __init__(self, log: TextIO) -> None:
        self.log = log

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        arrived = time.time()
        found = MESSAGE_ID.search(envelope.original_content or b"")
        message_id = found.group(1).decode(errors="replace") if found else ""
        self.log.write(f"{arrived:.6f}\t{message_id}\n")
        self.log.flush()
        return "250 2.0.0 Accepted (benchmark sink)"


def main(port: int, log_path: str) -> None:
    with open(log_path, "a", encoding="utf-8") as log:
        controller = Controller(Sink(log), hostname="127.0.0.1", port=port)
        controller.start()
        print("ready", flush=True)
        stop = asyncio.Event()
        loop = asyncio.new_event_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        try:
            loop.run_until_complete(stop.wait())
        finally:
            controller.stop()
            loop.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
