"""Reading QR codes from images with zxing-cpp (phone photos: rotated, in perspective, low contrast)."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image, ImageOps


class NoQrCode(ValueError):
    """No QR code could be read from the image."""


def read_image(data: bytes) -> str:
    """The text of the first QR code in an image (PNG, JPEG, ...)."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception as exc:  # Pillow raises several types for broken images
        raise NoQrCode(f"not a readable image: {exc}") from exc
    image = ImageOps.exif_transpose(image).convert("L")
    for candidate in (image, ImageOps.autocontrast(image, cutoff=2)):
        results = zxingcpp.read_barcodes(candidate, formats=zxingcpp.BarcodeFormat.QRCode,
                                         try_rotate=True, try_downscale=True)
        if results:
            return results[0].text
    raise NoQrCode("no QR code found in the image")
