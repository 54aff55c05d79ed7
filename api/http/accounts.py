"""Bearer tokens stay true to their accounts: every authenticated request checks the account's current row.

A token lives for minutes; disabling a user or an API client, or changing a user's role or department, must
take effect on the next request. `AccountCheck` compares a token's claims with the account row, caching the
row for at most `ttl` seconds (one second by default) so that a busy caller costs one query a second, not
one a request. The admin routes `forget` an account as they change it, so in this process a change is seen
at once; another process (the CLI, another worker) sees it within `ttl`. Public routes do not authenticate
and never pay for this.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.http.problems import ProblemError
from api.security import Principal
from store.models import ApiClient, Role, User


@dataclass(frozen=True)
class AccountState:
    """What a token's claims must still agree with: the account's role and what it owns, and whether it is on."""

    disabled: bool
    role: str
    department: str | None = None
    person_id: int | None = None
    uscc: str | None = None


def load_account(session: Session, subject: str) -> AccountState | None:
    """The current state of the account a token names (`user:NAME` or `client:ID`), or None if there is none."""
    kind, _, name = subject.partition(":")
    if kind == "user":
        user = session.scalars(select(User).where(User.username == name)).first()
        return None if user is None else AccountState(user.disabled, user.role, user.department, user.person_id)
    if kind == "client":
        client = session.scalars(select(ApiClient).where(ApiClient.client_id == name)).first()
        return None if client is None else AccountState(client.disabled, Role.ENTERPRISE.value, uscc=client.uscc)
    return None


def refusal(principal: Principal, state: AccountState | None) -> ProblemError | None:
    """Why `principal`'s token no longer speaks for its account, or None if it still does."""
    if state is None or state.disabled:
        return ProblemError(403, "the account behind this token is disabled or gone", "account-disabled")
    claimed = AccountState(False, principal.role.value, principal.department, principal.person_id, principal.uscc)
    if claimed != state:
        return ProblemError(
            401,
            "the account's role or department changed since this token was issued: sign in again",
            "invalid-token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return None


class AccountCheck:
    """The per-request account check, with a short in-process cache of account rows."""

    def __init__(self, sessions: sessionmaker[Session], ttl: float = 1.0, max_entries: int = 50_000) -> None:
        self.sessions, self.ttl, self.max_entries = sessions, ttl, max_entries
        self._cache: dict[str, tuple[float, AccountState | None]] = {}
        self._generation = 0  # bumped by `forget`: a load that raced a change does not cache the old row
        self._lock = threading.Lock()

    async def check(self, principal: Principal) -> None:
        """Raise the refusal for a token whose account is disabled, gone or changed."""
        hit = self._cache.get(principal.subject)
        if hit is not None and hit[0] > time.monotonic():
            state = hit[1]
        else:  # a query: in the thread pool, off the event loop
            state = await run_in_threadpool(self._load, principal.subject)
        problem = refusal(principal, state)
        if problem is not None:
            raise problem

    def _load(self, subject: str) -> AccountState | None:
        generation = self._generation
        with self.sessions() as session:
            state = load_account(session, subject)
        with self._lock:
            if generation == self._generation and self.ttl > 0:
                if len(self._cache) >= self.max_entries:
                    self._cache.clear()
                self._cache[subject] = (time.monotonic() + self.ttl, state)
        return state

    def forget(self, subject: str) -> None:
        """Drop what is cached about `subject` (`user:NAME`, `client:ID`): its next request reads the store."""
        with self._lock:
            self._generation += 1
            self._cache.pop(subject, None)
