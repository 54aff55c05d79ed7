"""The verify page in headless Chromium at 360 px: the verdict for valid, tampered, revoked, suspended and expired
certificates, the English switch, the holder check, and that only the digest leaves the phone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from qr.payload import payload_from_text, to_digits
from qr.signed import from_day_number
from tests.pages.conftest import LiveServer
from tests.schema_certs import decoded, retyped
from zero_errand.certificates import CertKind


def open_verdict(page, url: str) -> str:  # noqa: ANN001 - a Playwright page
    page.goto("about:blank")  # a fresh load even when only the fragment differs
    page.goto(url)
    page.wait_for_selector("#verdict[data-status]", timeout=15000)
    return page.get_attribute("#verdict", "data-status")


def checks(page) -> dict[str, str]:  # noqa: ANN001
    return {li.get_attribute("data-check"): li.inner_text() for li in page.query_selector_all("#checks li")}


def test_a_valid_certificate_shows_valid_with_its_details_and_fits_360_px(live: LiveServer, page) -> None:
    number = live.issue(CertKind.TAX_ENTERPRISE, 0)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url} {r.post_data or ''}"))
    url = live.url(number)
    assert open_verdict(page, url) == "VALID"
    assert page.inner_text("#verdict") == "有效"
    details = page.inner_text("#cert")
    assert number in details and live.usccs[0] in details
    assert "企业纳税证明" in details and "国家税务总局佛山市禅城区税务局" in details
    assert "所属期起\n2025-01" in details and "所属期止\n2025-06" in details  # the schema's fields and labels
    assert all(text.startswith("✔") for text in checks(page).values())
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling on a phone
    fragment = url.split("#", 1)[1]
    digest = re.search(r"/v1/verify/status/(0x[0-9a-f]{64})", " ".join(requests)).group(1)
    assert not [r for r in requests if fragment in r or fragment[:40] in r]  # the payload never left the page
    assert not [r for r in requests if r.startswith("POST")]
    with live.ctx.sessions() as s:
        from sqlalchemy import select

        from store.models import Certificate

        assert s.scalars(select(Certificate.digest).where(Certificate.number == number)).one() == digest


def test_a_tampered_certificate_is_invalid(live: LiveServer, page) -> None:
    url = live.url(live.issue(CertKind.TAX_ENTERPRISE, 1))
    data = payload_from_text(url)
    richer = retyped(data, values={"total_fen": decoded(data).values["total_fen"] + 100_000_00})
    forged = url.split("#")[0] + "#" + to_digits(richer)
    assert open_verdict(page, forged) == "INVALID"
    assert checks(page)["signature"].startswith("✘")
    assert page.inner_text("#verdict") == "无效"
    digits = url.split("#")[1]
    garbled = url.split("#")[0] + "#" + digits[:30] + str((int(digits[30]) + 1) % 10) + digits[31:]
    assert open_verdict(page, garbled) == "INVALID"


def test_revoked_and_suspended_certificates_say_so(live: LiveServer, page) -> None:
    revoked, suspended = live.issue(CertKind.TAX_ENTERPRISE, 0), live.issue(CertKind.SI_ENTERPRISE, 1)
    live.change(revoked, "revoke")
    live.change(suspended, "suspend")
    assert open_verdict(page, live.url(revoked)) == "REVOKED"
    assert page.inner_text("#verdict") == "已撤销"
    assert open_verdict(page, live.url(suspended)) == "SUSPENDED"
    assert page.inner_text("#verdict") == "已暂停" and "paused" in page.get_attribute("#verdict", "class")
    assert "签发机关核实后可能恢复" in page.inner_text("#status-note")
    live.change(suspended, "reinstate")
    assert open_verdict(page, live.url(suspended)) == "VALID"


def test_an_expired_certificate_is_expired(live: LiveServer, page) -> None:
    url = live.url(live.issue(CertKind.TAX_ENTERPRISE, 2))
    expires = from_day_number(decoded(payload_from_text(url)).header["expiresOn"])
    page.clock.set_fixed_time(
        datetime.combine(expires + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=12)
    )
    assert open_verdict(page, url) == "EXPIRED"
    assert checks(page)["expiry"].startswith("✘") and str(expires) in checks(page)["expiry"]


def test_the_english_switch_keeps_the_certificate(live: LiveServer, page) -> None:
    url = live.url(live.issue(CertKind.SI_ENTERPRISE, 0))
    assert open_verdict(page, url) == "VALID"
    page.click("#lang-switch")
    assert page.inner_text("#verdict") == "Valid"
    assert page.get_attribute("html", "lang") == "en"
    assert "Enterprise social-insurance participation certificate" in page.inner_text("#cert")
    assert "lang=en" in page.url and page.url.endswith(url.split("#")[1])
    page.reload()
    page.wait_for_selector("#verdict[data-status]")
    assert page.inner_text("#verdict") == "Valid"  # the choice survives a reload
    page.click("#lang-switch")
    assert page.inner_text("#verdict") == "有效"


def test_the_holder_check_matches_only_the_holder(live: LiveServer, page, console) -> None:
    console.allowed.append("status of 422")  # the malformed number below
    enterprise = live.url(live.issue(CertKind.TAX_ENTERPRISE, 0))
    assert open_verdict(page, enterprise) == "VALID"
    pasted = " ".join(live.usccs[0].lower()[i : i + 6] for i in range(0, 18, 6))  # as people paste it
    page.fill("#holder-id", pasted)
    page.click("#holder-form button")
    page.wait_for_selector("#holder-result[data-match=true]")
    page.fill("#holder-id", live.usccs[1])
    page.click("#holder-form button")
    page.wait_for_selector("#holder-result[data-match=false]")
    citizen = live.url(live.issue(CertKind.SI_INDIVIDUAL, 0))
    assert open_verdict(page, citizen) == "VALID"
    assert live.people[0] not in page.content()  # only the masked number is shown
    page.fill("#holder-id", live.people[1])
    page.click("#holder-form button")
    page.wait_for_selector("#holder-result[data-match=false]")
    page.fill("#holder-id", live.people[0])
    page.click("#holder-form button")
    page.wait_for_selector("#holder-result[data-match=true]")
    page.fill("#holder-id", live.people[0][:17] + ("0" if live.people[0][17] != "0" else "1"))
    page.click("#holder-form button")
    page.wait_for_function("() => document.querySelector('#holder-result').textContent.includes('号码格式有误')")


def test_a_photo_of_the_code_is_decoded_in_the_browser(live: LiveServer, page, tmp_path) -> None:
    import io

    from qr.render import png
    from tests.qr.test_payload import _photo

    url = live.url(live.issue(CertKind.SI_ENTERPRISE, 2))
    photo = tmp_path / "photo.jpg"
    buf = io.BytesIO()
    _photo(png(url, box_size=6)).convert("RGB").save(buf, format="JPEG", quality=70)
    photo.write_bytes(buf.getvalue())
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(live.base + "/verify")
    page.wait_for_selector("#scan:not([hidden])")
    page.set_input_files("#photo", str(photo))
    page.wait_for_selector("#verdict[data-status]", timeout=15000)
    assert page.get_attribute("#verdict", "data-status") == "VALID"
    assert page.url.endswith(url.split("#")[1])
    assert not [r for r in requests if r.rstrip("/").endswith("/v1/verify")]  # no upload: decoded on the phone
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("L", (300, 300), 255).save(blank)
    page.goto(live.base + "/verify")
    page.set_input_files("#photo", str(blank))
    page.wait_for_function("() => document.querySelector('#scan-error').textContent.length > 0")
    assert "未找到二维码" in page.inner_text("#scan-error")
