"""A per-key token bucket: how many requests a caller may make per minute.

One process keeps its buckets in memory. Several `zel serve` replicas keep them in Redis (`ZEL_REDIS_URL`,
`api.shared_state.RedisBuckets`), so that a caller gets one budget whichever replica the load balancer picks.
When Redis cannot answer, each replica falls back to its own in-memory buckets and logs a warning: the limits
degrade to one budget per replica, they never disappear (sign-in guessing stays bounded while Redis is down).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from api.http.problems import ProblemError
from errors import Unavailable

log = logging.getLogger(__name__)
# After Redis failed, how long a limiter keeps to its own buckets before it asks Redis again (so that an
# unreachable Redis costs one connection timeout per limiter every few seconds, not one per request).
SHARED_RETRY_SECONDS = 5.0


class SharedBuckets(Protocol):
    """Token buckets several processes share (`api.shared_state.RedisBuckets`)."""

    def take(self, key: str, rate: float, capacity: float) -> int:
        """Take one token from `key`'s bucket: 0 when taken, else the whole seconds until one is back.
        Raises `errors.Unavailable` when the shared store cannot answer."""
        ...


class RateLimiter:
    """A token bucket per key (client id, username or address); thread-safe, in process or `shared`."""

    def __init__(self, per_minute: int, shared: SharedBuckets | None = None) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self.shared = shared
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._shared_down_until = 0.0  # monotonic time before which `shared` is not asked again

    def check(self, key: str) -> None:
        """Take one token from `key`'s bucket, or answer 429 with the seconds until one is back."""
        retry = self._take_shared(key) if self.shared is not None else None
        if retry is None:
            retry = self._take_local(key)
        if retry:
            raise ProblemError(429, f"too many requests; retry in {retry} s", headers={"Retry-After": str(retry)})

    def _take_shared(self, key: str) -> int | None:
        """The shared bucket's answer, or None when the shared store is down (then the local bucket decides)."""
        assert self.shared is not None
        if time.monotonic() < self._shared_down_until:
            return None
        try:
            retry = self.shared.take(key, self.rate, self.capacity)
        except Unavailable as exc:
            with self._lock:
                first = self._shared_down_until == 0.0
                self._shared_down_until = time.monotonic() + SHARED_RETRY_SECONDS
            if first:
                log.warning("shared rate limits unavailable (%s): limiting per process until it is back", exc)
            return None
        if self._shared_down_until:
            with self._lock:
                self._shared_down_until = 0.0
            log.warning("shared rate limits are back")
        return retry

    def _take_local(self, key: str) -> int:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1:
                return int((1 - tokens) / self.rate) + 1
            self._buckets[key] = (tokens - 1, now)
            return 0
