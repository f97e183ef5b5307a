"""The `relaydesk` command: serve, worker, dev, migrate, create-admin, seed-demo, openapi.

Every command reads `Settings.from_env()` first and checks the services it needs; a bad
setting or an unreachable PostgreSQL/Redis is one line on stderr naming the variable, and
exit status 2. Commands own their transaction; the services they call only flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import msgspec
import uvicorn

from app.config import Settings, SettingsError
from app.http.server import uvicorn_options
from app.startup import StartupError

if TYPE_CHECKING:
    from app.agents.models import Agent

EXIT_USAGE = 1
EXIT_ENVIRONMENT = 2
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


class CommandFailed(click.ClickException):
    """A clear one-line failure the user can fix (duplicate email, short password)."""

    exit_code = EXIT_USAGE

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)


class RelaydeskGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (SettingsError, StartupError) as exc:
            click.echo(f"error: {exc}", err=True)
            raise click.exceptions.Exit(EXIT_ENVIRONMENT) from None


@click.group(cls=RelaydeskGroup)
def cli() -> None:
    """Relaydesk helpdesk server."""


def main() -> None:
    cli(prog_name="relaydesk")


def _settings() -> Settings:
    return Settings.from_env()


def _run(coro: Coroutine[Any, Any, None]) -> None:
    """asyncio.run, where SIGTERM stops the program as Ctrl-C does (cancel, then clean up)."""

    async def guarded() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            await coro
        finally:
            loop.remove_signal_handler(signal.SIGTERM)

    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        asyncio.run(guarded())


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )


# --- migrate -----------------------------------------------------------------------------


async def _ensure_database(settings: Settings, echo: Callable[[str], None]) -> None:
    from app.startup import MAINTENANCE_DATABASE, connect_postgres, database_url

    url = database_url(settings)
    name = url.database or MAINTENANCE_DATABASE
    conn = await connect_postgres(url, database=MAINTENANCE_DATABASE)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            echo(f"database {name} exists on {url.host}:{url.port or 5432}")
            return
        quoted = '"' + name.replace('"', '""') + '"'
        await conn.execute(f"CREATE DATABASE {quoted}")
        echo(f"created database {name} on {url.host}:{url.port or 5432}")
    finally:
        await conn.close()


async def _current_revisions(settings: Settings) -> set[str]:
    from app.startup import connect_postgres, database_url

    conn = await connect_postgres(database_url(settings))
    try:
        if not await conn.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL"):
            return set()
        return {
            r["version_num"] for r in await conn.fetch("SELECT version_num FROM alembic_version")
        }
    finally:
        await conn.close()


def migrate_database(settings: Settings, echo: Callable[[str], None] = click.echo) -> None:
    """Create the database if it is missing, then upgrade it to the newest revision.

    Synchronous on purpose: Alembic's env.py runs its own event loop.
    """
    from alembic import command
    from alembic.script import ScriptDirectory

    from app.startup import alembic_config

    asyncio.run(_ensure_database(settings, echo))
    config = alembic_config(settings.database.url)
    script = ScriptDirectory.from_config(config)
    current = asyncio.run(_current_revisions(settings))
    pending = [
        rev
        for rev in script.iterate_revisions("heads", tuple(current) or "base")
        if rev.revision not in current
    ]
    if not pending:
        echo(f"schema is up to date ({', '.join(sorted(current))})")
        return
    for rev in reversed(pending):
        echo(f"  applying {rev.revision}  {rev.doc}")
    command.upgrade(config, "heads")
    echo(f"migrated to {', '.join(script.get_heads())}")


@cli.command()
def migrate() -> None:
    """Create the database if missing and apply all migrations."""
    migrate_database(_settings())


# --- serve, worker, dev --------------------------------------------------------------------


@cli.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--access-log/--no-access-log",
    default=None,
    help="Log every request (default: on, off when RELAYDESK_ENV=production: a line per "
    "request is a measurable share of a small request's time).",
)
def serve(host: str, port: int, workers: int, access_log: bool | None) -> None:
    """Run the web app (no worker; run `relaydesk worker` next to it)."""
    from app.realtime.runtime import server_options
    from app.startup import check_services

    settings = _settings()
    asyncio.run(check_services(settings))
    uvicorn.run(
        "app.main:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=settings.is_dev if access_log is None else access_log,
        **server_options(settings),
        **uvicorn_options(settings.http),
    )


@cli.command()
def worker() -> None:
    """Run the arq worker, with the outbox relay and other background tasks."""
    from app.startup import check_services

    settings = _settings()
    asyncio.run(check_services(settings))
    _configure_logging()
    _run(run_worker(settings))


async def run_worker(settings: Settings) -> None:
    """Run a worker until cancelled; a worker that crashes (Redis lost) is restarted."""
    from app.worker import create_worker, shutdown

    log = logging.getLogger("relaydesk.worker")
    delay = 1.0
    while True:
        arq_worker = create_worker(settings)
        try:
            await arq_worker.async_run()
        except Exception as exc:  # restart after a pause; the jobs wait in Redis
            log.warning(
                "worker stopped (%s: %s); restarting in %.0fs", type(exc).__name__, exc, delay
            )
        finally:
            try:
                await asyncio.shield(arq_worker.close())
            except Exception as exc:  # Redis is gone: arq skips on_shutdown, so do it here
                log.warning("worker did not close cleanly: %s", exc)
            await shutdown(arq_worker.ctx)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)


@cli.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
def dev(host: str, port: int) -> None:
    """Migrate, then run web + worker + outbox relay in one process (Ctrl-C stops)."""
    from app.startup import check_redis

    settings = _settings()
    migrate_database(settings)
    asyncio.run(check_redis(settings))
    _configure_logging()
    click.echo(f"relaydesk is running on http://{host}:{port} (Ctrl-C stops)")
    _run(run_dev(settings, host=host, port=port))


class EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: `_run` cancels web and worker together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def run_dev(settings: Settings, *, host: str, port: int) -> None:
    """Web server and worker on one event loop. The worker starts `app.worker.BACKGROUND_TASKS`
    (the outbox relay, and the mail pollers once they exist), so they run here too."""
    from app.main import create_app
    from app.realtime.runtime import server_options

    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        **server_options(settings),
        **uvicorn_options(settings.http),
    )
    server = EmbeddedServer(config)
    web = asyncio.create_task(server.serve(), name="relaydesk:web")
    worker_task = asyncio.create_task(run_worker(settings), name="relaydesk:worker")
    try:
        await asyncio.wait({web, worker_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True  # a graceful stop: open requests finish
        worker_task.cancel()
        await asyncio.shield(asyncio.gather(web, worker_task, return_exceptions=True))
    for task in (web, worker_task):
        if not task.cancelled() and (exc := task.exception()) is not None:
            raise exc


# --- openapi ------------------------------------------------------------------------------


def openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document, built without a server, database or Redis.

    The settings are throwaway (no environment is read): nothing in the document depends
    on them, and the app is built but never started.
    """
    import secrets

    from app.config import SecuritySettings
    from app.main import create_app

    settings = Settings(security=SecuritySettings(secret_key=secrets.token_urlsafe(48)))
    return create_app(settings).openapi_schema.to_schema()


@cli.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write to this file (its folder is created) instead of stdout.",
)
def openapi(output: Path | None) -> None:
    """Print the OpenAPI document; the console's TypeScript types are generated from it."""
    text = json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)


# --- accounts and demo data ----------------------------------------------------------------


def _read_password() -> str:
    if sys.stdin.isatty():
        password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        return password
    return sys.stdin.readline().rstrip("\r\n")


@cli.command("create-admin")
@click.argument("email")
@click.option("--name", default=None, help="Display name (default: the part before @).")
def create_admin(email: str, name: str | None) -> None:
    """Create an admin. The password is prompted for, or read from the first line of stdin."""
    from app.schemas import Email
    from app.security.passwords import MIN_PASSWORD_LENGTH
    from app.startup import check_database

    settings = _settings()
    asyncio.run(check_database(settings))
    try:
        email = msgspec.convert(email.strip(), Email)
    except msgspec.ValidationError:
        raise CommandFailed(f"{email!r} is not an email address") from None
    password = _read_password()
    if len(password) < MIN_PASSWORD_LENGTH:
        raise CommandFailed(f"the password must be at least {MIN_PASSWORD_LENGTH} characters")
    agent = asyncio.run(_create_admin(settings, email, name or email.split("@")[0], password))
    click.echo(f"created admin {agent.email} (id {agent.id})")


async def _create_admin(settings: Settings, email: str, name: str, password: str) -> Agent:
    from app.agents.service import do_create_agent
    from app.db.engine import create_engine, create_sessionmaker, transaction
    from app.errors import Conflict

    engine = create_engine(settings.database)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            agent = await do_create_agent(
                session, email=email, name=name, role="admin", password=password
            )
            return agent
    except Conflict:
        raise CommandFailed(f"an agent with email {email} already exists") from None
    finally:
        await engine.dispose()


@cli.command("seed-demo")
@click.option("--contacts", default=300, show_default=True, type=click.IntRange(min=1))
def seed_demo(contacts: int) -> None:
    """Fill the database with demo contacts, tickets and conversations."""
    from app.startup import check_database

    settings = _settings()
    asyncio.run(check_database(settings))
    counts = asyncio.run(_seed_demo(settings, contacts))
    click.echo("seeded: " + ", ".join(f"{count} {what}" for what, count in counts.items()))


async def _seed_demo(settings: Settings, contacts: int) -> dict[str, int]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    from app.db.engine import create_engine, create_sessionmaker, transaction

    try:
        from app.db import registry  # noqa: F401 - every model, so each foreign key resolves
        from app.seed import DEMO_ADMIN_EMAIL, DemoDataPresent
        from app.seed import seed_demo as seed
    except ModuleNotFoundError as exc:
        if exc.name != "app.seed":
            raise
        raise CommandFailed("seed-demo is not available: app.seed is missing") from None

    engine = create_engine(settings.database)
    columns = (TextColumn("{task.description:<14}"), BarColumn(), MofNCompleteColumn())
    try:
        with Progress(*columns, transient=False) as progress:
            stages: dict[str, TaskID] = {}

            def report(stage: str, done: int, total: int) -> None:
                if stage not in stages:
                    stages[stage] = progress.add_task(stage, total=total)
                progress.update(stages[stage], completed=done, total=total)

            async with transaction(create_sessionmaker(engine)) as session:
                return await seed(session, contacts=contacts, progress=report)
    except DemoDataPresent:
        raise CommandFailed(
            f"demo data already present (the agent {DEMO_ADMIN_EMAIL} exists); "
            "seed-demo only fills a database that does not have it yet"
        ) from None
    finally:
        await engine.dispose()
