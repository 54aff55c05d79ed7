"""Issuing, fetching, anchoring, revoking certificates through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select

from ledger.client import CertificateStatus
from ledger.keys import Sm2Account
from ledger.kinds import Kind
from store.models import SiContribution, User
from tests.schema_certs import digest_of, schema_of, signer_of


def _request(platform, who, body, key=None):
    headers = platform.headers(who) | ({"Idempotency-Key": key} if key else {})
    prefix = "/v1/enterprise" if who.startswith("enterprise") else "/v1/citizen"
    return platform.client.post(f"{prefix}/certificates", json=body, headers=headers)


def test_citizen_requests_a_signed_certificate(platform):
    r = _request(platform, "citizen", {"kind": "si-individual", "period_from": "2025-01", "period_to": "2025-12"})
    assert r.status_code == 201, r.text
    cert = r.json()
    assert cert["state"] == "ISSUED" and cert["anchor"] is None and cert["number"].startswith("3")
    content = cert["content"]  # issued under its kind's schema: the signed header and the QR fields' values
    header, values = content["header"], content["values"]
    assert schema_of(content).slug == "si-individual" and header["department"] == "si.440604"
    assert header["subject"].startswith("4406") and "*" * 10 in header["subject"] and header["subjectName"] == ""
    assert values["months_paid"] + values["months_in_arrears"] == 12 and values["total_fen"] > 0
    assert (values["period_from"], values["period_to"]) == ("2025-01", "2025-12")
    domain = platform.ctx.certificates.domain
    assert "0x" + digest_of(content, domain).hex() == cert["digest"]
    si_key = platform.ctx.certificates.signers["si.440604"]
    assert isinstance(si_key, Sm2Account)  # the demo's social-insurance bureau signs with SM2 (issue 20)
    signer = signer_of(content, domain, cert["signature"], si_key.public_key)
    assert signer == cert["signer"] == si_key.address != platform.ctx.certificates.keys["si.440604"].address
    assert platform.ctx.ledger.is_authorized(signer, Kind.ATTESTATION, header["issuedAt"])
    assert not platform.ctx.ledger.is_authorized(signer, Kind.TAX_CERTIFICATE, header["issuedAt"])


def test_idempotency_key_returns_the_same_certificate(platform):
    body = {"kind": "tax-enterprise", "period_from": "2025-01", "period_to": "2025-03"}
    first = _request(platform, "enterprise", body, key="order-7")
    again = _request(platform, "enterprise", body, key="order-7")
    other = _request(platform, "enterprise", body, key="order-8")
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert first.json()["number"] == again.json()["number"] != other.json()["number"]
    # The same key from another enterprise is a different request.
    theirs = _request(platform, "enterprise2", body, key="order-7")
    assert theirs.status_code == 201 and theirs.json()["number"] != first.json()["number"]


def test_arrears_are_stated_not_refused(platform):
    with platform.ctx.sessions() as s, s.begin():
        person_id = s.scalars(select(User.person_id).where(User.username == "citizen2")).one()
        for row in s.scalars(
            select(SiContribution).where(
                SiContribution.person_id == person_id, SiContribution.month.between("2025-01", "2025-06")
            )
        ):
            row.status = "arrears" if row.month == "2025-04" else "paid"
    r = _request(platform, "citizen2", {"kind": "si-individual", "period_from": "2025-01", "period_to": "2025-06"})
    assert r.status_code == 201
    values = r.json()["content"]["values"]
    assert values["months_in_arrears"] == 1 and values["months_paid"] == 5
    lines = r.json()["detail"]["fields"]["lines"]  # the breakdown: the kind's table outside the QR code
    assert {line["status"] for line in lines if line["month"] == "2025-04"} == {"arrears"}


def test_refusals(platform):
    future = _request(platform, "citizen", {"kind": "si-individual", "period_from": "2025-01", "period_to": "2099-01"})
    assert future.status_code == 422 and future.json()["invalid_params"][0]["name"] == "period_to"
    wrong_kind = _request(
        platform, "citizen", {"kind": "tax-enterprise", "period_from": "2025-01", "period_to": "2025-02"}
    )
    assert wrong_kind.status_code == 422
    empty = _request(platform, "citizen", {"kind": "si-individual", "period_from": "2019-01", "period_to": "2019-02"})
    assert empty.status_code == 422 and empty.json()["type"] == "urn:zel:problem:no-records"
    backwards = _request(
        platform, "citizen", {"kind": "si-individual", "period_from": "2025-05", "period_to": "2025-01"}
    )
    assert backwards.status_code == 422


def test_anchoring_then_revocation_on_chain_and_in_the_store(platform):
    number = platform.certs["citizen"]  # anchored by the fixture
    cert = platform.client.get(f"/v1/citizen/certificates/{number}", headers=platform.headers("citizen")).json()
    assert cert["state"] == "ANCHORED" and cert["anchor"]["tx_hash"] and cert["anchor"]["block_number"]
    root, proof = bytes.fromhex(cert["anchor"]["root"][2:]), [bytes.fromhex(p[2:]) for p in cert["anchor"]["proof"]]
    leaf = bytes.fromhex(cert["digest"][2:])
    ledger = platform.ctx.ledger
    assert ledger.status(root, proof, leaf) == CertificateStatus.ANCHORED

    h = platform.headers("official")
    suspended = platform.client.post(f"/v1/department/certificates/{number}/suspend", json={"reason": 4}, headers=h)
    assert suspended.status_code == 200 and suspended.json()["state"] == "SUSPENDED"
    assert ledger.status(root, proof, leaf) == CertificateStatus.SUSPENDED
    back = platform.client.post(f"/v1/department/certificates/{number}/reinstate", json={}, headers=h)
    assert back.json()["state"] == "ANCHORED" and ledger.status(root, proof, leaf) == CertificateStatus.ANCHORED
    revoked = platform.client.post(
        f"/v1/department/certificates/{number}/revoke", json={"reason": 1, "note": "issued in error"}, headers=h
    )
    assert revoked.status_code == 200 and revoked.json()["status_reason"] == 1
    assert ledger.status(root, proof, leaf) == CertificateStatus.REVOKED
    again = platform.client.post(f"/v1/department/certificates/{number}/revoke", json={"reason": 1}, headers=h)
    assert again.status_code == 409
    other_dept = platform.client.post(
        f"/v1/department/certificates/{platform.certs['enterprise']}/revoke", json={"reason": 1}, headers=h
    )
    assert other_dept.status_code == 403  # a tax certificate: not the social-insurance bureau's to revoke
    actions = [e["action"] for e in platform.client.get("/v1/admin/audit", headers=platform.headers("admin")).json()]
    assert actions[:3] == ["certificate.revoke", "certificate.reinstate", "certificate.suspend"]


def test_revoking_before_anchoring_says_so(platform):
    r = _request(platform, "citizen", {"kind": "si-individual", "period_from": "2025-07", "period_to": "2025-08"})
    number = r.json()["number"]
    refused = platform.client.post(
        f"/v1/department/certificates/{number}/revoke", json={"reason": 1}, headers=platform.headers("official")
    )
    assert refused.status_code == 409 and refused.json()["type"] == "urn:zel:problem:pending-anchor"


def test_pdf_is_chinese_with_an_embedded_font(platform):
    number = platform.certs["enterprise"]
    r = platform.client.get(f"/v1/enterprise/certificates/{number}/pdf", headers=platform.headers("enterprise"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(r.content))
    text = reader.pages[0].extract_text()
    assert "企业纳税证明" in text and number in text and "国家税务总局佛山市禅城区税务局" in text
    fonts = [f.get_object() for f in reader.pages[0]["/Resources"]["/Font"].values()]
    cjk = [f for f in fonts if f["/Subtype"] == "/TrueType"]
    assert cjk, "the Chinese text must use the embedded CJK TrueType font"
    for font in cjk:  # every CJK subset is embedded in the file (phones have no Adobe Asian font pack)
        assert "/FontFile2" in font["/FontDescriptor"].get_object()
        assert "+" in str(font["/BaseFont"])  # a subset tag, e.g. AAAAAA+WenQuanYiMicroHei


def test_lists_show_only_ones_own(platform):
    mine = platform.client.get("/v1/citizen/certificates", headers=platform.headers("citizen")).json()
    theirs = platform.client.get("/v1/citizen/certificates", headers=platform.headers("citizen2")).json()
    assert platform.certs["citizen"] in [c["number"] for c in mine]
    assert platform.certs["citizen"] not in [c["number"] for c in theirs]


def test_expensive_routes_are_rate_limited_per_caller(platform):
    from api.http.limits import RateLimiter

    platform.ctx.expensive_limiter = RateLimiter(3)
    number = platform.certs["enterprise"]
    url = f"/v1/enterprise/certificates/{number}/pdf"
    codes = [platform.client.get(url, headers=platform.headers("enterprise")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = platform.client.get(url, headers=platform.headers("enterprise"))
    assert limited.json()["type"] == "urn:zel:problem:rate-limited" and int(limited.headers["retry-after"]) >= 1
    # Another caller has its own budget.
    mine = platform.client.get(
        f"/v1/citizen/certificates/{platform.certs['citizen']}/pdf", headers=platform.headers("citizen")
    )
    assert mine.status_code == 200
