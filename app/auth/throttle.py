"""Login throttling in Redis: failures are counted per email and per client address.

If Redis is unreachable the throttle is skipped with a warning rather than locking every
user out; argon2's cost still bounds guessing speed.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.errors import TooManyRequests

log = logging.getLogger(__name__)
ADDRESS_FACTOR = 4  # one address may fail for several accounts before it is blocked


class LoginThrottle:
    def __init__(self, redis: Redis, *, max_failures: int, window_seconds: int) -> None:
        self.redis = redis
        self.max_failures = max_failures
        self.window = window_seconds

    def _keys(self, email: str, address: str) -> tuple[str, str]:
        return f"relaydesk:login-failures:email:{email}", f"relaydesk:login-failures:ip:{address}"

    async def check(self, *, email: str, address: str) -> None:
        email_key, address_key = self._keys(email, address)
        try:
            by_email, by_address = await self.redis.mget(email_key, address_key)
            ttl = await self.redis.ttl(email_key) if by_email else self.window
        except RedisError as exc:
            log.warning("login throttle skipped, Redis unavailable: %s", exc)
            return
        if int(by_email or 0) >= self.max_failures or int(by_address or 0) >= (
            self.max_failures * ADDRESS_FACTOR
        ):
            raise TooManyRequests(
                "too many failed sign-ins; try again later", retry_after=max(int(ttl), 1)
            )

    async def record_failure(self, *, email: str, address: str) -> None:
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for key in self._keys(email, address):
                    pipe.incr(key)
                    pipe.expire(key, self.window, nx=True)
                await pipe.execute()
        except RedisError as exc:
            log.warning("login failure not counted, Redis unavailable: %s", exc)

    async def reset(self, *, email: str) -> None:
        try:
            await self.redis.delete(self._keys(email, "")[0])
        except RedisError as exc:
            log.warning("login throttle not reset, Redis unavailable: %s", exc)
