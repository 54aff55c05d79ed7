"""The compact payload: round trips, sizes (QR versions), malformed input, and reading real QR images."""

from __future__ import annotations

import io
import os

import pytest
from eth_account import Account
from PIL import Image, ImageEnhance, ImageFilter

from qr.decode import NoQrCode, read_image
from qr.payload import PayloadError, decode, encode, from_digits, payload_from_text, to_digits, verify_url
from qr.render import png, svg, version_of
from qr.signed import Content, Domain, recover_signer, sign

KEY = Account.create()
DOMAIN = Domain(131277322940537, "0x" + "22" * 20)
LONG_NAME = "佛山市禅城区明发陶瓷五金制品进出口有限公"  # 20 Chinese characters


def content(kind: int, subject: str, name: str = "", total: int = 123_456_789) -> Content:
    return Content(
        kind,
        1,
        f"{kind}2026112212345678",
        subject,
        name,
        20089,
        20453,
        total,
        11,
        1,
        "0x" + os.urandom(32).hex(),
        1_795_387_059,
        20869,
        {1: "tax.440604", 2: "tax.440604", 5: "amr.440604"}.get(kind, "si.440604"),
    )


CASES = [
    content(1, "4406**********123X"),
    content(3, "4406**********0042"),
    content(2, "91440604MA51XK0A1K", LONG_NAME),
    content(4, "91440604MA51XK0A1K", LONG_NAME),
    content(5, "91440604MA51XK0A1K", LONG_NAME, total=100),
]


@pytest.mark.parametrize("c", CASES, ids=lambda c: f"kind{c.kind}")
def test_round_trip_and_qr_version_floor(c):
    _, signature = sign(c, DOMAIN, KEY)
    payload = encode(c, signature)
    back = decode(payload)
    assert back.content == c and back.signature == signature
    assert recover_signer(back.content, DOMAIN, back.signature) == KEY.address
    url = verify_url("https://zel.chancheng.gov.cn", payload)
    assert payload_from_text(url) == payload and from_digits(to_digits(payload)) == payload
    assert version_of(url, "Q") <= 13  # the floor: a standard certificate fits version 13 at level Q


def test_malformed_payloads_are_refused_precisely():
    c = CASES[2]
    payload = encode(c, sign(c, DOMAIN, KEY)[1])
    with pytest.raises(PayloadError, match="version"):
        decode(bytes([9]) + payload[1:])
    with pytest.raises(PayloadError, match="truncated"):
        decode(payload[:-5])
    with pytest.raises(PayloadError, match="after the signature"):
        decode(payload + b"\0")
    with pytest.raises(PayloadError, match="digits"):
        payload_from_text("https://x/verify#12ab")
    with pytest.raises(PayloadError, match="marker"):
        from_digits("12345")


def test_png_and_svg_decode_with_zxing():
    c = CASES[3]
    url = verify_url("https://zel.chancheng.gov.cn", encode(c, sign(c, DOMAIN, KEY)[1]))
    assert read_image(png(url)) == url
    assert b"<svg" in svg(url)[:200]


def _photo(data: bytes) -> Image.Image:
    """Make a QR image look like a phone photo: rotated, in perspective, low contrast, slightly blurred."""
    code = Image.open(io.BytesIO(data)).convert("L")
    img = Image.new("L", (int(code.width * 1.6), int(code.height * 1.6)), 255)  # the desk around the paper
    img.paste(code, ((img.width - code.width) // 2, (img.height - code.height) // 2))
    img = img.rotate(17, expand=True, fillcolor=255)
    w, h = img.size
    coeffs = (1.0, 0.08, -10, 0.02, 1.0, -5, 0.00012, 0.00006)  # seen from a little below and to the side
    img = img.transform((w, h), Image.Transform.PERSPECTIVE, coeffs, fillcolor=255)
    img = ImageEnhance.Contrast(img).enhance(0.35)
    return img.filter(ImageFilter.GaussianBlur(1.2))


def test_phone_photo_decodes():
    c = CASES[2]
    url = verify_url("https://zel.chancheng.gov.cn", encode(c, sign(c, DOMAIN, KEY)[1]))
    buf = io.BytesIO()
    _photo(png(url, box_size=6)).convert("RGB").save(buf, format="JPEG", quality=70)
    assert read_image(buf.getvalue()) == url


def test_images_without_a_code():
    blank = io.BytesIO()
    Image.new("L", (200, 200), 255).save(blank, format="PNG")
    with pytest.raises(NoQrCode, match="no QR code"):
        read_image(blank.getvalue())
    with pytest.raises(NoQrCode, match="not a readable image"):
        read_image(b"not an image")
