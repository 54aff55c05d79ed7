"""Request dependencies: the app context, sessions, the caller and role checks."""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.http.accounts import AccountCheck
from api.passwords import check_cost
from api.http.problems import ProblemError
from api.security import IdentityProvider, Principal, TokenError, TokenService
from api.settings import Settings
from api.http.throttle import FailureBackoff, Network, client_address, limit_key, trusted_networks
from store.models import Role
from store.pii import Pii


class RateLimiter:
    """A token bucket per key (client id, username or address); thread-safe, in process."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1:
                retry = int((1 - tokens) / self.rate) + 1
                raise ProblemError(429, f"too many requests; retry in {retry} s", headers={"Retry-After": str(retry)})
            self._buckets[key] = (tokens - 1, now)


@dataclass
class AppContext:
    """What every request can reach."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    pii: Pii
    tokens: TokenService
    identity: IdentityProvider
    ledger: Any = None  # ledger.client.Ledger once the chain is open
    auth_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(20))  # per client address
    login_backoff: FailureBackoff = field(default_factory=FailureBackoff)  # per account and address, never a lockout
    # Issuing certificates, rendering PDFs and decoding uploaded images cost CPU: limited per caller.
    expensive_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(60))
    metrics_registry: Any = None
    certificates: Any = None  # zero_errand.service.CertificateService once the chain is open
    credit: Any = None  # credit.ledger.CreditLedger once the chain is open
    standings: Any = None  # credit.cache.StandingCache beside it
    accounts: AccountCheck = field(init=False)  # tokens checked against their accounts' current rows
    proxies: tuple[Network, ...] = field(init=False)  # the trusted reverse proxies

    def __post_init__(self) -> None:
        check_cost(self.settings.mode)
        self.accounts = AccountCheck(self.sessions)
        self.proxies = trusted_networks(self.settings.trusted_proxies)

    def caller_address(self, request: Request) -> str:
        """What rate limits and sign-in back-off count by: the client's address, believed through the trusted
        proxies only, an IPv6 address as its /64."""
        return limit_key(client_address(request, self.proxies))


# The dependencies below are async although they never await: FastAPI runs a sync dependency in the thread pool,
# and a thread hop each costs more than these microseconds of work.
async def get_context(request: Request) -> AppContext:
    return request.app.state.ctx


Context = Annotated[AppContext, Depends(get_context)]


async def get_session(ctx: Context) -> AsyncIterator[Session]:
    # Async on purpose: FastAPI runs a sync generator's exit in the thread pool, so with every pool thread busy
    # waiting for a connection, no thread is left to close a session and return its connection (a deadlock
    # until the pool's timeout under load). Opening and closing a session do no I/O worth a thread.
    with ctx.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


class SessionRoute(APIRoute):
    """A route whose synchronous function closes its sessions in its own thread as it returns.

    FastAPI serializes a sync route's response in the thread pool before it closes the route's dependencies, so
    under load every pool thread can be waiting for a database connection while the connections are held by
    finished routes waiting for a thread to serialize their responses: a deadlock until the pool times out.
    Closing the session as the function returns gives its connection back first; what it returns is loaded
    already (sessions do not expire objects on commit).
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _closing_sessions(endpoint)
        super().__init__(path, endpoint, **kwargs)


def _closing_sessions(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)  # FastAPI reads the parameters through __wrapped__
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        finally:
            for value in kwargs.values():
                if isinstance(value, Session):
                    value.close()

    return call


bearer = HTTPBearer(auto_error=False, description="A bearer token from /v1/auth/token or /v1/auth/login")


async def current_principal(
    ctx: Context, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ProblemError(401, "send an Authorization: Bearer token", headers={"WWW-Authenticate": "Bearer"})
    try:
        principal = ctx.tokens.check(credentials.credentials)
    except TokenError as exc:
        raise ProblemError(401, str(exc), "invalid-token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    await ctx.accounts.check(principal)  # disabled or changed since the token was issued: refused now
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits only callers with one of `roles`."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise ProblemError(403, f"this route is for {allowed}; you are {principal.role.value}")
        return principal

    return check


CurrentCitizen = Annotated[Principal, Depends(require(Role.CITIZEN))]
CurrentEnterprise = Annotated[Principal, Depends(require(Role.ENTERPRISE))]
CurrentInspector = Annotated[Principal, Depends(require(Role.INSPECTOR))]
CurrentOfficial = Annotated[Principal, Depends(require(Role.OFFICIAL))]
CurrentAdmin = Annotated[Principal, Depends(require(Role.ADMIN))]


async def expensive(request: Request, ctx: Context) -> None:
    """Rate-limit an expensive route per caller: the bearer token's subject, else the client address."""
    auth = request.headers.get("authorization", "")
    who = "anonymous"
    if auth.lower().startswith("bearer "):
        try:
            who = ctx.tokens.check(auth[7:]).subject
        except TokenError:
            who = "invalid-token"
    address = ctx.caller_address(request)
    ctx.expensive_limiter.check(f"{who}@{address}" if who in ("anonymous", "invalid-token") else who)


Expensive = Depends(expensive)
