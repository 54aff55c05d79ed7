"""The FastAPI application and the context it runs in."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http import openapi, pages
from api.http.access_log import AccessLog
from api.http.deps import AppContext, RateLimiter
from api.http.problems import (
    http_exception_handler,
    problem_response,
    unhandled_exception_handler,
    validation_exception_handler,
)
from api.http.routers import admin, audiences, auth, certificates, codes, credit, public, verify, webhooks
from api.security import DevelopmentIdentityProvider, TokenService
from api.settings import Settings
from ledger.errors import ConfigurationError
from store.db import make_engine, session_factory, upgrade
from store.pii import Pii

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


def identity_provider(settings: Settings) -> Any:
    """The identity provider `settings` configure (the development one is refused in production)."""
    if settings.identity_provider == "oidc":
        from api.http.identity import OidcIdentityProvider

        return OidcIdentityProvider(settings.oidc_issuer or "", settings.oidc_audience or "", settings.oidc_jwks_url)
    return DevelopmentIdentityProvider()


def provision_in_child(settings: Settings) -> None:
    """`zel issuer provision --demo` (api.provisioning) in a child process, so that the serving process never
    loads the admin key (the embedded chain is released when the child exits)."""
    args = [sys.executable, "-m", "api.cli", "issuer", "provision", "--demo", "--data-dir", str(settings.root)]
    if settings.chain_url:
        args += ["--chain-url", settings.chain_url]
    env = dict(os.environ)
    if settings.database_url:
        env["ZEL_DATABASE_URL"] = settings.database_url
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ConfigurationError(f"demo provisioning failed: {(proc.stderr or proc.stdout).strip()[-800:]}")


def build_context(settings: Settings, *, open_chain: bool = True) -> AppContext:
    """Open the store (migrating it) and the chain (deploying on first start) for `settings`."""
    settings.root.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    ctx = AppContext(settings=settings, engine=engine, sessions=session_factory(engine),
                     pii=Pii.for_store(engine, settings.pii()),  # refuses an index key foreign to the data
                     tokens=TokenService(settings.token_key(), settings.token_ttl_seconds),
                     identity=identity_provider(settings), auth_limiter=RateLimiter(settings.auth_rate_per_minute),
                     expensive_limiter=RateLimiter(settings.expensive_rate_per_minute))
    if open_chain:
        from ledger.client import Ledger
        from ledger.errors import NotDeployed, OutdatedDeployment
        from ledger.keys import Keystore
        from zero_errand.service import CertificateService

        # The service holds department signing keys only: deploying, admitting departments and registering keys
        # are the district administrators' acts (`zel contracts deploy`, `zel issuer provision`), done before.
        try:
            ctx.ledger = Ledger.open(settings.chain())
        except NotDeployed as exc:
            # A new embedded development data directory: the demo provisioning, in a child process (this one
            # never holds the admin key). Production, a node, or an outdated deployment: say what to do.
            if isinstance(exc, OutdatedDeployment) or settings.mode != "development" or settings.chain_url:
                raise
            provision_in_child(settings)
            ctx.ledger = Ledger.open(settings.chain())
        if settings.mode == "production":
            settings.check_chain(ctx.ledger.sender.chain_id, list(ctx.ledger.w3.eth.accounts))
        ctx.certificates = CertificateService(ctx.sessions, ctx.pii, ctx.ledger, Keystore(settings.root))
        from credit.ledger import CreditLedger
        from zero_errand.departments import credit_scopes

        ctx.credit = CreditLedger(ctx.sessions, ctx.pii, ctx.ledger, ctx.certificates.keys, credit_scopes())
        from credit.cache import StandingCache

        ctx.standings = StandingCache(ctx.sessions, ttl=settings.standing_cache_seconds)
    return ctx


def create_app(ctx: AppContext) -> FastAPI:
    # The documentation is served from the package (api/http/openapi.py): no CDN, no ReDoc.
    app = FastAPI(title=openapi.TITLE, version="0.1.0", description=openapi.DESCRIPTION, openapi_tags=openapi.TAGS,
                  webhooks=openapi.webhooks, docs_url=None, redoc_url=None, openapi_url=openapi.OPENAPI_URL)
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
    app.add_exception_handler(Exception, unhandled_exception_handler)
    # Routers are matched in this order, one route at a time: the certificate status route (every scan of a
    # certificate) goes first; routers sharing a prefix keep their relative order.
    for router in (verify.router, auth.router, audiences.citizen, audiences.enterprise, audiences.inspector,
                   audiences.department, certificates.citizen, certificates.enterprise, certificates.department,
                   webhooks.router, admin.router, public.public, codes.router, credit.department, credit.enterprise,
                   credit.inspector, credit.public, public.health, pages.router):
        app.include_router(router)
    # The pages' scripts and Swagger UI (static/docs/), put there by `npm run build:web` and committed.
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "pages" / "static"), name="static")
    return app
