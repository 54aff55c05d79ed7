"""Request dependencies: the app context, sessions, the caller and role checks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.problems import ProblemError
from api.security import IdentityProvider, Principal, TokenError, TokenService
from api.settings import Settings
from ledger.store.models import Role
from ledger.store.pii import Pii


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
    auth_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(20))
    # Issuing certificates, rendering PDFs and decoding uploaded images cost CPU: limited per caller.
    expensive_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(60))
    metrics_registry: Any = None
    certificates: Any = None  # zero_errand.service.CertificateService once the chain is open
    credit: Any = None  # credit.ledger.CreditLedger once the chain is open


def get_context(request: Request) -> AppContext:
    return request.app.state.ctx


Context = Annotated[AppContext, Depends(get_context)]


def get_session(ctx: Context) -> Iterator[Session]:
    with ctx.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
bearer = HTTPBearer(auto_error=False, description="A bearer token from /v1/auth/token or /v1/auth/login")


def current_principal(
    ctx: Context, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ProblemError(401, "send an Authorization: Bearer token", headers={"WWW-Authenticate": "Bearer"})
    try:
        return ctx.tokens.check(credentials.credentials)
    except TokenError as exc:
        raise ProblemError(401, str(exc), "invalid-token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that admits only callers with one of `roles`."""

    def check(principal: CurrentPrincipal) -> Principal:
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


def expensive(request: Request, ctx: Context) -> None:
    """Rate-limit an expensive route per caller: the bearer token's subject, else the client address."""
    auth = request.headers.get("authorization", "")
    who = "anonymous"
    if auth.lower().startswith("bearer "):
        try:
            who = ctx.tokens.check(auth[7:]).subject
        except TokenError:
            who = "invalid-token"
    address = request.client.host if request.client else "unknown"
    ctx.expensive_limiter.check(f"{who}@{address}" if who in ("anonymous", "invalid-token") else who)


Expensive = Depends(expensive)
