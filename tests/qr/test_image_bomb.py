"""Issue 15: one small image must not stall the service.

A 168 KB PNG declares 144 megapixels; decoding it took 3.4 s and ~700 MB on the event loop, and every route
waited. Now the header is checked first (16 megapixels at most), only PNG, JPEG and WebP are opened, photos
are reduced before zxing, and decoding runs in a bounded pool with a deadline.
"""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from PIL import Image

from qr import decode as qr_decode
from qr.decode import DecoderBusy, DecoderPool, ImageTooLarge, NoQrCode, UnsupportedImage, read_image
from qr.render import png
from tests.pages.conftest import LiveServer, live  # noqa: F401 - the service on a loopback port (uvicorn)

URL = "https://zel.chancheng.gov.cn/verify#" + "31415926535897932384" * 12


def bomb(side: int = 12000) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (side, side), 255).save(buf, "PNG", optimize=True)
    return buf.getvalue()


@pytest.fixture(scope="module")
def big_bomb() -> bytes:
    data = bomb()
    assert len(data) < 200_000  # 144 megapixels in ~168 KB
    return data


def photo(url: str, size: tuple[int, int] = (4000, 3000), fmt: str = "JPEG") -> bytes:
    """A 12-megapixel "phone photo": the QR code small on a big grey desk (fits the 1 MiB body limit)."""
    code = Image.open(io.BytesIO(png(url, box_size=8))).convert("L").rotate(9, expand=True, fillcolor=255)
    scene = Image.linear_gradient("L").resize(size).point(lambda v: 90 + v // 3)
    scene.paste(code, (size[0] // 3, size[1] // 4))
    buf = io.BytesIO()
    scene.convert("RGB").save(buf, fmt, quality=80)
    return buf.getvalue()


def other(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(png(URL))).convert("RGB").save(buf, fmt)
    return buf.getvalue()


# -- the decoder ---------------------------------------------------------------------------------------


def test_the_bomb_is_refused_from_its_header(big_bomb: bytes) -> None:
    smaller = bomb(5000)  # 25 megapixels: under Pillow's refusal (twice its limit), over ours
    started = time.perf_counter()
    with pytest.raises(ImageTooLarge, match="16 megapixels"):
        read_image(big_bomb)
    with pytest.raises(ImageTooLarge, match="25 megapixels"):
        read_image(smaller)
    assert time.perf_counter() - started < 0.5
    assert Image.MAX_IMAGE_PIXELS == qr_decode.MAX_PIXELS  # anything else in the process is guarded too
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(big_bomb))


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_formats_are_refused_whatever_their_content_type(fmt: str) -> None:
    with pytest.raises(UnsupportedImage, match=f"{fmt} images are not accepted"):
        read_image(other(fmt))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_twelve_megapixel_photo_still_decodes_quickly(fmt: str) -> None:
    data = photo(URL, fmt=fmt)
    started = time.perf_counter()
    assert read_image(data) == URL
    assert time.perf_counter() - started < 2.5


def test_the_pool_is_bounded_and_has_a_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    release = threading.Event()

    def stuck(data: bytes) -> str:
        release.wait(10)
        return "late"

    monkeypatch.setattr(qr_decode, "read_image", stuck)
    pool = DecoderPool(workers=1, queue=2, timeout=0.3)
    try:
        first = pool.submit(b"a")
        pool.submit(b"b")
        with pytest.raises(DecoderBusy, match="busy"):
            pool.submit(b"c")  # two waiting or running: the third is refused at once
        release.set()
        assert first.result(5) == "late"
        release.clear()
        started = time.perf_counter()
        with pytest.raises(DecoderBusy, match="within 0.3 s"):
            asyncio.run(pool.read(b"d"))
        assert time.perf_counter() - started < 1.5
    finally:
        release.set()
        pool.shutdown()


# -- through the real HTTP service -----------------------------------------------------------------------


@pytest.fixture
def served(live: LiveServer) -> str:  # noqa: F811 - the imported fixture
    return live.base


# A decode on the event loop stalls every route for seconds; a healthz on a loaded 2-core CI machine has taken 0.8 s.
STALL = 1.5


class HealthProbe:
    """GET /healthz every 50 ms in a thread; the slowest answer is what a bomb would have stalled."""

    def __init__(self, base: str) -> None:
        self.base, self._stop, self._ready = base, threading.Event(), threading.Event()
        self.latencies: list[float] = []
        self.statuses: set[int] = set()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as client:
            client.get("/healthz")  # the connection is opened before anything is measured
            self._ready.set()
            while not self._stop.is_set():
                started = time.perf_counter()
                self.statuses.add(client.get("/healthz").status_code)
                self.latencies.append(time.perf_counter() - started)
                time.sleep(0.05)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.2)
        self._stop.set()
        self._thread.join(15)


def post_image(base: str, data: bytes, content_type: str = "image/png") -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    r = httpx.post(base + "/v1/verify", content=data, headers={"Content-Type": content_type}, timeout=30)
    return r, time.perf_counter() - started


def test_the_bomb_is_answered_at_once_while_healthz_keeps_answering(served: str, big_bomb: bytes) -> None:
    with HealthProbe(served) as probe, ThreadPoolExecutor(4) as callers:
        answers = list(callers.map(lambda _: post_image(served, big_bomb), range(4)))
    for r, seconds in answers:
        assert r.status_code == 413 and seconds < 1.0
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"] == "urn:zel:problem:image-too-large" and "megapixels" in r.json()["detail"]
    assert probe.statuses == {200} and max(probe.latencies) < STALL


def test_decoding_big_images_does_not_hold_up_other_routes(served: str) -> None:
    # 16 megapixels (the most allowed) of blocky noise: a full PNG decode, a resize and two zxing passes
    noise = Image.effect_noise((800, 800), 100).convert("L").point(lambda v: 255 if v > 128 else 0)
    buf = io.BytesIO()
    noise.resize((4000, 4000), Image.Resampling.NEAREST).save(buf, "PNG")
    noisy = buf.getvalue()
    assert len(noisy) < 1_000_000
    with HealthProbe(served) as probe, ThreadPoolExecutor(4) as callers:
        answers = list(callers.map(lambda _: post_image(served, noisy), range(4)))
    assert {r.status_code for r, _ in answers} == {422}  # no QR code in noise, said within the deadline
    assert all(r.json()["type"] == "urn:zel:problem:no-qr-code" for r, _ in answers)
    assert probe.statuses == {200} and max(probe.latencies) < STALL


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_formats_get_415(served: str, fmt: str) -> None:
    r, _ = post_image(served, other(fmt))  # labelled image/png: the bytes decide
    assert r.status_code == 415 and r.json()["type"] == "urn:zel:problem:unsupported-image"
    r, _ = post_image(served, other(fmt), f"image/{fmt.lower()}")
    assert r.status_code == 415


def test_a_photo_of_a_real_certificate_still_verifies(live: LiveServer) -> None:  # noqa: F811
    number = live.issue()
    r, _ = post_image(live.base, photo(live.url(number)), "image/jpeg")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "VALID" and r.json()["certificate"]["number"] == number
    none, _ = post_image(live.base, b"\x89PNG nope")
    assert none.status_code == 422 and none.json()["type"] == "urn:zel:problem:no-qr-code"


def test_the_cli_reader_keeps_its_error_type() -> None:
    # `zel verify IMAGE` catches NoQrCode: every refusal is one.
    for error in (UnsupportedImage, ImageTooLarge, DecoderBusy):
        assert issubclass(error, NoQrCode)
