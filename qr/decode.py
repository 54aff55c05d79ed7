"""Reading QR codes from images with zxing-cpp (phone photos: rotated, in perspective, low contrast).

An uploaded image is untrusted, and a small file can declare a huge picture: a 168 KB PNG holds 144 megapixels
of white (3.4 s and ~700 MB to decode). So only PNG, JPEG and WebP are opened, as Pillow detects them from
the bytes; the pixel count is read from the header before anything is decoded; big photos are decoded reduced
(JPEG draft mode) and resized before zxing sees them; and the service decodes in a small pool with a deadline
(`DECODER`), never on its event loop.
"""

from __future__ import annotations

import asyncio
import io
import math
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import zxingcpp
from PIL import Image, ImageOps, UnidentifiedImageError

import errors

FORMATS = ("PNG", "JPEG", "WEBP")
MAX_PIXELS = 16_000_000  # larger images are refused from their header (a 12-megapixel phone photo fits)
SCAN_PIXELS = 4_000_000  # what zxing is given at most: ~7 camera pixels per module for a QR across a third
# Pillow's own bomb guard, for every caller in the process: it warns above this and refuses above twice this.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# Formats Pillow is never asked to parse, named so the refusal says what was sent.
_OTHER_FORMATS = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "PSD"),
    (b"%PDF", "PDF"),
    (b"<svg", "SVG"),
    (b"<?xml", "SVG"),
)


class NoQrCode(errors.InvalidInput, ValueError):
    """No QR code could be read from the image."""

    code = "no-qr-code"


class UnsupportedImage(NoQrCode):
    """The image is not a PNG, JPEG or WebP (by its bytes, whatever its content type said)."""

    code = "unsupported-image"


class ImageTooLarge(NoQrCode):
    """The image's header declares more than `MAX_PIXELS` pixels."""

    code = "image-too-large"


class DecoderBusy(NoQrCode):
    """The decoder pool is full, or the image was not decoded before the deadline; the same image may be sent
    again shortly."""

    code = "decoder-busy"


def _format_name(data: bytes) -> str | None:
    head = data[:16]
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return "HEIC/AVIF"
    return next((name for magic, name in _OTHER_FORMATS if head.startswith(magic)), None)


def open_image(data: bytes) -> Image.Image:
    """The image with only its header read: a PNG, JPEG or WebP of at most `MAX_PIXELS` pixels.

    Raises `UnsupportedImage`, `ImageTooLarge`, or `NoQrCode` for bytes that are no image at all.
    """
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError as exc:
        other = _format_name(data)
        if other:
            raise UnsupportedImage(f"{other} images are not accepted: send a PNG, JPEG or WebP") from exc
        raise NoQrCode("not a readable image (send a PNG, JPEG or WebP)") from exc
    except Image.DecompressionBombError as exc:  # over twice MAX_PIXELS: Pillow refuses it itself
        raise ImageTooLarge(
            f"the image declares more than {2 * MAX_PIXELS // 1_000_000} megapixels; send at most "
            f"{MAX_PIXELS // 1_000_000} megapixels"
        ) from exc
    except Exception as exc:  # Pillow raises several types for broken headers
        raise NoQrCode(f"not a readable image: {exc}") from exc
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise ImageTooLarge(
            f"the image is {width}×{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"send at most {MAX_PIXELS // 1_000_000} megapixels"
        )
    return image


def _scannable(image: Image.Image) -> Image.Image:
    """Decode `image` to grey levels, at most `SCAN_PIXELS` pixels (JPEGs decode reduced by 1/2, 1/4 or 1/8)."""
    width, height = image.size
    scale = math.sqrt(SCAN_PIXELS / (width * height))
    if scale < 1 and image.format == "JPEG":
        image.draft("L", (math.ceil(width * scale), math.ceil(height * scale)))
    try:
        image.load()
        image = ImageOps.exif_transpose(image).convert("L")
    except Exception as exc:  # truncated or corrupt data, a broken EXIF block
        raise NoQrCode(f"not a readable image: {exc}") from exc
    if image.width * image.height > SCAN_PIXELS:
        scale = math.sqrt(SCAN_PIXELS / (image.width * image.height))
        image = image.resize(
            (max(1, int(image.width * scale)), max(1, int(image.height * scale))), Image.Resampling.BOX
        )
    return image


def read_image(data: bytes) -> str:
    """The text of the first QR code in an image (PNG, JPEG or WebP). Blocks for up to a second or so."""
    image = _scannable(open_image(data))
    for candidate in (image, ImageOps.autocontrast(image, cutoff=2)):
        results = zxingcpp.read_barcodes(
            candidate,
            formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
            try_rotate=True,
            try_downscale=True,
        )
        if results:
            return results[0].text
    raise NoQrCode("no QR code found in the image")


class DecoderPool:
    """Runs `read_image` off the event loop: `workers` threads (Pillow and zxing release the GIL while they
    work), at most `queue` images waiting or running, each answered within `timeout` seconds.

    A decode that overruns keeps its thread until it ends (a thread cannot be stopped), but the limits above
    make that bounded: the pixel caps keep one decode under a second, and a full pool answers `DecoderBusy`
    at once instead of queueing without end.
    """

    def __init__(self, workers: int = 2, queue: int = 8, timeout: float = 5.0) -> None:
        self.workers, self.timeout = workers, timeout
        self._slots = threading.BoundedSemaphore(queue)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="qr-decode")
            return self._pool

    def submit(self, data: bytes) -> Future[str]:
        """Queue one image; `DecoderBusy` when `queue` images are already waiting or running."""
        if not self._slots.acquire(blocking=False):
            raise DecoderBusy("the image decoder is busy; retry in a few seconds")
        try:
            future = self._executor().submit(read_image, data)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        return future

    async def read(self, data: bytes) -> str:
        """`read_image` in the pool, awaited without blocking the event loop."""
        future = self.submit(data)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError as exc:
            future.cancel()  # frees the slot if the image was still waiting
            raise DecoderBusy(f"the image was not decoded within {self.timeout:g} s; retry later") from exc

    def shutdown(self) -> None:
        """Stop the threads (they are started again on the next image)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


DECODER = DecoderPool()
