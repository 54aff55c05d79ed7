"""Who is asking, and how fast they may guess: client addresses through trusted proxies, sign-in back-off.

A failed sign-in never locks an account (anyone could lock anyone out by guessing wrong on purpose). Instead
each (account, address) pair backs off: a few free attempts for typos, then an exponentially growing wait,
capped, answered with 429 and Retry-After. The account's owner, signing in from another address, is not
slowed by an attacker's failures.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from starlette.requests import Request

from api.http.problems import ProblemError
from ledger.errors import ConfigurationError

Network = IPv4Network | IPv6Network


def trusted_networks(entries: list[str]) -> tuple[Network, ...]:
    """Parse `trusted_proxies` (IPs or CIDRs); a typo is a configuration error at start, not a silent no-op."""
    try:
        return tuple(ip_network(entry.strip(), strict=False) for entry in entries)
    except ValueError as exc:
        raise ConfigurationError(f"ZEL_TRUSTED_PROXIES: {exc}") from exc


def _trusted(host: str, proxies: tuple[Network, ...]) -> bool:
    try:
        address = ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in proxies)


def client_address(request: Request, proxies: tuple[Network, ...]) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the nearest address in
    X-Forwarded-For that is not a trusted proxy (the entries left of it are whatever the client claimed)."""
    address = request.client.host if request.client else "unknown"
    if not proxies or not _trusted(address, proxies):
        return address
    hops = [hop.strip() for value in request.headers.getlist("x-forwarded-for") for hop in value.split(",")]
    for hop in reversed([h for h in hops if h]):
        address = hop
        if not _trusted(hop, proxies):
            break
    return address


def limit_key(address: str) -> str:
    """The address rate limits count by: an IPv6 address as its /64, which one subscriber usually holds whole
    (counting each of its 2**64 addresses apart would give an attacker endless fresh budgets)."""
    try:
        parsed = ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, IPv6Address):
        return str(parsed.ipv4_mapped or ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


@dataclass
class _Failures:
    count: int
    last: float
    wait_until: float


class FailureBackoff:
    """Exponential back-off per key (an account at an address), in process and thread-safe.

    Every attempt counts as a failure until `succeeded` clears it, so parallel guesses cannot slip through
    before the first result is known. After `free` attempts the next waits `base` seconds, doubling up to
    `cap`; the count is forgotten `forget_after` seconds after the last attempt.
    """

    def __init__(
        self,
        free: int = 3,
        base: float = 1.0,
        cap: float = 300.0,
        forget_after: float = 900.0,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free, self.base, self.cap, self.forget_after, self.max_keys = free, base, cap, forget_after, max_keys
        self.clock = clock
        self._keys: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def attempt(self, key: str) -> None:
        """Admit one attempt for `key`, or refuse it with 429 and Retry-After while `key` is backing off."""
        now = self.clock()
        with self._lock:
            entry = self._keys.pop(key, None)  # re-inserted below: the dict stays in order of last use
            if entry is None or now - entry.last > self.forget_after:
                entry = _Failures(0, now, now)
            if now < entry.wait_until:
                self._keys[key] = entry
                retry = max(1, math.ceil(entry.wait_until - now))
                raise ProblemError(
                    429, f"too many failed sign-ins from here; retry in {retry} s", headers={"Retry-After": str(retry)}
                )
            entry.count += 1
            entry.last = now
            if entry.count >= self.free:
                entry.wait_until = now + min(self.cap, self.base * 2 ** min(entry.count - self.free, 32))
            self._keys[key] = entry
            self._prune(now)

    def succeeded(self, key: str) -> None:
        """The attempt for `key` succeeded: forget its failures."""
        with self._lock:
            self._keys.pop(key, None)

    def _prune(self, now: float) -> None:
        # The dict is in order of last attempt: the first keys are the stalest (forgotten ones first).
        while len(self._keys) > self.max_keys or (
            self._keys and now - next(iter(self._keys.values())).last > self.forget_after
        ):
            del self._keys[next(iter(self._keys))]
