"""The pages read photos of a certificate's QR code as well as the server does. On 40 phone-like photos of one
certificate's code (tests/pages/photos.py, fixed payload and seed) zxing-cpp, the server's decoder (qr.decode), reads
every one; the pages' decoder (web/scan/decode.js: the phone's BarcodeDetector where it has one, else ZXing-C++'s
WebAssembly) reads at least 95 % of them in Chromium, under the decoding pages' Content-Security-Policy, with its
.wasm from /static and nothing from another host. jsQR, the pages' decoder before, read 14 of them.

The committed bundles are served to Chromium from a made-up origin (`page.route`): no service is started."""

from __future__ import annotations

import base64
import mimetypes
from typing import Any

import pytest

from api.http.headers import SCAN_POLICY
from qr.decode import NoQrCode, read_image
from tests.pages.conftest import shot
from tests.pages.photos import Photo, certificate_url, photo_set
from tests.pages.test_bundle import STATIC

ORIGIN = "https://zel.test"
DECODE = """async (photos) => {
  const { decodePhoto } = await import("/static/scan/decode.js");
  const out = [];
  for (const b64 of photos) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    out.push(await decodePhoto(new Blob([bytes], { type: "image/jpeg" })));
  }
  return out;
}"""
# A stand-in for the phone's own detector: it answers `window.__native` (a list of raw values) and counts its calls.
NATIVE = """window.__calls = 0;
globalThis.BarcodeDetector = class {
  static async getSupportedFormats() { return ["qr_code", "ean_13"]; }
  constructor(options) { if (!options.formats.includes("qr_code")) throw new TypeError("formats"); }
  async detect(image) { window.__calls++; return (window.__native || []).map((rawValue) => ({ rawValue })); }
};"""


@pytest.fixture(scope="module")
def certificate() -> tuple[str, list[Photo]]:
    """A certificate's verify URL and the 40 photos of its QR code."""
    url = certificate_url()
    return url, photo_set(url)


def served(page: Any) -> list[str]:
    """Serve `ORIGIN`: a blank page under the decoding pages' policy, and api/http/pages/static as the service does.
    Returns the list of URLs the page asks for (from any host)."""
    asked: list[str] = []

    def answer(route: Any) -> None:
        path = route.request.url.removeprefix(ORIGIN).split("?")[0]
        if path == "/verify":
            route.fulfill(
                body="<!doctype html><title>decoding</title>",
                content_type="text/html",
                headers={"Content-Security-Policy": SCAN_POLICY},
            )
        elif path.startswith("/static/") and (STATIC / path.removeprefix("/static/")).is_file():
            file = STATIC / path.removeprefix("/static/")
            route.fulfill(body=file.read_bytes(), content_type=mimetypes.guess_type(file.name)[0])
        else:
            route.fulfill(status=404, body="")

    page.on("request", lambda r: asked.append(r.url))
    page.route("**/*", lambda route: answer(route) if route.request.url.startswith(ORIGIN) else route.abort())
    page.goto(ORIGIN + "/verify")
    return asked


def test_the_server_decoder_reads_every_photo(certificate: tuple[str, list[Photo]]) -> None:
    url, photos = certificate
    assert len(photos) == 40
    assert {round(p.pixels_per_module, 1) for p in photos} >= {3.6, 9.6}
    assert max(abs(p.angle) for p in photos) > 20 and {p.quality for p in photos} <= set(range(30, 81))

    def reads(photo: Photo) -> str | None:
        try:
            return read_image(photo.jpeg)
        except NoQrCode:
            return None

    missed = [i for i, p in enumerate(photos) if reads(p) != url]
    assert not missed, f"zxing-cpp missed photos {missed}: the set is harder than the server's decoder"


def test_the_page_decoder_reads_at_least_95_percent_from_our_own_wasm(
    page: Any, request: pytest.FixtureRequest, certificate: tuple[str, list[Photo]]
) -> None:
    url, photos = certificate
    asked = served(page)
    read = page.evaluate(DECODE, [base64.b64encode(p.jpeg).decode() for p in photos])
    missed = [i for i, text in enumerate(read) if text != url]
    print(f"the page's decoder read {40 - len(missed)} of 40 photos; missed {missed}")
    assert len(missed) <= 2, f"the page's decoder missed photos {missed} of 40"
    assert [u for u in asked if ".wasm" in u] == [f"{ORIGIN}/static/zxing/zxing_reader.wasm?v=3.1.6"]
    assert all(u.startswith(ORIGIN) for u in asked), [u for u in asked if not u.startswith(ORIGIN)]
    page.goto("about:blank")  # the photo, for a person to look at: a data: image, which the policy refuses
    page.set_content(f'<img src="data:image/jpeg;base64,{base64.b64encode(photos[0].jpeg).decode()}" width=340>')
    shot(page, request, "hardest-photo")


def test_the_phones_own_detector_goes_first_and_zxing_reads_what_it_misses(
    page: Any, certificate: tuple[str, list[Photo]]
) -> None:
    url, photos = certificate
    page.add_init_script(NATIVE)
    asked = served(page)
    photo = [base64.b64encode(photos[-1].jpeg).decode()]
    page.evaluate("window.__native = ['read by the phone']")
    assert page.evaluate(DECODE, photo) == ["read by the phone"]
    assert not [u for u in asked if ".wasm" in u]  # never fetched while the phone reads codes itself
    page.evaluate("window.__native = []")
    assert page.evaluate(DECODE, photo) == [url]
    assert page.evaluate("window.__calls") == 2 and len([u for u in asked if ".wasm" in u]) == 1
