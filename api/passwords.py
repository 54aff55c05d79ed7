"""Secrets at rest: salted scrypt hashes at OWASP's cost, checked with the same work whoever signs in.

A stored hash is `scrypt$N$r$p$salt$digest` (base64 salt and digest): it carries its own parameters, so
hashes made at an older cost keep verifying and are upgraded on the next successful sign-in
(`needs_rehash`). New hashes use the OWASP Password Storage Cheat Sheet's scrypt cost, N=2**17, r=8, p=1:
128 MiB and a few hundred milliseconds each. Tests and development data may lower N with `ZEL_SCRYPT_N`,
which is refused unless `ZEL_MODE=development` says so explicitly.

Every check derives exactly one key, also for an unknown account, an account without a password or a
stored value that does not parse (a random dummy hash at the current cost stands in), so the time of a
refusal tells nothing about which accounts exist or are disabled.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass

from ledger.errors import ConfigurationError

PREFIX = "scrypt"
_MIB = 1024 * 1024


@dataclass(frozen=True)
class ScryptCost:
    """scrypt's parameters: CPU/memory cost `n` (a power of two), block size `r`, parallelism `p`."""

    n: int
    r: int = 8
    p: int = 1

    @property
    def maxmem(self) -> int:
        """The memory limit to give hashlib.scrypt (OpenSSL needs 128·r·(n+p+2) bytes; its default is 32 MiB)."""
        return 128 * self.r * (self.n + self.p + 2) + _MIB

    def weaker_than(self, other: ScryptCost) -> bool:
        return self.n * self.r < other.n * other.r or self.p < other.p

    def plausible(self) -> bool:
        """Parameters a stored hash may name: bounded to twice OWASP's memory (256 MiB) and 16 lanes, so a crafted
        row cannot ask for gigabytes."""
        return (
            2 <= self.n <= 2**20
            and not self.n & (self.n - 1)
            and 1 <= self.r <= 32
            and 1 <= self.p <= 16
            and self.n * self.r <= 2 * 2**17 * 8
        )


OWASP = ScryptCost(n=2**17, r=8, p=1)

# Each derivation holds 128 MiB and a core for a few hundred ms: at most half the cores derive at once, and a
# burst of sign-ins waits here a bounded time, then gets 503 (PasswordCheckBusy), instead of holding every thread
# of the pool that the other routes share. Refusals and successes pass the same gate.
_SLOTS = threading.BoundedSemaphore(max(1, (os.cpu_count() or 2) // 2))
SLOT_WAIT_SECONDS = 5.0
_MODE: str | None = None  # the service's mode, once an entry point has said it (check_cost)


class PasswordCheckBusy(Exception):
    """Too many password checks are running: retry in a few seconds."""


def _configured_cost() -> ScryptCost | None:
    """The cost `ZEL_SCRYPT_N` names (None when unset); a malformed value is refused whatever the mode."""
    raw = os.environ.get("ZEL_SCRYPT_N", "").strip()
    if not raw:
        return None
    try:
        cost = ScryptCost(n=int(raw), r=OWASP.r, p=OWASP.p)
    except ValueError:
        raise ConfigurationError(f"ZEL_SCRYPT_N={raw!r} is not a number") from None
    if not cost.plausible():
        raise ConfigurationError(f"ZEL_SCRYPT_N={raw} must be a power of two from 2 to 2**20")
    return cost


def current_cost() -> ScryptCost:
    """The cost new hashes get: OWASP's, or `ZEL_SCRYPT_N` in development (ZEL_MODE, else the mode the entry point
    chose and told `check_cost`)."""
    cost = _configured_cost()
    if cost is None:
        return OWASP
    mode = os.environ.get("ZEL_MODE", "").strip().lower() or _MODE
    if cost.weaker_than(OWASP) and mode != "development":
        raise ConfigurationError(
            f"ZEL_SCRYPT_N={cost.n} lowers the password-hash cost below OWASP's (N=2**17): "
            "for tests and development data only, with ZEL_MODE=development"
        )
    return cost


def check_cost(mode: str) -> None:
    """At start: remember the service's mode (however it was chosen: ZEL_MODE, --demo, a development data
    directory) and refuse a malformed `ZEL_SCRYPT_N`, or a lowered one in production."""
    global _MODE
    _MODE = mode
    cost = _configured_cost()
    if mode == "production" and cost is not None and cost.weaker_than(OWASP):
        raise ConfigurationError("refusing to start in production mode: ZEL_SCRYPT_N lowers the password-hash cost")


def _derive(secret: str, salt: bytes, cost: ScryptCost) -> bytes:
    """The one scrypt derivation every hash and check goes through."""
    if not _SLOTS.acquire(timeout=SLOT_WAIT_SECONDS):
        raise PasswordCheckBusy("too many sign-ins at once: retry in a few seconds")
    try:
        return hashlib.scrypt(secret.encode(), salt=salt, n=cost.n, r=cost.r, p=cost.p, maxmem=cost.maxmem, dklen=32)
    finally:
        _SLOTS.release()


def _encode(cost: ScryptCost, salt: bytes, digest: bytes) -> str:
    return (
        f"{PREFIX}${cost.n}${cost.r}${cost.p}$"
        + base64.b64encode(salt).decode()
        + "$"
        + base64.b64encode(digest).decode()
    )


def _decode(stored: str | None) -> tuple[ScryptCost, bytes, bytes] | None:
    if not stored:
        return None
    try:
        prefix, n, r, p, salt, digest = stored.split("$")
        cost = ScryptCost(int(n), int(r), int(p))
        parts = cost, base64.b64decode(salt, validate=True), base64.b64decode(digest, validate=True)
    except ValueError:
        return None
    return parts if prefix == PREFIX and cost.plausible() and len(parts[2]) == 32 else None


@functools.cache
def _dummy(cost: ScryptCost) -> str:
    """A hash of no secret at `cost` (random salt and digest): checking it costs what a real check costs."""
    return _encode(cost, os.urandom(16), os.urandom(32))


def hash_secret(secret: str) -> str:
    """A salted scrypt hash at the current cost: `scrypt$n$r$p$salt$digest` (never the secret in the clear)."""
    cost, salt = current_cost(), os.urandom(16)
    return _encode(cost, salt, _derive(secret, salt, cost))


def verify_secret(secret: str, stored: str | None) -> bool:
    """Whether `secret` matches `stored`; one derivation whatever `stored` is (None for an unknown account)."""
    parsed = _decode(stored)
    genuine = parsed is not None
    if parsed is None:
        parsed = _decode(_dummy(current_cost()))
        assert parsed is not None
    cost, salt, digest = parsed
    return hmac.compare_digest(_derive(secret, salt, cost), digest) and genuine


def needs_rehash(stored: str | None) -> bool:
    """Whether `stored` was made at a weaker cost than new hashes get (rehash it once the secret is known)."""
    parsed = _decode(stored)
    return parsed is not None and parsed[0].weaker_than(current_cost())


def new_secret() -> str:
    return secrets.token_urlsafe(32)
