"""QR codes for verify URLs: the URL prefix in byte mode, the payload digits in numeric mode; PNG and SVG."""

from __future__ import annotations

import io

import qrcode
from qrcode.image.svg import SvgPathImage
from qrcode.util import MODE_8BIT_BYTE, MODE_NUMBER, QRData

ECC = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}


def build(url: str, ecc: str = "Q", box_size: int = 8, border: int = 4) -> qrcode.QRCode:
    """A QR code for `url`: everything up to `#` as bytes, the digits after it in numeric mode."""
    prefix, sep, digits = url.partition("#")
    code = qrcode.QRCode(error_correction=ECC[ecc], box_size=box_size, border=border)
    code.add_data(QRData((prefix + sep).encode(), mode=MODE_8BIT_BYTE))
    if digits:
        code.add_data(QRData(digits, mode=MODE_NUMBER))
    code.make(fit=True)
    return code


def version_of(url: str, ecc: str = "Q") -> int:
    return build(url, ecc).version


def png(url: str, ecc: str = "Q", box_size: int = 8) -> bytes:
    buf = io.BytesIO()
    build(url, ecc, box_size).make_image().save(buf, format="PNG")
    return buf.getvalue()


def svg(url: str, ecc: str = "Q") -> bytes:
    buf = io.BytesIO()
    build(url, ecc).make_image(image_factory=SvgPathImage).save(buf)
    return buf.getvalue()
