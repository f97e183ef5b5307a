"""Typed settings, read from the environment once at start.

Nothing reads the environment at import time: `Settings.from_env()` is called by the
entry points (CLI, worker, app factory wrapper) and the result is passed down.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/relaydesk"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
MIN_SECRET_KEY_LENGTH = 32


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = DEFAULT_DATABASE_URL
    pool_size: int = 10
    echo: bool = False


@dataclass(frozen=True)
class RedisSettings:
    url: str = DEFAULT_REDIS_URL
    # Redis keys and pub/sub channels are server-wide: the prefix of every channel name and
    # key (login throttle) keeps installs sharing one Redis apart.
    channel_prefix: str = "relaydesk"


@dataclass(frozen=True)
class SearchSettings:
    meilisearch_url: str | None = None
    meilisearch_api_key: str | None = None


MAX_TOKEN_DAYS = 100 * 365  # beyond this an expiry date stops meaning anything


@dataclass(frozen=True)
class SecuritySettings:
    secret_key: str = field(default="", repr=False)
    token_ttl_hours: int = 24 * 14
    # Personal API tokens: the expiry when none is asked for, and the longest one allowed.
    token_default_days: int = 365
    token_max_days: int = 365
    login_max_failures: int = 5  # per account
    # Distinct accounts that may fail from one address (password spraying) in the window.
    login_max_accounts_per_address: int = 20
    login_failure_window_seconds: int = 15 * 60
    # Networks (checked and normalized, "10.0.0.0/8") of the peers whose X-Forwarded-For
    # is believed: load balancers, reverse proxies. Plain strings, as Litestar re-validates
    # the settings it injects and cannot take ipaddress types.
    trusted_proxies: tuple[str, ...] = ()
    cookie_secure: bool = False


@dataclass(frozen=True)
class StorageSettings:
    data_dir: Path = Path("data")
    max_attachment_bytes: int = 25 * 1024 * 1024
    allowed_attachment_types: tuple[str, ...] = ()  # empty: any type is accepted

    @property
    def max_upload_body_bytes(self) -> int:
        """The largest upload request: one attachment plus room for the multipart framing."""
        return self.max_attachment_bytes + 1024 * 1024


@dataclass(frozen=True)
class RealtimeSettings:
    # Clients ping this often; a socket silent for twice as long is closed, and the server
    # pings too (uvicorn's websocket pings).
    heartbeat_seconds: float = 25.0
    # Per client address on one node: open sockets, and frames per second (a burst of five
    # seconds' worth is allowed).
    max_sockets_per_address: int = 100
    frames_per_address_per_second: int = 50


@dataclass(frozen=True)
class HttpSettings:
    """Limits that keep one client (or a crowd of slow ones) from tying up a web process."""

    # The largest body of any request but an upload (JSON bodies, webhook deliveries).
    max_request_body_bytes: int = 1024 * 1024
    # A client must send a request's headers within this many seconds of starting it.
    header_timeout_seconds: int = 10
    # Open connections (websockets included) per process; more are answered 503 and closed.
    max_connections: int = 1000


@dataclass(frozen=True)
class Settings:
    env: str = "dev"
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    realtime: RealtimeSettings = field(default_factory=RealtimeSettings)
    http: HttpSettings = field(default_factory=HttpSettings)

    @property
    def is_dev(self) -> bool:
        return self.env in {"dev", "test"}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        mode = env.get("RELAYDESK_ENV", "dev")
        if mode not in {"dev", "test", "production"}:
            raise SettingsError(f"RELAYDESK_ENV must be dev, test or production, not {mode!r}")

        database_url = env.get("DATABASE_URL", DEFAULT_DATABASE_URL)
        _check_url("DATABASE_URL", database_url, {"postgresql+asyncpg", "postgresql"})
        if database_url.startswith("postgresql://"):
            database_url = "postgresql+asyncpg://" + database_url.removeprefix("postgresql://")
        redis_url = env.get("REDIS_URL", DEFAULT_REDIS_URL)
        _check_url("REDIS_URL", redis_url, {"redis", "rediss", "unix"})
        meili_url = env.get("MEILISEARCH_URL") or None
        if meili_url:
            _check_url("MEILISEARCH_URL", meili_url, {"http", "https"})

        data_dir = Path(env.get("RELAYDESK_DATA_DIR", "data")).expanduser()
        secret_key = env.get("RELAYDESK_SECRET_KEY", "")
        if not secret_key:
            if mode == "production":
                raise SettingsError(
                    "RELAYDESK_SECRET_KEY is required when RELAYDESK_ENV=production"
                )
            secret_key = _dev_secret_key(data_dir)
        if len(secret_key) < MIN_SECRET_KEY_LENGTH:
            raise SettingsError(
                f"RELAYDESK_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters"
            )

        return cls(
            env=mode,
            database=DatabaseSettings(
                url=database_url,
                pool_size=_int(env, "DATABASE_POOL_SIZE", 10),
                echo=env.get("DATABASE_ECHO", "") == "1",
            ),
            redis=RedisSettings(
                url=redis_url, channel_prefix=env.get("RELAYDESK_REDIS_PREFIX") or "relaydesk"
            ),
            search=SearchSettings(
                meilisearch_url=meili_url,
                meilisearch_api_key=env.get("MEILISEARCH_API_KEY") or None,
            ),
            security=SecuritySettings(
                secret_key=secret_key,
                token_max_days=_int(
                    env,
                    "RELAYDESK_TOKEN_MAX_DAYS",
                    SecuritySettings.token_max_days,
                    maximum=MAX_TOKEN_DAYS,
                ),
                trusted_proxies=_networks(env, "RELAYDESK_TRUSTED_PROXIES"),
                cookie_secure=mode == "production",
            ),
            storage=StorageSettings(
                data_dir=data_dir,
                max_attachment_bytes=_int(
                    env, "RELAYDESK_MAX_ATTACHMENT_BYTES", StorageSettings.max_attachment_bytes
                ),
            ),
            realtime=RealtimeSettings(
                heartbeat_seconds=_int(env, "RELAYDESK_WS_HEARTBEAT_SECONDS", 25, maximum=3600),
                max_sockets_per_address=_int(
                    env,
                    "RELAYDESK_WS_MAX_SOCKETS_PER_ADDRESS",
                    RealtimeSettings.max_sockets_per_address,
                ),
                frames_per_address_per_second=_int(
                    env,
                    "RELAYDESK_WS_FRAMES_PER_ADDRESS",
                    RealtimeSettings.frames_per_address_per_second,
                ),
            ),
            http=HttpSettings(
                max_request_body_bytes=_int(
                    env, "RELAYDESK_MAX_REQUEST_BODY_BYTES", HttpSettings.max_request_body_bytes
                ),
                header_timeout_seconds=_int(
                    env, "RELAYDESK_HEADER_TIMEOUT_SECONDS", HttpSettings.header_timeout_seconds
                ),
                max_connections=_int(
                    env, "RELAYDESK_MAX_CONNECTIONS", HttpSettings.max_connections
                ),
            ),
        )


def _check_url(name: str, value: str, schemes: set[str]) -> None:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        allowed = ", ".join(sorted(f"{s}://" for s in schemes))
        raise SettingsError(f"{name} must be a URL starting with one of {allowed}; got {value!r}")


def _int(env: Mapping[str, str], name: str, default: int, *, maximum: int | None = None) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number; got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive; got {raw!r}")
    if maximum is not None and value > maximum:
        raise SettingsError(f"{name} must be at most {maximum}; got {raw!r}")
    return value


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated addresses or CIDR networks, e.g. `10.0.0.0/8, 2001:db8::/32`."""
    networks: list[str] = []
    for item in env.get(name, "").split(","):
        if not (item := item.strip()):
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise SettingsError(
                f"{name} must list IP addresses or networks (10.0.0.0/8); got {item!r}"
            ) from None
    return tuple(networks)


def _dev_secret_key(data_dir: Path) -> str:
    """Dev mode keeps one generated key so encrypted secrets survive restarts."""
    path = data_dir / ".secret_key"
    if path.exists():
        return path.read_text().strip()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
    except FileExistsError:
        return path.read_text().strip()
    except OSError as exc:
        raise SettingsError(
            f"RELAYDESK_DATA_DIR {str(data_dir)!r} is not writable: {exc}"
        ) from None
    return key
