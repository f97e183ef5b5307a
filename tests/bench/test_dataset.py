"""The benchmarks' bulk loader keeps up with the schema (it writes SQL of its own)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from bench import dataset
from tests.db import SERVER_DSN, clone_template, drop_database


@pytest.fixture
async def scratch(worker_name: str) -> AsyncIterator[asyncpg.Connection]:
    name = f"relaydesk_test_bench_{worker_name}"
    await clone_template(name)
    conn = await asyncpg.connect(f"{SERVER_DSN}/{name}")
    try:
        yield conn
    finally:
        await conn.close()
        await drop_database(name)


async def test_the_loader_fills_a_migrated_database(scratch: asyncpg.Connection) -> None:
    loaded = await dataset.load(scratch, total=300, now=datetime.now(UTC))

    assert loaded.tickets == 300
    assert len(loaded.inboxes) == len(dataset.INBOXES)
    without_message = await scratch.fetchval(
        "SELECT count(*) FROM tickets t WHERE NOT EXISTS "
        "(SELECT 1 FROM messages m WHERE m.ticket_id = t.id)"
    )
    assert without_message == 0
