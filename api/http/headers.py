"""Security headers on every response, and the operator surfaces production may close, as one plain-ASGI middleware.

Every response: `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`, and in
production `Strict-Transport-Security`. HTML responses also carry a Content-Security-Policy: the pages' policy
allows scripts and styles from this origin plus the hashes of the pages' own inline blocks (`api.http.pages`), never
`unsafe-inline` for scripts or styles; pages also get `Cross-Origin-Opener-Policy: same-origin` and a
Permissions-Policy that lets only this origin ask for the camera. Swagger UI (`/docs`, served from this package by
`api.http.openapi`) bootstraps with an inline script, so it gets a policy of its own, allowing exactly that script's
hash, instead of a weaker one for every page.

A header a route set itself is left as it is. `docs_enabled` and `metrics_enabled` off answer 404 for the API
documentation (`/docs`, `/openapi.json`) and `/metrics`, before routing.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.openapi import DOCS_URL, OAUTH2_REDIRECT_URL, OPENAPI_URL, oauth2_redirect_page, swagger_page
from api.http.pages import INLINE_SCRIPTS, INLINE_STYLES
from api.http.problems import problem_response, unhandled_exception_handler
from api.settings import Settings

DOCS_PAGES = frozenset({DOCS_URL, OAUTH2_REDIRECT_URL})
DOCS_PATHS = DOCS_PAGES | {OPENAPI_URL}
METRICS_PATHS = frozenset({"/metrics"})
HSTS = "max-age=31536000"  # a year; no includeSubDomains: the district's other hosts are not ours to bind


def source_hashes(texts: Iterable[str]) -> str:
    """CSP hash sources (`'sha256-…'`) for inline script or style texts, exactly as the page carries them."""
    return " ".join(
        sorted({f"'sha256-{base64.b64encode(hashlib.sha256(t.encode()).digest()).decode()}'" for t in texts})
    )


def policy(**directives: str) -> str:
    """`policy(default_src="'self'")` -> "default-src 'self'"; the directives every policy here ends with."""
    directives |= {"object_src": "'none'", "base_uri": "'none'", "form_action": "'self'", "frame_ancestors": "'none'"}
    return "; ".join(f"{name.replace('_', '-')} {value}" for name, value in directives.items())


# The verify page decodes photos from a File (createImageBitmap) and the inspector page plays the camera through
# `srcObject`: neither is a URL fetch, so neither needs `data:`/`blob:` sources. The two pages that read QR codes
# compile ZXing-C++'s WebAssembly (web/scan/decode.js, the .wasm from /static): `'wasm-unsafe-eval'` allows
# compiling WebAssembly and nothing else (no `eval`, no `new Function`), on those two pages only.
PAGE_POLICY = policy(
    default_src="'self'",
    script_src=f"'self' {source_hashes(INLINE_SCRIPTS)}",
    style_src=f"'self' {source_hashes(INLINE_STYLES)}",
    img_src="'self'",
    connect_src="'self'",
)
SCAN_PAGES = frozenset({"/verify", "/inspect"})
SCAN_POLICY = PAGE_POLICY.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", 1)


def docs_policy(root_path: str = "") -> str:
    """Swagger UI's policy: this origin only, plus the hashes of its two inline bootstrap scripts exactly as
    `api.http.openapi` renders them under `root_path`, and `data:` images (the icons inlined in its style sheet)."""
    pages = (swagger_page(root_path), oauth2_redirect_page())
    inline = [s for p in pages for s in re.findall(r"<script>(.*?)</script>", bytes(p.body).decode(), re.S)]
    return policy(
        default_src="'self'",
        script_src=f"'self' {source_hashes(inline)}",
        style_src="'self'",
        img_src="'self' data:",
        connect_src="'self'",
    )


class SecurityHeaders:
    """Adds the security headers to every HTTP response and answers 404 for the surfaces `settings` closes."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.common: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]
        if settings.mode == "production":
            self.common.append((b"strict-transport-security", HSTS.encode()))
        self.page = [
            (b"content-security-policy", PAGE_POLICY.encode()),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(self), microphone=(), geolocation=()"),
        ]
        self.scan = [(b"content-security-policy", SCAN_POLICY.encode()), *self.page[1:]]
        self.docs: dict[str, list[tuple[bytes, bytes]]] = {}  # by root path
        self.closed = (DOCS_PATHS if not settings.docs_enabled else frozenset()) | (
            METRICS_PATHS if not settings.metrics_enabled else frozenset()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root, path = scope.get("root_path", ""), scope["path"]
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        html = self._docs(root) if path in DOCS_PAGES else self.scan if path in SCAN_PAGES else self.page
        started = False

        async def headed(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                is_html = any(n.lower() == b"content-type" and v.startswith(b"text/html") for n, v in headers)
                headers += [(n, v) for n, v in (self.common + html if is_html else self.common) if n not in present]
                message = {**message, "headers": headers}
            await send(message)

        if path in self.closed:
            await problem_response(404, "Not Found", Request(scope))(scope, receive, headed)
            return
        try:
            await self.app(scope, receive, headed)
        except Exception as exc:
            # Starlette's ServerErrorMiddleware answers unhandled errors outside every user middleware: answer
            # here with the same handler so the 500 carries the headers too; it sees the response started.
            if not started:
                response = await unhandled_exception_handler(Request(scope), exc)
                await response(scope, receive, headed)
            raise

    def _docs(self, root: str) -> list[tuple[bytes, bytes]]:
        if root not in self.docs:
            self.docs[root] = [(b"content-security-policy", docs_policy(root.rstrip("/")).encode())]
        return self.docs[root]
