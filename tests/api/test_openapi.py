"""Issue 16.2: the API documentation. Every operation is summarized, described and tagged by audience; every tag is
described; `/docs` is Swagger UI from this package (npm `swagger-ui-dist`, pinned and copied by `npm run build:web`)
with no outside host, and ReDoc is not served."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Iterator
from glob import glob
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.context import build_context
from api.http.app import create_app
from api.settings import Settings
from tests.conftest import ROOT

AUDIENCES = {"public", "citizen", "enterprise", "department", "inspector", "admin", "auth", "operations"}
ASSETS = ROOT / "api" / "http" / "pages" / "static" / "docs"
DIST = ROOT / "node_modules" / "swagger-ui-dist"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    root = tmp_path_factory.mktemp("openapi")
    ctx = build_context(
        Settings(mode="development", data_dir=root / "data", database_url=f"sqlite:///{root / 'store.sqlite'}"),
        open_chain=False,
    )
    yield create_app(ctx)
    ctx.engine.dispose()


def test_every_operation_is_described_and_tagged_by_audience(app) -> None:
    spec = TestClient(app).get("/openapi.json").json()
    tags = {t["name"]: t.get("description", "") for t in spec["tags"]}
    assert set(tags) == AUDIENCES and all(d.strip() for d in tags.values()), "every tag is an audience, described"
    undocumented, untagged, used = [], [], set()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            name = f"{method.upper()} {path}"
            if not op.get("summary", "").strip() or not op.get("description", "").strip():
                undocumented.append(name)
            if not op.get("tags") or not set(op["tags"]) <= set(tags):
                untagged.append(f"{name} {op.get('tags')}")
            used.update(op.get("tags", []))
    assert undocumented == [], f"give these a summary and a description (docstring): {undocumented}"
    assert untagged == [], f"tag these with one of {sorted(tags)}: {untagged}"
    assert used == set(tags), f"declared tags no operation uses: {set(tags) - used}"
    credit = {
        t for path, item in spec["paths"].items() if "/credit" in path for op in item.values() for t in op["tags"]
    }
    assert credit == {"public", "enterprise", "department"}  # the credit routes sit with their callers


def test_the_docs_page_loads_only_from_this_origin(app) -> None:
    for root_path in ("", "/zel"):
        with TestClient(app, root_path=root_path) as c:
            html = c.get("/docs").text
            urls = re.findall(r"""(?:src|href)=["']([^"']+)""", html)
            assert urls and all(u.startswith(root_path + "/") and not u.startswith("//") for u in urls), urls
            assert re.findall(r"https?://", html) == []  # not in the bootstrap either (no validator badge)
            assert "validatorUrl" in html and f"'{root_path}/openapi.json'" in html
            for url in urls:  # every asset it names is served
                assert c.get(url).status_code == 200, url  # the full path, as a server behind a proxy sees it
            assert c.get("/docs/oauth2-redirect").status_code == 200
            assert c.get("/redoc").status_code == 404


def test_the_committed_swagger_assets_are_the_pinned_package(app) -> None:
    package = json.loads((ROOT / "package.json").read_text())
    pinned = package["devDependencies"]["swagger-ui-dist"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", pinned), "pin swagger-ui-dist exactly (npm install --save-exact)"
    assert json.loads((DIST / "package.json").read_text())["version"] == pinned, "run npm ci"
    scripts = package["scripts"]
    assert "npm run build:docs" in scripts["build:web"]
    copied = [
        a for a in shlex.split(scripts["build:docs"]) if a.startswith(("swagger-ui", "favicon", "LICENSE", "NOTICE"))
    ]
    committed = sorted(p.name for p in ASSETS.iterdir())
    assert sorted(copied) == committed
    stale = [name for name in committed if (ASSETS / name).read_bytes() != (DIST / name).read_bytes()]
    assert stale == [], f"run `npm run build:web` and commit api/http/pages/static/docs/: {stale}"
    html = TestClient(app).get("/docs").text
    assert all(
        f"/static/docs/{name}" in html for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
    )


def test_the_package_data_ships_every_static_file() -> None:
    """`pip install .` carries api/http/pages/static/ (subdirectories included), so no Node is needed at run time."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["api"]
    api = ROOT / "api"
    shipped = {Path(f) for pattern in patterns for f in glob(str(api / pattern), recursive=True) if Path(f).is_file()}
    static = {p for p in (api / "http" / "pages" / "static").rglob("*") if p.is_file()}
    assert static and static <= shipped, sorted(str(p.relative_to(api)) for p in static - shipped)
    assert {ASSETS / "swagger-ui-bundle.js", ASSETS / "swagger-ui.css"} <= shipped
