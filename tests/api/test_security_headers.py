"""Security headers (api/http/headers.py): every response says nosniff, no-referrer and DENY; every page carries a CSP
that allows its own inline blocks by hash and never `unsafe-inline` scripts; /docs has its own policy, as strict, for
Swagger UI served from this origin; production adds HSTS and may close the API documentation and /metrics."""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import Response
from fastapi.testclient import TestClient

from api.context import AppContext
from api.demo import seed
from api.http.app import create_app
from api.provisioning import provisioned_context
from api.settings import Settings
from store.db import transaction


@dataclass
class Served:
    ctx: AppContext
    uscc: str

    def client(self, root_path: str = "", **settings: object) -> TestClient:
        """A client of a fresh app on the shared context, its settings changed by `settings`."""
        ctx = copy.copy(self.ctx)  # not dataclasses.replace: its start-up checks would refuse test keys in production
        ctx.settings = self.ctx.settings.model_copy(update=settings)
        return TestClient(create_app(ctx), raise_server_exceptions=False, root_path=root_path)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("headers")
    ctx = provisioned_context(
        Settings(mode="development", data_dir=root / "data", database_url=f"sqlite:///{root / 'store.sqlite'}")
    )
    with transaction(ctx.sessions) as session:
        creds = seed(session, ctx.pii)
    yield Served(ctx, creds.usccs[0])
    ctx.ledger.close()
    ctx.engine.dispose()


def csp(response: Response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as {directive: sources}."""
    parts = [p.split() for p in response.headers["content-security-policy"].split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


class Inline(HTMLParser):
    """Collects the texts of inline executable scripts and of style blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._into: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and "src" not in a and a.get("type") in (None, "", "module", "text/javascript"):
            self._into = self.scripts
        elif tag == "style":
            self._into = self.styles
        if self._into is not None:
            self._into.append("")

    def handle_data(self, data: str) -> None:
        if self._into is not None:
            self._into[-1] += data

    def handle_endtag(self, tag: str) -> None:
        self._into = None


def sha256_source(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


def page_paths(served: Served) -> list[str]:
    return [
        "/",
        "/?lang=en",
        "/verify",
        "/verify?lang=en",
        "/inspect",
        "/enterprise",
        "/enterprise?lang=en",
        f"/e/{served.uscc}",
        f"/e/{served.uscc}?lang=en",
    ]


def test_every_page_carries_a_strict_policy_and_the_common_headers(served: Served) -> None:
    with served.client() as c:
        for path in page_paths(served):
            r = c.get(path)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path
            policy = csp(r)
            assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
            assert "'unsafe-inline'" not in policy["style-src"]
            assert policy["default-src"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"]
            assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
            assert policy["connect-src"] == ["'self'"]
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "no-referrer"
            assert r.headers["x-frame-options"] == "DENY"
            assert r.headers["cross-origin-opener-policy"] == "same-origin"
            assert r.headers["permissions-policy"].startswith("camera=(self)")
            assert "strict-transport-security" not in r.headers  # development


def test_every_inline_script_and_style_of_every_page_is_allowed_by_its_hash(served: Served) -> None:
    with served.client() as c:
        for path in [*page_paths(served), "/e/91440604MA4UABCD1X"]:
            r = c.get(path)
            found = Inline()
            found.feed(r.text)
            policy = csp(r)
            assert all(sha256_source(s) in policy["script-src"] for s in found.scripts), path
            assert all(sha256_source(s) in policy["style-src"] for s in found.styles), path
        profile = Inline()
        profile.feed(c.get(f"/e/{served.uscc}").text)
        # the data travels in attributes, never inside a script
        assert len(profile.scripts) == 2 and all(served.uscc not in s for s in profile.scripts)


def test_json_static_and_error_responses_carry_the_common_headers(served: Served) -> None:
    with served.client() as c:
        c.app.add_api_route("/boom", lambda: 1 / 0)
        c.app.add_api_route("/own", lambda: Response("x", headers={"Referrer-Policy": "same-origin"}))
        for path, status in (
            ("/healthz", 200),
            ("/static/verify/page.js", 200),
            ("/v1/no-such-route", 404),
            ("/verify?lang=xx", 422),
            ("/boom", 500),
        ):
            r = c.get(path)
            assert r.status_code == status, path
            assert r.headers["x-content-type-options"] == "nosniff", path
            assert r.headers["referrer-policy"] == "no-referrer" and r.headers["x-frame-options"] == "DENY", path
        assert c.get("/boom").json()["type"] == "urn:zel:problem:internal"  # the app's own 500, once
        assert c.get("/own").headers["referrer-policy"] == "same-origin"  # a route's own header stays
        big = c.post("/v1/verify/holder", content=b"x" * (served.ctx.settings.max_body_bytes + 1))
        assert big.status_code == 413 and big.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("root_path", ["", "/zel"])
def test_the_api_documentation_has_its_own_policy_allowing_its_bootstrap_by_hash(
    served: Served, root_path: str
) -> None:
    with served.client(root_path=root_path) as c:
        for path in ("/docs", "/docs/oauth2-redirect"):
            r = c.get(path)
            assert r.status_code == 200
            found = Inline()
            found.feed(r.text)
            policy = csp(r)
            assert found.scripts and all(sha256_source(s) in policy["script-src"] for s in found.scripts), path
            assert "'unsafe-inline'" not in policy["script-src"] and policy["frame-ancestors"] == ["'none'"]
            assert "'unsafe-inline'" not in policy["style-src"] and policy["default-src"] == ["'self'"]
            assert not any("://" in source for sources in policy.values() for source in sources), path  # no host
        docs = c.get("/docs").text
        assert root_path + "/openapi.json" in docs and f'src="{root_path}/static/docs/swagger-ui-bundle.js"' in docs
        assert c.get("/redoc").status_code == 404  # not served: a second bundle for the same document
        assert "content-security-policy" not in c.get("/openapi.json").headers  # JSON, not a page
        pages = csp(c.get("/verify"))
        assert "https://cdn.jsdelivr.net" not in pages["script-src"]  # the pages' policy stays narrow


def test_production_adds_hsts_and_closes_the_documentation_and_metrics_when_told(served: Served) -> None:
    with served.client() as c:
        assert all(c.get(p).status_code == 200 for p in ("/docs", "/openapi.json", "/metrics"))
        assert 'href="/docs"' in c.get("/").text
    with served.client(mode="production") as c:
        for path in ("/verify", "/healthz", "/v1/no-such-route"):
            assert c.get(path).headers["strict-transport-security"] == "max-age=31536000", path
        assert c.get("/docs").status_code == 200 and c.get("/metrics").status_code == 200
    with served.client(mode="production", docs_enabled=False, metrics_enabled=False) as c:
        for path in ("/docs", "/docs/oauth2-redirect", "/openapi.json", "/metrics", "/metrics/"):
            r = c.get(path)
            assert r.status_code == 404, path
            assert r.headers["content-type"] == "application/problem+json"
            assert r.headers["x-content-type-options"] == "nosniff" and "strict-transport-security" in r.headers
        assert 'href="/docs"' not in c.get("/").text  # no link to a closed page
        assert c.get("/verify").status_code == 200 and c.get("/healthz").status_code == 200
    with served.client(metrics_enabled=False) as c:
        assert c.get("/metrics").status_code == 404 and c.get("/docs").status_code == 200
