"""Request dependencies: the app context, sessions, the caller and role checks."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.context import AppContext
from api.http.problems import ProblemError, problem_responses
from api.security import Principal, TokenError
from store.models import Role


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
        raise ProblemError(
            401, str(exc), "invalid-token", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from exc
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
    limiter, key = ctx.expensive_limiter, f"{who}@{address}" if who in ("anonymous", "invalid-token") else who
    if limiter.shared is None:
        limiter.check(key)  # buckets in memory: microseconds
    else:  # a Redis round trip (up to its timeout when Redis is down) is never waited for on the event loop
        await run_in_threadpool(limiter.check, key)


Expensive = Depends(expensive)


def signed_in_router(prefix: str, audience: str, statuses: tuple[int, ...]) -> APIRouter:
    """A router of `audience`'s routes under `prefix`, each needing a signed-in caller, with the problem statuses
    its routes may answer documented once (the OpenAPI tag is the audience)."""
    return APIRouter(
        route_class=SessionRoute,
        prefix=prefix,
        tags=[audience],
        responses=problem_responses(*statuses),
        dependencies=[Depends(current_principal)],
    )
