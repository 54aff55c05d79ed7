"""Issue 16.2: `/docs` renders Swagger UI in headless Chromium with no outside host (there is no internet here,
and the district's network may have none either): every request it makes goes to the service, every operation and
webhook of /openapi.json is shown, the policy reports no violation and the console no error."""

from __future__ import annotations

from typing import Any

import httpx

from tests.pages.conftest import LiveServer, shot

LISTEN = """window.__csp = [];
document.addEventListener("securitypolicyviolation",
                          (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));"""


def test_docs_render_every_operation_from_this_origin_only(live: LiveServer, page: Any, request: Any) -> None:
    spec = httpx.get(live.base + "/openapi.json").json()
    operations = sum(len(item) for item in spec["paths"].values())
    requested: list[str] = []

    def record(route: Any) -> None:
        requested.append(route.request.url)
        if route.request.url.startswith(live.base + "/"):
            route.continue_()
        else:
            route.abort()  # and the assertion below names it

    page.route("**/*", record)
    page.add_init_script(LISTEN)
    page.set_viewport_size({"width": 1280, "height": 900})
    response = page.goto(live.base + "/docs")
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    page.wait_for_selector(".opblock-summary", timeout=20000)
    page.wait_for_function(f"() => document.querySelectorAll('.opblock').length >= {operations}")
    shot(page, request, "docs")

    shown = page.locator(".opblock").count()
    assert shown == operations + len(spec["webhooks"])  # Swagger UI lists the webhooks as operations too
    text = page.inner_text("body")
    assert all(tag["name"] in text for tag in spec["tags"])
    assert "Webhooks" in text and all(event in text for event in spec["webhooks"])
    assert page.evaluate("window.__csp") == []
    assert [u for u in requested if not u.startswith(live.base + "/")] == []
    assert {
        live.base + "/static/docs/swagger-ui-bundle.js",
        live.base + "/static/docs/swagger-ui.css",
        live.base + "/openapi.json",
    } <= set(requested)

    # An operation opens and shows its description (here the public standing, described in credit.py).
    page.click("#operations-public-public_standing_v1_public_enterprises__uscc__standing_get .opblock-summary")
    page.wait_for_selector(
        "#operations-public-public_standing_v1_public_enterprises__uscc__standing_get .opblock-description-wrapper"
    )
    assert "public credit profile" in page.inner_text(
        "#operations-public-public_standing_v1_public_enterprises__uscc__standing_get"
    )
    assert page.evaluate("window.__csp") == []
