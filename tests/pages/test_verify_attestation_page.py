"""Issue 19: the verify page reads an attestation of a kind registered from a schema file, with no code of its own
for the kind: its title, its fields' labels and enum values come from the schema in the key list, in Chinese and in
English; it verifies VALID in Chromium at phone width, INVALID once altered, REVOKED once its department revokes it,
and the holder check answers for it as for any certificate. Issue 20: a certificate signed with SM2 verifies too, and
the page names the signature suite."""

from __future__ import annotations

from datetime import date, timedelta

from qr import attestation
from qr.payload import payload_from_text, to_digits
from tests.pages.conftest import LiveServer, phone_context, shot
from tests.pages.test_verify_page import checks, open_verdict
from zero_errand.certificates import CertKind

RESIDENCE = {"address": "禅城区祖庙路18号之一", "since": "2019-09-01", "purpose": "school"}
RECEIPT = {
    "school": "禅城区实验小学",
    "grade": "junior-1",
    "received_on": str(date.today() - timedelta(days=2)),
    "complete": False,
    "household_register": "0x" + "ab" * 32,
    "note": "缺少预防接种证",
}


def test_an_attestation_shows_its_kind_and_fields_from_the_schema_in_both_languages(
    live: LiveServer, browser, console, request
) -> None:
    url = live.url(live.attest("residence-proof", RESIDENCE))
    context = phone_context(browser, 360)
    page = console.attach(context.new_page())
    try:
        assert open_verdict(page, url) == "VALID"
        details = page.inner_text("#cert")
        for text in (
            "居住证明",
            "佛山市公安局禅城分局",
            "居住地址",
            "禅城区祖庙路18号之一",
            "居住起始日期",
            "2019-09-01",
            "子女入学",
        ):
            assert text in details, (text, details)
        assert page.is_hidden("#detail-note")  # every field of a residence proof is in its QR code
        assert all(t.startswith("✔") for t in checks(page).values()), checks(page)
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
        shot(page, request, "residence-proof-zh")
        page.click("#lang-switch")
        details = page.inner_text("#cert")
        for text in ("Residence certificate", "Address", "Resident since", "School enrolment"):
            assert text in details, (text, details)
        assert "居住地址" not in details and "子女入学" not in details
        shot(page, request, "residence-proof-en")
    finally:
        context.close()
    assert not console.unexpected(), console.unexpected()


def test_a_receipt_with_fields_outside_its_qr_code_says_so_and_checks_its_holder(live: LiveServer, page) -> None:
    number = live.attest("school-enrolment-receipt", RECEIPT, index=1)
    assert open_verdict(page, live.url(number)) == "VALID"
    details = page.inner_text("#cert")
    for text in (
        "入学材料回执",
        "佛山市禅城区教育局",
        "学校",
        "禅城区实验小学",
        "入学年级",
        "初中一年级",
        "材料齐全",
        "否",
    ):
        assert text in details, (text, details)
    assert "缺少预防接种证" not in page.inner_text("body")  # the note is in the holder's detail, not the QR code
    assert page.is_visible("#detail-note") and "持证人" in page.inner_text("#detail-note")
    page.fill("#holder-id", live.people[1])
    page.click("#holder-form button")
    page.wait_for_selector("#holder-result[data-match=true]")
    page.fill("#holder-id", live.people[0])
    page.click("#holder-form button")
    page.wait_for_selector("#holder-result[data-match=false]")


def test_an_altered_attestation_is_invalid_and_a_revoked_one_revoked(live: LiveServer, page) -> None:
    number = live.attest("residence-proof", RESIDENCE)
    url = live.url(number)
    head, _ = url.split("#")
    data = payload_from_text(url)
    # the purpose byte (the last QR field, before the 64-byte signature) turned from school to work
    altered = data[:-65] + bytes([data[-65] ^ 1]) + data[-64:]
    assert attestation.decode(altered, live.ctx.key_lists().resolver().kinds()).values["purpose"] == "work"
    assert open_verdict(page, f"{head}#{to_digits(altered)}") == "INVALID"
    assert checks(page)["signature"].startswith("✘")
    assert "就业" in page.inner_text("#cert")  # what the altered code claims is shown beside the refusal
    live.change(number, "revoke")
    assert open_verdict(page, url) == "REVOKED"
    assert page.inner_text("#verdict") == "已撤销"


def test_an_sm2_certificate_verifies_in_the_browser_and_the_page_names_each_suite(live: LiveServer, page) -> None:
    """Issue 20: the demo's social-insurance bureau signs with SM2 over SM3 (payload format 3), the tax bureau with
    secp256k1 over EIP-712: both verify VALID on the page, which names each one's suite in the reader's language; an
    altered SM2 certificate is INVALID for the reason an altered secp256k1 one is."""
    si, tax = live.url(live.issue(CertKind.SI_ENTERPRISE, 0)), live.url(live.issue(CertKind.TAX_ENTERPRISE, 0))
    data = payload_from_text(si)
    assert data[0] == attestation.SM2_VERSION and payload_from_text(tax)[0] == attestation.VERSION
    for url, zh, en in ((si, "SM2/SM3（国密）", "SM2/SM3"), (tax, "SECP256K1（EIP-712）", "secp256k1 (EIP-712)")):
        assert open_verdict(page, url) == "VALID"
        assert all(t.startswith("✔") for t in checks(page).values()), checks(page)
        assert f"签名算法\n{zh}" in page.inner_text("#cert")
        page.click("#lang-switch")
        assert f"Signature suite\n{en}" in page.inner_text("#cert")
    altered = data[:-69] + bytes([data[-69] ^ 1]) + data[-68:]  # the last QR field's last byte, before the key id
    assert open_verdict(page, f"{si.split('#')[0]}#{to_digits(altered)}") == "INVALID"
    assert page.get_attribute("#checks li[data-check=signature]", "data-code") == "unknown-signer"
    assert "SM2/SM3（国密）" in page.inner_text("#cert")
