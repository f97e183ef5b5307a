"""The benchmarks read and write with SQL of their own: they keep up with the schema."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from bench import dataset, ingest_check
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


async def test_the_ingest_check_reads_a_migrated_database(scratch: asyncpg.Connection) -> None:
    found = await ingest_check.verify(scratch)

    assert found["inbound_items"] == {}
    assert found["tickets"] == 0
