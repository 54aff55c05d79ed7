"""The verification pipeline end to end: API, CLI and every verdict."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date, timedelta

from sqlalchemy import select

from qr.payload import payload_from_text, verify_url
from qr.render import png
from qr.verify import verify_text
from store.db import transaction
from store.models import Certificate
from tests.schema_certs import decoded, resigned, retyped
from zero_errand.certificates import CertKind
from zero_errand.standard_kinds import standard_kind
from zero_errand.verification import LedgerResolver


def _url(platform, number):
    prefix = "/v1/enterprise" if number.startswith(("2", "4")) else "/v1/citizen"
    who = "enterprise" if prefix == "/v1/enterprise" else "citizen"
    return platform.client.get(f"{prefix}/certificates/{number}", headers=platform.headers(who)).json()["verify_url"]


def _verify(platform, text):
    r = platform.client.post("/v1/verify", json={"text": text})
    assert r.status_code == 200, r.text
    return r.json()


def test_valid_pending_tampered_revoked_suspended_expired(platform):
    url = _url(platform, platform.certs["enterprise"])
    valid = _verify(platform, url)
    assert valid["status"] == "VALID" and all(c["ok"] for c in valid["checks"])
    assert valid["certificate"]["subject"] == platform.usccs[0] and valid["certificate"]["kind_zh"] == "企业纳税证明"

    fresh = platform.client.post(
        "/v1/citizen/certificates",
        headers=platform.headers("citizen"),
        json={"kind": "si-individual", "period_from": "2025-02", "period_to": "2025-03"},
    ).json()
    assert _verify(platform, fresh["verify_url"])["status"] == "PENDING_ANCHOR"

    data = payload_from_text(url)
    forged = retyped(data, values={"total_fen": decoded(data).values["total_fen"] * 10})
    tampered = _verify(platform, verify_url("https://x", forged))
    assert tampered["status"] == "INVALID" and "altered" in tampered["checks"][-1]["en"]
    garbage = _verify(platform, "https://x/verify#123")
    assert garbage["status"] == "INVALID" and garbage["checks"][0]["name"] == "format"

    number = platform.certs["citizen"]
    citizen_url = _url(platform, number)
    h = platform.headers("official")
    platform.client.post(f"/v1/department/certificates/{number}/suspend", json={"reason": 4}, headers=h)
    assert _verify(platform, citizen_url)["status"] == "SUSPENDED"
    platform.client.post(f"/v1/department/certificates/{number}/revoke", json={"reason": 3}, headers=h)
    revoked = _verify(platform, citizen_url)
    assert revoked["status"] == "REVOKED" and revoked["checks"][-1]["zh"] == "证明已被撤销"

    resolver = LedgerResolver(platform.ctx.sessions, platform.ctx.ledger)
    later = date.today() + timedelta(days=200)
    assert verify_text(url, resolver, today=later).status == "EXPIRED"


def test_status_route_reveals_only_the_status(platform):
    with platform.ctx.sessions() as s:
        digest = s.scalars(select(Certificate.digest).where(Certificate.number == platform.certs["enterprise"])).one()
    r = platform.client.get(f"/v1/verify/status/{digest}")
    assert r.json() == {"status": "anchored"}
    assert platform.client.get(f"/v1/verify/status/0x{'00' * 32}").json() == {"status": "unknown"}
    assert platform.client.get("/v1/verify/status/0x1234").status_code == 422
    # A suspension adds the reason code the department gave, and nothing else.
    with transaction(platform.ctx.sessions) as s:
        platform.ctx.certificates.change_status(
            s,
            platform.certs["enterprise"],
            "suspend",
            department="tax.440604",
            reason=4,
            note="private note",
            actor="user:test",
        )
    assert platform.client.get(f"/v1/verify/status/{digest}").json() == {"status": "suspended", "reason": 4}


def test_verify_a_photo_of_the_qr(platform):
    url = _url(platform, platform.certs["enterprise"])
    r = platform.client.post("/v1/verify", content=png(url), headers={"Content-Type": "image/png"})
    assert r.status_code == 200 and r.json()["status"] == "VALID"
    none = platform.client.post("/v1/verify", content=b"\x89PNG nope", headers={"Content-Type": "image/png"})
    assert none.status_code == 422 and none.json()["type"] == "urn:zel:problem:no-qr-code"


def test_cli_verify_exit_codes_and_batch(zel_bin, platform, tmp_path):
    url = _url(platform, platform.certs["enterprise"])
    (tmp_path / "qr.png").write_bytes(png(url))
    (tmp_path / "batch.txt").write_text(f"{url}\nhttps://x/verify#123\n{tmp_path / 'qr.png'}\n")
    settings = platform.ctx.settings
    env = {**os.environ, "ZEL_DATA_DIR": str(settings.root), "ZEL_DATABASE_URL": settings.db_url}
    platform.ctx.ledger.close()  # the embedded chain is held by one process at a time
    one = subprocess.run([zel_bin, "verify", url, "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout)["status"] == "VALID"
    batch = subprocess.run(
        [zel_bin, "verify", "--batch", str(tmp_path / "batch.txt"), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert batch.returncode == 1
    assert [json.loads(line)["status"] for line in batch.stdout.splitlines()] == ["VALID", "INVALID", "VALID"]


def test_a_department_key_outside_its_kinds_or_window_is_an_untrusted_issuer(platform):
    """Signed by a real department key the ledger knows, but not authorized for that kind, or not yet at the
    stated issue time: IssuerRegistry's rule as the online resolver applies it."""
    service = platform.ctx.certificates
    data = payload_from_text(_url(platform, platform.certs["enterprise"]))  # tax-enterprise
    tax = service.keys["tax.440604"]
    # the tax key may not sign social insurance: the same fields, as an si-enterprise certificate
    as_si = resigned(data, tax, service.domain, kind=standard_kind(CertKind.SI_ENTERPRISE))
    before = resigned(data, tax, service.domain, header={"issuedAt": 1_000_000_000})  # 2001: before its window
    for forged, why in ((as_si, "belongs to tax.440604, not to si.440604"), (before, "not authorized")):
        result = _verify(platform, verify_url("https://x", forged))
        assert result["status"] == "UNTRUSTED_ISSUER", result
        assert result["checks"][-1]["name"] == "issuer" and result["checks"][-1]["ok"] is False
        assert why in result["checks"][-1]["en"]
        assert result["signer"].lower() == tax.address.lower()


def test_another_departments_root_and_key_cannot_touch_a_certificate(platform):
    """The attacks of trust model 1, through the service: the social-insurance key anchors a root of its own
    holding the tax bureau's certificate's digest and revokes it there; then it signs content that names the
    tax bureau. The tax certificate stays VALID, and the forgery is UNTRUSTED_ISSUER, saying which key it was."""
    from ledger.kinds import Kind
    from ledger.merkle import MerkleTree

    ctx = platform.ctx
    url = _url(platform, platform.certs["enterprise"])  # a tax-enterprise certificate, anchored
    data = payload_from_text(url)
    assert decoded(data).header["department"] == "tax.440604"
    valid = _verify(platform, url)
    si_key = ctx.certificates.keys["si.440604"]
    tree = MerkleTree.of([bytes.fromhex(valid["digest"][2:]), os.urandom(32)])
    ctx.ledger.anchor_root(si_key, tree.root, Kind.SOCIAL_INSURANCE_CERTIFICATE, 2)
    digest = bytes.fromhex(valid["digest"][2:])
    ctx.ledger.revoke(si_key, tree.root, tree.proof(digest), digest, 3)
    assert _verify(platform, url)["status"] == "VALID"
    status = platform.client.get(f"/v1/verify/status/{valid['digest']}", params={"department": "si.440604"})
    assert status.json()["status"] == "foreign-anchor"  # a verifier told another department is not fooled
    assert platform.client.get(f"/v1/verify/status/{valid['digest']}").json()["status"] == "anchored"

    number = decoded(data).header["number"]
    forged = resigned(data, si_key, ctx.certificates.domain, header={"number": number[:-1] + "9"})
    forgery = _verify(platform, verify_url("https://x", forged))
    assert forgery["status"] == "UNTRUSTED_ISSUER"
    assert "belongs to si.440604, not to tax.440604" in forgery["checks"][-1]["en"]
