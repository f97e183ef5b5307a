"""Start-up checks: fail fast, in one line that names the setting to fix.

The entry points (`relaydesk serve|worker|dev|migrate|...`) call these before starting, so a
wrong `DATABASE_URL` or a stopped Redis is reported as `error: DATABASE_URL: cannot connect
to 127.0.0.1:5999 (connection refused)` instead of a traceback from deep inside a pool.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg  # type: ignore[import-untyped]
from alembic.config import Config
from alembic.script import ScriptDirectory
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import URL, make_url

from app.config import Settings

CHECK_TIMEOUT_SECONDS = 3.0
ROOT = Path(__file__).resolve().parent.parent
MAINTENANCE_DATABASE = "postgres"


class StartupError(Exception):
    """A dependency is unreachable or not ready; the message starts with the variable's name."""


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["url"] = database_url
    config.attributes["skip_logging"] = True
    # alembic.ini predates this option; without it Alembic warns on every load.
    config.set_main_option("path_separator", "os")
    return config


def head_revisions(database_url: str) -> tuple[str, ...]:
    return tuple(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


def database_url(settings: Settings) -> URL:
    return make_url(settings.database.url)


async def connect_postgres(
    url: URL, *, database: str | None = None, connect_timeout: float = CHECK_TIMEOUT_SECONDS
) -> asyncpg.Connection:
    """An asyncpg connection to `url` (or another database on the same server)."""
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    try:
        return await asyncpg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            database=database or url.database,
            timeout=connect_timeout,
        )
    except asyncpg.InvalidCatalogNameError:
        name = database or url.database
        raise StartupError(
            f'DATABASE_URL: database "{name}" does not exist on {where}; run `relaydesk migrate`'
        ) from None
    except asyncpg.InvalidPasswordError:
        raise StartupError(f"DATABASE_URL: wrong password for {url.username} on {where}") from None
    except asyncpg.InvalidAuthorizationSpecificationError as exc:
        raise StartupError(f"DATABASE_URL: {where} refused the login ({exc})") from None
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise StartupError(f"DATABASE_URL: cannot connect to {where} ({_reason(exc)})") from None


async def check_database(settings: Settings, *, schema: bool = True) -> None:
    """The database is reachable and, with `schema`, migrated to the code's head revision."""
    url = database_url(settings)
    conn = await connect_postgres(url)
    try:
        if not schema:
            return
        exists = await conn.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
        current = (
            {r["version_num"] for r in await conn.fetch("SELECT version_num FROM alembic_version")}
            if exists
            else set()
        )
    finally:
        await conn.close()
    heads = set(head_revisions(settings.database.url))
    if current != heads:
        at = ", ".join(sorted(current)) or "an empty schema"
        raise StartupError(
            f'DATABASE_URL: database "{url.database}" is at {at}, the code needs '
            f"{', '.join(sorted(heads))}; run `relaydesk migrate`"
        )


async def check_redis(settings: Settings) -> None:
    client: Redis = Redis.from_url(
        settings.redis.url,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
        socket_timeout=CHECK_TIMEOUT_SECONDS,
    )
    where = redis_location(settings.redis.url)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS * 2):
            await client.ping()
    except (RedisError, OSError, TimeoutError) as exc:
        raise StartupError(f"REDIS_URL: cannot connect to {where} ({_reason(exc)})") from None
    finally:
        await client.aclose()


async def check_services(settings: Settings, *, redis: bool = True) -> None:
    """Run before serving: PostgreSQL (migrated) and, unless told otherwise, Redis."""
    await check_database(settings)
    if redis:
        await check_redis(settings)


def redis_location(redis_url: str) -> str:
    """host:port (or socket path) of a Redis URL, never its password."""
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        return parts.path
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"


def _reason(exc: BaseException) -> str:
    """A short human reason, looking through redis-py's wrapping for the socket error."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return "unknown host"
        if isinstance(seen, TimeoutError):
            return f"no answer within {CHECK_TIMEOUT_SECONDS:g}s"
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
