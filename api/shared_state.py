"""What several `zel serve` replicas share through Redis (`ZEL_REDIS_URL`): the rate-limit buckets and the news
of which enterprises' credit standings changed.

- **Rate limits.** `RedisBuckets.take` runs one Lua script per check: the bucket (a hash of tokens and the time
  they were counted) is refilled and spent atomically inside Redis, with Redis's own clock (`TIME`), so replicas'
  clocks never matter. A bucket expires once it would be full again: a missing key is a full bucket.
- **Standing invalidation.** A commit that touches an enterprise publishes its USCC on one channel; a listener
  thread in every process drops those standings from its `credit.cache.StandingCache`. Pub/sub delivers only to
  those listening at the time, so each (re)subscription clears the whole cache: whatever was announced while the
  listener was away cannot be served stale.

Redis is a convenience, never a dependency of correctness: when it is down the limiters keep their own buckets
(`api.http.limits`), a commit's announcement is dropped with a warning, and another process's write shows within
the cache's ttl, as without Redis. Every call has short timeouts so that a lost Redis never holds up a request.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from errors import Unavailable

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "zel:"
CONNECT_TIMEOUT = 0.5  # seconds: Redis is local to the replicas; a slower answer means it is gone
COMMAND_TIMEOUT = 0.5
RECONNECT_SECONDS = (0.2, 5.0)  # the listener's first and longest wait between attempts

# KEYS[1]: the bucket; ARGV: refill rate (tokens a second), capacity. Returns 0 when a token was taken, else the
# whole seconds until one is back (the same rounding as the in-process bucket). Numbers go back as integers only:
# Redis truncates a Lua float, so the state is written with tostring.
TAKE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = t
end
tokens = math.min(capacity, tokens + math.max(0, t - at) * rate)
if tokens < 1 then
  return math.floor((1 - tokens) / rate) + 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'at', tostring(t))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return 0
"""


class SharedStateUnavailable(Unavailable):
    """Redis did not answer (refused, timed out, or an error reply)."""


class RedisBuckets:
    """Token buckets named `<prefix>rate:<name>:<key>` in Redis, for `api.http.limits.RateLimiter(shared=...)`."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.prefix = prefix
        self._script = client.register_script(TAKE)

    def take(self, key: str, rate: float, capacity: float) -> int:
        """Take one token from `key`'s bucket: 0 when taken, else the seconds until one is back."""
        try:
            return int(self._script(keys=[self.prefix + key], args=[repr(rate), repr(capacity)]))
        except (RedisError, OSError) as exc:
            raise SharedStateUnavailable(f"Redis: {exc}") from exc


class SharedState:
    """One Redis connection pool for the process: shared rate-limit buckets and the standing-invalidation channel."""

    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX) -> None:
        self.prefix = prefix
        self.channel = f"{prefix}standings"
        self.origin = f"{os.getpid()}-{secrets.token_hex(4)}"  # this process: its own announcements are skipped
        self.client_name = f"zel-{self.origin}"  # how its connections show in Redis's CLIENT LIST
        self.client = redis.Redis.from_url(
            url,
            client_name=self.client_name,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT,
            # No retries inside a request (redis-py's default retries ten times with back-off): the limiter falls
            # back at once, a lost announcement only costs the ttl, and the listener reconnects by itself.
            retry=Retry(NoBackoff(), 0),
            health_check_interval=10,  # the listener's idle connection is pinged, so a vanished server is noticed
        )
        self.listening = threading.Event()  # set while the listener is subscribed (tests wait on it)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._publish_failing = False

    # -- rate limits ----------------------------------------------------------------------------------

    def buckets(self, name: str) -> RedisBuckets:
        """The buckets of one limiter (`auth`, `expensive`): limiters never share a key space."""
        return RedisBuckets(self.client, f"{self.prefix}rate:{name}:")

    # -- standing invalidation ------------------------------------------------------------------------

    def publish_standings(self, usccs: set[str]) -> None:
        """Announce that a commit here touched these enterprises; never raises (the commit has happened)."""
        message = json.dumps({"origin": self.origin, "usccs": sorted(usccs)})
        try:
            self.client.publish(self.channel, message)
        except (RedisError, OSError) as exc:
            if not self._publish_failing:
                log.warning(
                    "cannot announce credit writes over Redis (%s): other replicas see them within the "
                    "standing cache's ttl",
                    exc,
                )
            self._publish_failing = True
            return
        if self._publish_failing:
            log.warning("announcing credit writes over Redis again")
            self._publish_failing = False

    def listen_standings(self, invalidate: Callable[[set[str]], None], clear: Callable[[], None]) -> None:
        """Start the listener thread: `invalidate(usccs)` for every other process's announcement, `clear()` on
        every (re)subscription (announcements made while it was away are lost)."""
        if self._thread is not None:
            raise RuntimeError("the standings listener is already running")
        self._thread = threading.Thread(
            target=self._listen, args=(invalidate, clear), name="zel-standings-listener", daemon=True
        )
        self._thread.start()

    def _listen(self, invalidate: Callable[[set[str]], None], clear: Callable[[], None]) -> None:
        wait, failing = RECONNECT_SECONDS[0], False
        while not self._stop.is_set():
            pubsub = self.client.pubsub()
            try:
                pubsub.subscribe(self.channel)
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.25)  # wakes to notice `close`
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        clear()
                        self.listening.set()
                        if failing:
                            log.warning("listening for credit writes over Redis again")
                        wait, failing = RECONNECT_SECONDS[0], False
                    elif message["type"] == "message":
                        self._receive(message["data"], invalidate)
            except (RedisError, OSError) as exc:
                self.listening.clear()
                if not failing:
                    log.warning(
                        "lost the Redis channel of credit writes (%s): reconnecting; meanwhile other "
                        "replicas' writes show within the standing cache's ttl",
                        exc,
                    )
                failing = True
            finally:
                self.listening.clear()
                try:
                    pubsub.close()
                except (RedisError, OSError):  # closing a broken connection
                    pass
            self._stop.wait(wait)
            wait = min(wait * 2, RECONNECT_SECONDS[1])

    def _receive(self, data: Any, invalidate: Callable[[set[str]], None]) -> None:
        try:
            message = json.loads(data)
            origin, usccs = message["origin"], {str(u) for u in message["usccs"]}
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed message on %s", self.channel)
            return
        if origin != self.origin and usccs:
            invalidate(usccs)

    # -- lifetime ---------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the listener and release the connections."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.client.close()
