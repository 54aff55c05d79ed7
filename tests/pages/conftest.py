"""Page fixtures: the service on a real loopback port (uvicorn in a thread) and headless Debian Chromium."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from PIL import Image

from api.context import AppContext
from api.demo import seed
from api.http.app import create_app
from api.provisioning import provisioned_context
from api.settings import Settings
from credit.codes_qr import enterprise_code
from qr.render import png
from store.db import transaction
from tests.conftest import free_port
from zero_errand.certificates import CertKind
from zero_errand.issuance import Subject
from zero_errand.verification import url_of

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@dataclass
class LiveServer:
    base: str
    ctx: AppContext
    usccs: list[str]
    people: list[str]  # ID numbers
    server: uvicorn.Server
    passwords: dict[str, str]  # demo username -> password

    def issue(self, kind: CertKind = CertKind.TAX_ENTERPRISE, index: int = 0) -> str:
        """Issue and anchor a certificate to the index-th enterprise (or person, for citizen kinds); its number."""
        from zero_errand.people import find_person

        with transaction(self.ctx.sessions) as session:
            subject = (
                Subject(uscc=self.usccs[index])
                if kind.for_enterprise
                else Subject(person_id=find_person(session, self.ctx.pii, self.people[index]).id)
            )
            number = self.ctx.certificates.request(
                session,
                kind=kind,
                subject=subject,
                period_from="2025-01",
                period_to="2025-06",
                actor="client:test",
                actor_role="enterprise",
            )[0].number
        self.ctx.certificates.anchorer(max_wait=0).run_once(force=True)
        return number

    def attest(self, slug: str, fields: dict[str, Any], index: int = 0) -> str:
        """Issue and anchor an attestation of the demo kind `slug` (kinds/files/, registered here as the district
        admin registers it; again is a no-op) to the index-th person; its number."""
        from kinds.schema import load
        from zero_errand.kind_registry import register

        admin = self.ctx.settings.keystore().load("admin")
        files = Path(__file__).resolve().parents[2] / "kinds" / "files"
        for path in sorted(files.glob("*.json")):
            register(self.ctx.require_ledger(), admin, self.ctx.sessions, load(path.read_bytes()))
        with transaction(self.ctx.sessions) as session:
            number = (
                self.ctx.require_certificates()
                .attest(session, kind=slug, subject=self.people[index], fields=fields, actor="user:test", role="admin")
                .number
            )
        self.ctx.certificates.anchorer(max_wait=0).run_once(force=True)
        return number

    def url(self, number: str) -> str:
        from sqlalchemy import select

        from store.models import Certificate

        with self.ctx.sessions() as session:
            cert = session.scalars(select(Certificate).where(Certificate.number == number)).one()
            return url_of(cert, self.base)

    def change(self, number: str, action: str) -> None:
        from sqlalchemy import select

        from store.models import Certificate

        with transaction(self.ctx.sessions) as session:
            dept = session.scalars(select(Certificate.department).where(Certificate.number == number)).one()
            self.ctx.certificates.change_status(
                session, number, action, department=dept, reason=1, note="test", actor="user:test"
            )


def start_server(app: Any, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    return server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root: Path = tmp_path_factory.mktemp("live")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ctx = provisioned_context(
        Settings(
            data_dir=root / "data",
            database_url=f"sqlite:///{root / 'store.sqlite'}",
            public_url=base,
            expensive_rate_per_minute=1000,
        )
    )
    with transaction(ctx.sessions) as session:
        creds = seed(session, ctx.pii)
    server = start_server(create_app(ctx), port)
    yield LiveServer(base, ctx, creds.usccs, creds.people, server, {u: p for u, _, p in creds.users})
    server.should_exit = True
    time.sleep(0.2)
    ctx.ledger.close()
    ctx.engine.dispose()


@pytest.fixture(scope="package")  # closed after tests/pages: its event loop must not outlive the page suites
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


# Screenshots of every page state the tests reach, one folder per test, for a person to look through after a run
# (tests/output/ is not committed).
SCREENSHOTS = Path(__file__).resolve().parents[1] / "output" / "screenshots"
PHONE_WIDTHS = (360, 390, 414)  # the narrowest common Android width, iPhone 12-15, iPhone Plus / large Android


class ConsoleWatch:
    """Console errors and uncaught exceptions of the pages of one test; the test fails on any of them."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[str] = []  # substrings of errors a test provokes on purpose (a refused request)

    def attach(self, page: Any) -> Any:
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: self.errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None,
        )
        return page

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allowed)]


@pytest.fixture
def console() -> ConsoleWatch:
    return ConsoleWatch()


def shot(page: Any, request: pytest.FixtureRequest, state: str) -> Path:
    """Save a full-page screenshot of the page's current state under tests/output/screenshots/<test>/."""
    folder = SCREENSHOTS / "".join(c if c.isalnum() or c in "-_." else "_" for c in request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{state}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def phone_context(browser: Any, width: int = 360, locale: str = "zh-CN", **extra: Any) -> Any:
    return browser.new_context(
        viewport={"width": width, "height": 800},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale=locale,
        **extra,
    )


@pytest.fixture
def page(browser: Any, console: ConsoleWatch) -> Iterator[Any]:
    """A phone-sized page (360 px wide, the narrowest common Android width); the test fails on a console error."""
    context = phone_context(browser)
    page = console.attach(context.new_page())
    yield page
    context.close()
    assert not console.unexpected(), f"console errors on the page: {console.unexpected()}"


def page_width(page: Any) -> int:
    """How wide the page's content is: more than the viewport means a sideways scroll on a phone."""
    return int(page.evaluate("document.scrollingElement.scrollWidth"))


def y4m_of(image: Image.Image, path: Path, frames: int = 10) -> None:
    """A Y4M video (what Chromium's fake camera plays) of a still image on a grey desk, 640x480, 4:2:0."""
    frame = Image.new("L", (640, 480), 200)
    code = image.convert("L")
    code.thumbnail((420, 420))
    frame.paste(code, ((640 - code.width) // 2, (480 - code.height) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * (320 * 240)
    with path.open("wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma + chroma)


@pytest.fixture
def camera_page(live: LiveServer, browser: Any, tmp_path: Path, console: ConsoleWatch) -> Iterator[tuple[Any, str]]:
    """A second Chromium, launched by the package's Playwright (one Playwright per thread), whose fake camera
    films an enterprise's one code; yields its page and the enterprise's USCC. The test fails on a console error."""
    uscc = live.usccs[1]
    url = enterprise_code(live.ctx.ledger, live.ctx.certificates.keys["amr.440604"], live.base, uscc)
    video = tmp_path / "code.y4m"
    y4m_of(Image.open(io.BytesIO(png(url, box_size=6))), video)
    filming = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    context = filming.new_context(
        viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, permissions=["camera"], locale="zh-CN"
    )
    yield console.attach(context.new_page()), uscc
    filming.close()
    assert not console.unexpected(), f"console errors on the page: {console.unexpected()}"


def sign_in(page: Any, live: LiveServer, query: str = "") -> None:
    """Open the inspector page and sign in as the demo inspector."""
    page.goto(live.base + "/inspect" + query)
    page.wait_for_selector("#login:not([hidden])")
    page.fill("#username", "inspector1")
    page.fill("#password", live.passwords["inspector1"])
    page.click("#login-form button")
    page.wait_for_selector("#scan:not([hidden])")


def sign_in_and_scan(page: Any, live: LiveServer, uscc: str) -> None:
    """On the fake-camera page: sign in as the demo inspector, scan, and wait for the enterprise's standing."""
    sign_in(page, live)
    page.click("#camera")
    page.wait_for_selector("#standing:not([hidden])", timeout=20000)
    assert uscc in page.inner_text("#name")
