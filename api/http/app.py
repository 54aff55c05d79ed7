"""The FastAPI application over the context of the composition root (api/context.py)."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.context import AppContext
from api.http import openapi, pages
from api.http.access_log import AccessLog
from api.http.problems import (
    http_exception_handler,
    problem_response,
    unhandled_exception_handler,
    validation_exception_handler,
    zel_error_handler,
)
from api.http.routers import (
    admin,
    attestations,
    audiences,
    auth,
    certificates,
    codes,
    credit,
    jobs,
    public,
    verify,
    webhooks,
)
from errors import ZelError

log = logging.getLogger(__name__)


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413, by Content-Length and while streaming."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._reject(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(413, f"request bodies are limited to {self.limit} bytes", Request(scope))
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_app(ctx: AppContext) -> FastAPI:
    """The HTTP surface over `ctx`: middleware, the one error handler per error family, the routers, the pages."""
    # The documentation is served from the package (api/http/openapi.py): no CDN, no ReDoc.
    app = FastAPI(
        title=openapi.TITLE,
        version="0.1.0",
        description=openapi.DESCRIPTION,
        openapi_tags=openapi.TAGS,
        webhooks=openapi.webhooks,
        docs_url=None,
        redoc_url=None,
        openapi_url=openapi.OPENAPI_URL,
    )
    openapi.add_docs(app)
    app.state.ctx = ctx
    registry = CollectorRegistry()
    ctx.metrics_registry = registry
    requests = Counter("zel_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry)
    latency = Histogram("zel_http_request_seconds", "HTTP request latency", ["route"], registry=registry)

    app.add_middleware(BodyLimit, limit=ctx.settings.max_body_bytes)
    # One log line (zel.access) and the metrics per request, outside BodyLimit: 413s are seen too.
    app.add_middleware(AccessLog, requests=requests, latency=latency)
    app.add_middleware(GZipMiddleware, minimum_size=1024)  # the page scripts travel to phones on mobile data
    from api.http.headers import SecurityHeaders  # outermost: errors, 413s and closed surfaces carry the headers too

    app.add_middleware(SecurityHeaders, settings=ctx.settings)
    app.add_exception_handler(StarletteHTTPException, http_exception_handler)
    app.add_exception_handler(RequestValidationError, validation_exception_handler)
    app.add_exception_handler(ZelError, zel_error_handler)  # every domain error, by its code (api/http/problems.py)
    app.add_exception_handler(Exception, unhandled_exception_handler)
    # Routers are matched in this order, one route at a time: the certificate status route (every scan of a
    # certificate) goes first; routers sharing a prefix keep their relative order.
    for router in (
        verify.router,
        auth.router,
        audiences.citizen,
        audiences.enterprise,
        audiences.inspector,
        audiences.department,
        certificates.citizen,
        certificates.enterprise,
        certificates.department,
        jobs.router,
        attestations.router,
        webhooks.router,
        admin.router,
        public.public,
        codes.router,
        credit.department,
        credit.enterprise,
        credit.inspector,
        credit.public,
        public.health,
        pages.router,
    ):
        app.include_router(router)
    # The pages' scripts and Swagger UI (static/docs/), put there by `npm run build:web` and committed.
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "pages" / "static"), name="static")
    return app
