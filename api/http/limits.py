"""A per-key token bucket: how many requests a caller may make per minute."""

from __future__ import annotations

import threading
import time

from api.http.problems import ProblemError


class RateLimiter:
    """A token bucket per key (client id, username or address); thread-safe, in process."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Take one token from `key`'s bucket, or answer 429 with the seconds until one is back."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1:
                retry = int((1 - tokens) / self.rate) + 1
                raise ProblemError(429, f"too many requests; retry in {retry} s", headers={"Retry-After": str(retry)})
            self._buckets[key] = (tokens - 1, now)
