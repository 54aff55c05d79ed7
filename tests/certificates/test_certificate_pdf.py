"""A person's certificate PDF reads like the department's paper one: the holder's name and full ID number, Beijing
time with the zone stated, amounts with thousands separators; its QR still carries the masked number only."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from qr.payload import payload_from_text
from store.models import Certificate
from tests.schema_certs import decoded
from zero_errand.pdf import beijing_time, money, render
from zero_errand.people import find_person
from zero_errand.verification import url_of

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # rendering is store-independent
THOUSANDS = re.compile(r"¥\d{1,3}(?:,\d{3})+\.\d{2}")


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _citizen1(platform) -> tuple[str, str]:
    """citizen1's name and full ID number, as seeded."""
    id_number = platform.client.creds.people[0]
    with platform.ctx.sessions() as s:
        person = find_person(s, platform.ctx.pii, id_number)
        return platform.ctx.pii.decrypt(person.name_enc, "person.name"), id_number


@SQLITE
def test_a_personal_certificate_names_its_holder_in_beijing_time_and_yuan(platform, tmp_path: Path) -> None:
    ctx, number = platform.ctx, platform.certs["citizen"]  # social insurance, six months, anchored
    name, id_number = _citizen1(platform)
    with ctx.sessions() as s:
        cert = s.scalars(select(Certificate).where(Certificate.number == number)).one()
        pdf = render(cert, ctx.settings.public_url, pii=ctx.pii)
        masked_pdf = render(cert, ctx.settings.public_url)  # without the keys: the masked number, as before
        url, total, issued = url_of(cert, ctx.settings.public_url), cert.content["values"]["total_fen"], cert.issued_at
    text = _text(pdf)
    assert name in text and id_number in text
    issued_utc = issued if issued.tzinfo else issued.replace(tzinfo=UTC)
    local = issued_utc.astimezone(timezone(timedelta(hours=8)))
    assert f"{local:%Y年%m月%d日 %H:%M}" in text and "北京时间" in text and "UTC" not in text.replace("UTC+8", "")
    assert beijing_time(issued) in text
    assert total >= 1_000_00 and money(total) in text and THOUSANDS.search(money(total))
    assert all(THOUSANDS.fullmatch(m) or "," not in m for m in re.findall(r"¥[\d,]+\.\d{2}", text))
    assert id_number not in _text(masked_pdf) and "4406" + "*" * 14 in _text(masked_pdf)
    # The PDF the holder downloads is the one with the name and full number.
    served = platform.client.get(f"/v1/citizen/certificates/{number}/pdf", headers=platform.headers("citizen"))
    assert served.status_code == 200 and name in _text(served.content) and id_number in _text(served.content)

    # The printed QR code (rasterised as a scanner sees it) still holds the masked number only.
    (tmp_path / "cert.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp_path / "cert.pdf"), str(tmp_path / "scan")],
        check=True,
        timeout=60,
    )
    codes = zxingcpp.read_barcodes(Image.open(tmp_path / "scan.png"), formats=zxingcpp.BarcodeFormat.QRCode)
    assert [c.text for c in codes] == [url]
    subject = decoded(payload_from_text(codes[0].text)).header["subject"]
    assert subject == id_number[:4] + "*" * 14 and id_number not in codes[0].text


def test_beijing_time_and_amount_formats() -> None:
    assert beijing_time(datetime(2026, 12, 3, 12, 15, tzinfo=UTC)) == "2026年12月03日 20:15（北京时间 UTC+8）"
    assert beijing_time(datetime(2026, 12, 31, 16, 0)) == "2027年01月01日 00:00（北京时间 UTC+8）"  # naive is UTC
    assert money(1_234_567) == "¥12,345.67" and money(5) == "¥0.05" and money(123_456_789_00) == "¥123,456,789.00"
