"""Phone-like photos of a certificate's QR code, made with Pillow from a fixed seed: the code on paper on a desk,
rotated up to ±25°, in slight perspective, at 3.6–9.6 camera pixels per module, unevenly lit, low in contrast,
blurred, with sensor noise, saved as JPEG at quality 30–80. What the page's decoder is measured on."""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass

from eth_account import Account
from eth_utils import keccak
from PIL import Image, ImageChops, ImageFilter

from qr.payload import encode, verify_url
from qr.render import build
from qr.signed import Content, Domain, sign

HI = 8  # pixels per module while the geometry is drawn; the photo is scaled down from this
# How hard the photos are (ranges drawn from uniformly): tuned so that zxing-cpp (the server's decoder) reads all
# 40, for this payload and for others (measured on six), and jsQR (the pages' decoder before zxing-wasm) 14 to 16.
INK, PAPER, DESK = (50, 130), (160, 240), (90, 170)  # grey levels under full light
TILT = 0.08  # perspective: each corner moves by up to this share of the picture
BLUR = (0.1, 0.25)  # Gaussian blur radius, in modules (0.35 and zxing-cpp starts to miss)
LIGHT = (70, 190)  # the dark side of the light field, of 255
SHADOW = 0.6  # the deepest soft shadow, as a share of the light
NOISE = (3, 10)  # sensor noise, standard deviation in grey levels


@dataclass(frozen=True)
class Photo:
    jpeg: bytes
    pixels_per_module: float
    angle: float
    quality: int


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (8 unknowns: no numpy needed)."""
    n = len(b)
    m = [row[:] + [v] for row, v in zip(a, b, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                m[r] = [x - f * y for x, y in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def _quad(size: tuple[int, int], src: list[tuple[float, float]]) -> list[float]:
    """Pillow's PERSPECTIVE coefficients that map the output's corners (clockwise from top left) onto `src`."""
    w, h = size
    rows, rhs = [], []
    for (x, y), (u, v) in zip([(0, 0), (w, 0), (w, h), (0, h)], src, strict=True):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        rhs += [u, v]
    return _solve(rows, rhs)


def _camera(size: int, rng: random.Random, angle: float, tilt: float) -> tuple[int, list[float]]:
    """The view of a `size`-square scene turned by `angle` degrees, each corner moved by up to `tilt` of the
    size (perspective): the output's side and the transform's coefficients, in one resampling."""
    turn = math.radians(angle)
    cos, sin = math.cos(turn), math.sin(turn)
    side = math.ceil(size * (abs(cos) + abs(sin)))
    c, c2 = size / 2, side / 2
    src = []
    for x, y in [(0, 0), (side, 0), (side, side), (0, side)]:
        dx, dy = x - c2, y - c2
        src.append(
            (
                c + cos * dx - sin * dy + rng.uniform(-tilt, tilt) * size,
                c + sin * dx + cos * dy + rng.uniform(-tilt, tilt) * size,
            )
        )
    return side, _quad((side, side), src)


def _light(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A light field: brighter on one side (a window), falling to 27–75 % on the other, with a soft shadow."""
    lo = rng.randint(*LIGHT)
    ramp = Image.linear_gradient("L").point(lambda v: lo + (255 - lo) * v // 255)
    ramp = ramp.rotate(rng.uniform(0, 360), resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    ramp = ramp.crop((48, 48, 208, 208)).resize(size, Image.Resampling.BICUBIC)
    depth = rng.uniform(0.0, SHADOW)
    shadow = Image.radial_gradient("L").point(lambda v: int(255 - (255 - v) * depth))
    ox, oy = rng.randint(0, size[0]), rng.randint(0, size[1])  # a quarter of the gradient, somewhere
    box = (ox * 128 / size[0], oy * 128 / size[1], ox * 128 / size[0] + 128, oy * 128 / size[1] + 128)
    return ImageChops.multiply(ramp, shadow.resize(size, Image.Resampling.BICUBIC, box=box))


def photo(matrix: list[list[bool]], rng: random.Random, pixels_per_module: float) -> Photo:
    """One photo of a QR code's modules (`qr.render.build(url).get_matrix()`, with its quiet zone)."""
    n = len(matrix)
    ink, paper = rng.randint(*INK), rng.randint(*PAPER)
    code = Image.new("L", (n, n))
    code.putdata([ink if dark else paper for row in matrix for dark in row])
    code = code.resize((n * HI, n * HI), Image.Resampling.NEAREST)
    margin = rng.randint(2, 8) * HI  # paper beyond the quiet zone
    sheet = Image.new("L", (code.width + 2 * margin, code.height + 2 * margin), paper)
    sheet.paste(code, (margin, margin))
    desk = rng.randint(*DESK)
    side = int(sheet.width * rng.uniform(1.25, 1.6))
    scene = Image.new("L", (side, side), desk)
    scene.paste(
        sheet,
        (
            (side - sheet.width) // 2 + rng.randint(-HI * 4, HI * 4),
            (side - sheet.height) // 2 + rng.randint(-HI * 4, HI * 4),
        ),
    )
    angle = rng.uniform(-25, 25)
    view, coefficients = _camera(side, rng, angle, TILT)
    scene = scene.transform(
        (view, view), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BICUBIC, fillcolor=desk
    )
    scale = pixels_per_module / HI  # Lanczos rings a little at edges, as a phone's sharpening does
    scene = scene.resize((round(scene.width * scale), round(scene.height * scale)), Image.Resampling.LANCZOS)
    scene = scene.filter(ImageFilter.GaussianBlur(pixels_per_module * rng.uniform(*BLUR)))
    scene = ImageChops.multiply(scene, _light(scene.size, rng))
    sigma = rng.uniform(*NOISE)  # uniform noise of this standard deviation (Pillow's effect_noise is not seeded)
    noise = Image.frombytes("L", scene.size, rng.randbytes(scene.width * scene.height))
    scene = ImageChops.add(scene, noise.point(lambda v: round(128 + (v - 128) * sigma / 74)), 1.0, -128)
    warm = (1.0, rng.uniform(0.94, 1.0), rng.uniform(0.82, 0.97))  # indoor light is yellowish
    rgb = Image.merge("RGB", [scene.point(lambda v, f=f: int(v * f)) for f in warm])
    quality = rng.randint(30, 80)
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=quality)
    return Photo(out.getvalue(), pixels_per_module, angle, quality)


def certificate_url(base: str = "https://zel.chancheng.gov.cn", salt: str = "5a" * 32) -> str:
    """The verify URL of an enterprise's tax certificate (a 20-character name: a long one), signed by a fixed key:
    the QR code such a certificate prints, the same at every run, so the photo set is too."""
    content = Content(
        2,
        1,
        "22026112212345678",
        "91440604MA51XK0A1K",
        "佛山市禅城区明发陶瓷五金制品进出口有限公",
        20089,
        20453,
        123_456_789,
        0,
        0,
        "0x" + salt,
        1_795_387_059,
        20869,
        "tax.440604",
    )
    key = Account.from_key(keccak(text="zel photo set"))
    return verify_url(base, encode(content, sign(content, Domain(131277322940537, "0x" + "22" * 20), key)[1]))


def one_photo(url: str, pixels_per_module: float = 4.5, seed: int = 7) -> bytes:
    """A JPEG of one such photo of the QR code of `url`."""
    return photo(build(url).get_matrix(), random.Random(seed), pixels_per_module).jpeg


def photo_set(url: str, count: int = 40, seed: int = 20261203) -> list[Photo]:
    """`count` photos of the QR code of `url`, their sharpness spread evenly over 3.6–9.6 pixels per module."""
    rng = random.Random(seed)
    matrix = build(url).get_matrix()  # as the certificate's PDF prints it (level Q)
    return [photo(matrix, rng, 3.6 + 6.0 * i / (count - 1)) for i in range(count)]
