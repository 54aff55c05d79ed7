"""What operators see of each HTTP request: one log line (method, route template, status, duration) and the
Prometheus request counter and latency histogram, observed by one middleware.

The route is the template (`/v1/public/enterprises/{uscc}/standing`), never the raw path: paths carry USCCs,
certificate numbers and citizen ID numbers. Query strings, headers (tokens), bodies and client addresses are
not logged either. Plain ASGI (Starlette's BaseHTTPMiddleware re-streams every request body through a task,
~1 ms a POST under load), so request bodies stream through untouched. uvicorn's own access log is off under
`zel serve` (it would print the raw path).
"""

from __future__ import annotations

import logging
import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER = "zel.access"
UNMATCHED = "unmatched"  # no route matched (404s, refused bodies): the raw path is still not shown
log = logging.getLogger(LOGGER)
if log.level == logging.NOTSET:  # shown at `zel`'s default WARNING root level; an operator's setting wins
    log.setLevel(logging.INFO)


def route_of(scope: Scope) -> str:
    """The matched route's template (a mount's prefix for static files), or `UNMATCHED`."""
    return getattr(scope.get("route"), "path", None) or UNMATCHED


class AccessLog:
    """Logs `METHOD route status duration` for every HTTP request on logger `zel.access` (level INFO), with the
    same values as `extra` fields (method, route, status, duration_ms) for structured handlers, and counts and
    times it in `requests` (method, route, status) and `latency` (route) when given."""

    def __init__(self, app: ASGIApp, requests: Counter | None = None, latency: Histogram | None = None) -> None:
        self.app, self.requests, self.latency = app, requests, latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500  # an exception that escapes is answered 500 further out

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            seconds, method, route = time.perf_counter() - started, scope["method"], route_of(scope)
            if self.requests is not None and self.latency is not None:
                self.requests.labels(method, route, str(status)).inc()
                self.latency.labels(route).observe(seconds)
            if log.isEnabledFor(logging.INFO):
                ms = seconds * 1000
                log.info(
                    "%s %s %d %.1fms",
                    method,
                    route,
                    status,
                    ms,
                    extra={"method": method, "route": route, "status": status, "duration_ms": round(ms, 1)},
                )
