"""Login throttling in Redis, per account and per client address.

Each password check first reserves an attempt in one Lua script, so concurrent guesses are
counted before any of them is verified; a correct password releases it. An account is
locked after `max_failures` attempts in the window. An address is limited by the number of
*distinct* accounts that failed from it, which stops password spraying, while one
brute-forced account behind a shared address (an office NAT, a load balancer) locks only
itself. Locked callers are told when to try again (`Retry-After`).

If Redis is unreachable the throttle is skipped with a warning rather than locking every
user out; argon2's cost still bounds guessing speed.
"""

from __future__ import annotations

import ipaddress
import logging

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from app.errors import TooManyRequests

log = logging.getLogger(__name__)

# KEYS: the account's attempt counter, the address's sorted set {account: last failure}.
# ARGV: account, max attempts per account, max accounts per address, window in seconds.
# Returns 0 when the attempt is reserved, else the seconds until one may be made.
_RESERVE = """
local window = tonumber(ARGV[4])
local now = tonumber(redis.call('TIME')[1])
local attempts = tonumber(redis.call('GET', KEYS[1]) or '0')
if attempts >= tonumber(ARGV[2]) then
  local ttl = redis.call('TTL', KEYS[1])
  return ttl > 0 and ttl or window
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
if not redis.call('ZSCORE', KEYS[2], ARGV[1])
    and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return math.max(tonumber(oldest[2]) + window - now, 1)
end
if redis.call('INCR', KEYS[1]) == 1 then
  redis.call('EXPIRE', KEYS[1], window)
end
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('EXPIRE', KEYS[2], window)
return 0
"""


def address_key(host: str) -> str:
    """The address an attempt is counted against. IPv6 counts per /64, the block one
    subscriber usually holds, so rotating addresses inside it does not buy fresh attempts."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64] or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class LoginThrottle:
    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        max_failures: int,
        max_accounts_per_address: int,
        window_seconds: int,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.max_failures = max_failures
        self.max_accounts = max_accounts_per_address
        self.window = window_seconds
        self._reserve: AsyncScript = redis.register_script(_RESERVE)

    def _keys(self, email: str, address: str) -> list[str]:
        return [
            f"{self.prefix}:login:account:{email}",
            f"{self.prefix}:login:address:{address_key(address)}",
        ]

    async def reserve(self, *, email: str, address: str) -> None:
        """Count an attempt before its password is checked; raises `TooManyRequests` when the
        account or the address is locked. Call `release` once the password was right."""
        try:
            wait = int(
                await self._reserve(
                    keys=self._keys(email, address),
                    args=[email, self.max_failures, self.max_accounts, self.window],
                )
            )
        except RedisError as exc:
            log.warning("login throttle skipped, Redis unavailable: %s", exc)
            return
        if wait > 0:
            raise TooManyRequests("too many failed sign-ins; try again later", retry_after=wait)

    async def release(self, *, email: str, address: str) -> None:
        """The password was right: forget the account's failures, here and at the address."""
        account_key, address_set = self._keys(email, address)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(account_key)
                pipe.zrem(address_set, email)
                await pipe.execute()
        except RedisError as exc:
            log.warning("login throttle not reset, Redis unavailable: %s", exc)
