"""The pages under their Content-Security-Policy in headless Chromium: the verify page (a link, and a hard phone
photo decoded by ZXing's WebAssembly, which only the two decoding pages may compile), the inspector page (the
camera), the enterprise profile (its hashed inline script), the enterprise's own page (its module and style), the
home page and Swagger UI's bootstrap all work, and the browser reports no violation; an injected inline script is
refused.

Under this policy `page.wait_for_function` needs a function (`"() => ..."`): Playwright evaluates one once, but
re-evaluates a bare expression with `eval` at every poll, which the policy (rightly) refuses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from credit.codes_qr import enterprise_code
from tests.pages.conftest import LiveServer, sign_in_and_scan
from tests.pages.photos import one_photo
from zero_errand.certificates import CertKind

LISTEN = """window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));"""


class Watch:
    """What the browser said about the policy: `securitypolicyviolation` events of the current document, console
    errors naming the policy, and uncaught page errors, across navigations."""

    def __init__(self, page: Any) -> None:
        self.page, self.console, self.errors = page, list[str](), list[str]()
        page.add_init_script(LISTEN)
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _console(self, message: Any) -> None:
        if message.type == "error" and re.search(r"Content.Security.Policy|Refused to", message.text):
            self.console.append(message.text)

    def violations(self) -> list[str]:
        return [*self.page.evaluate("window.__csp || []"), *self.console, *self.errors]


@pytest.fixture
def watched(page: Any) -> tuple[Any, Watch]:
    return page, Watch(page)


def test_the_verify_page_checks_a_link_and_decodes_a_photo_with_no_violation(
    live: LiveServer, watched, tmp_path: Path
) -> None:
    page, watch = watched
    url = live.url(live.issue(CertKind.TAX_ENTERPRISE, 0))
    response = page.goto(url)
    script_src = re.search(r"script-src[^;]*", response.headers["content-security-policy"])[0]
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "'wasm-unsafe-eval'" in script_src
    page.wait_for_selector("#verdict[data-status]", timeout=15000)
    assert page.get_attribute("#verdict", "data-status") == "VALID"
    assert page.evaluate("getComputedStyle(document.querySelector('#verdict')).color") == "rgb(255, 255, 255)"
    assert watch.violations() == []
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(one_photo(url, pixels_per_module=4.0))  # dim, blurred, tilted: jsQR read none such
    page.goto(live.base + "/verify?lang=en")
    page.wait_for_selector("#scan:not([hidden])")
    page.set_input_files("#photo", str(photo))  # the decoder and its .wasm load on demand
    page.wait_for_selector("#verdict[data-status]", timeout=15000)
    assert page.get_attribute("#verdict", "data-status") == "VALID"
    assert watch.violations() == []


@pytest.fixture
def camera(camera_page: tuple[Any, str]) -> tuple[Any, Watch, str]:
    """The fake-camera page, watched for policy violations from its first navigation."""
    page, uscc = camera_page
    return page, Watch(page), uscc


def test_the_inspector_page_scans_with_the_camera_with_no_violation(live: LiveServer, camera) -> None:
    page, watch, uscc = camera
    sign_in_and_scan(page, live, uscc)
    assert watch.violations() == []


def test_the_profile_page_checks_its_code_with_its_hashed_script(live: LiveServer, watched) -> None:
    page, watch = watched
    uscc = live.usccs[0]
    page.goto(enterprise_code(live.ctx.ledger, live.ctx.certificates.keys["amr.440604"], live.base, uscc))
    page.wait_for_selector("#code[data-valid]")
    assert page.get_attribute("#code", "data-valid") == "true" and "市场监管" in page.inner_text("#code")
    assert page.evaluate("getComputedStyle(document.querySelector('#grade')).fontWeight") == "700"
    assert watch.violations() == []


def test_the_enterprise_page_runs_its_module_and_styles_with_no_violation(live: LiveServer, watched) -> None:
    page, watch = watched
    page.goto(live.base + "/enterprise?lang=en")
    page.wait_for_selector("#login:not([hidden])")  # the module ran
    assert page.inner_text("#login h2") == "Enterprise sign-in"
    assert page.evaluate("getComputedStyle(document.querySelector('.grades')).display") == "grid"  # its inline style
    assert watch.violations() == []


def test_the_home_page_and_the_swagger_bootstrap_run_with_no_violation(live: LiveServer, watched) -> None:
    page, watch = watched
    page.goto(live.base + "/")
    assert page.evaluate("getComputedStyle(document.querySelector('a.btn')).color") == "rgb(255, 255, 255)"
    assert watch.violations() == []
    # Swagger UI's bundle is served from this origin (no internet here): its inline bootstrap loads the document.
    page.goto(live.base + "/docs")
    page.wait_for_selector(".opblock", timeout=20000)
    assert page.evaluate("ui.specSelectors.url()") == "/openapi.json"  # the inline bootstrap's `const ui`
    assert watch.violations() == []


def test_only_the_decoding_pages_may_compile_webassembly(live: LiveServer) -> None:
    import httpx

    uscc = live.usccs[0]
    for path, wasm in (
        ("/verify", True),
        ("/inspect?lang=en", True),
        ("/", False),
        (f"/e/{uscc}", False),
        ("/enterprise", False),
    ):
        policy = httpx.get(live.base + path).headers["content-security-policy"]
        script_src = re.search(r"script-src[^;]*", policy)[0]
        assert ("'wasm-unsafe-eval'" in script_src) is wasm, (path, script_src)
        assert "'unsafe-eval'" not in script_src and "'unsafe-inline'" not in script_src
        assert "https:" not in policy and "jsdelivr" not in policy  # the .wasm is ours, from /static


def test_an_injected_inline_script_is_refused(live: LiveServer, watched, console) -> None:
    console.allowed.append("Executing inline script violates")  # the refusal this test provokes
    page, watch = watched
    page.goto(live.base + "/verify")
    page.evaluate("""() => { const s = document.createElement("script"); s.textContent = "window.__pwned = 1";
                             document.body.append(s); }""")
    page.wait_for_function("() => window.__csp.length > 0")
    assert page.evaluate("window.__pwned") is None
    assert any(v.startswith("script-src") for v in watch.violations())
