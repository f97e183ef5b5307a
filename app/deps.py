"""Application-wide dependencies, registered once in `create_app`."""

from __future__ import annotations

from datetime import datetime

from litestar.datastructures import State
from litestar.di import Provide
from redis.asyncio import Redis

from app.auth.deps import provide_actor, provide_client_address, provide_login_throttle
from app.config import Settings
from app.db.deps import provide_db_session


def provide_now(state: State) -> datetime:
    now: datetime = state.clock()
    return now


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def provide_redis(state: State) -> Redis:
    redis: Redis = state.redis
    return redis


dependencies = {
    "db_session": Provide(provide_db_session),
    "now": Provide(provide_now, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "redis": Provide(provide_redis, sync_to_thread=False),
    "actor": Provide(provide_actor),
    "login_throttle": Provide(provide_login_throttle, sync_to_thread=False),
    "client_address": Provide(provide_client_address, sync_to_thread=False),
}
