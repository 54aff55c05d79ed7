"""Both signature suites live side by side (issue 20): the demo's social-insurance bureau signs its certificates with
SM2 over SM3 (payload format 3), the tax bureau with secp256k1 over EIP-712 (format 2), and the service verifies
both with the same verdicts; the attacks on an SM2 certificate are refused as on any other."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from ledger import sm2
from ledger.client import ADMIN_KEY
from ledger.keys import Sm2Account
from ledger.kinds import Kind, department_id, kinds_mask
from qr import attestation
from qr.payload import payload_from_text, verify_url
from store.models import Certificate
from tests.schema_certs import decoded, resigned, retyped
from zero_errand.service import CertificateService

# The store's part (a 64-byte signature in either backend) is the first test's; the rest is the same on both.
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _url(platform, number: str) -> str:  # noqa: ANN001
    headers = platform.headers("citizen" if number.startswith(("1", "3")) else "enterprise")
    who = "citizen" if number.startswith(("1", "3")) else "enterprise"
    return platform.client.get(f"/v1/{who}/certificates/{number}", headers=headers).json()["verify_url"]


def _verify(platform, data: bytes) -> dict:  # noqa: ANN001
    r = platform.client.post("/v1/verify", json={"text": verify_url("https://x", data)})
    assert r.status_code == 200, r.text
    return r.json()


def _admin(platform):  # noqa: ANN001, ANN202 - the district admin's key, as `zel issuer grant` would unlock it
    return platform.ctx.settings.keystore().load(ADMIN_KEY)


def test_both_suites_are_live_and_verify_with_the_same_verdicts(platform) -> None:
    si_key = platform.ctx.certificates.signers["si.440604"]
    assert isinstance(si_key, Sm2Account) and si_key.address != platform.ctx.certificates.keys["si.440604"].address
    si = payload_from_text(_url(platform, platform.certs["citizen"]))  # an si-individual certificate, anchored
    tax = payload_from_text(_url(platform, platform.certs["enterprise"]))  # a tax-enterprise one
    assert si[0] == attestation.SM2_VERSION and si[-68:-64] == si_key.key_id
    assert tax[0] == attestation.VERSION
    for data, suite, signer in ((si, "sm2", si_key.address), (tax, "secp256k1", None)):
        verdict = _verify(platform, data)
        assert verdict["status"] == "VALID" and all(c["ok"] for c in verdict["checks"]), verdict
        assert verdict["certificate"]["suite"] == suite
        assert signer is None or verdict["signer"] == signer
    # the key list the page checks against names the SM2 key's suite and public key
    listed = {k["address"]: k for k in platform.client.get("/v1/verify/keys").json()["keys"]}
    assert listed[si_key.address]["suite"] == "sm2" and listed[si_key.address]["public_key"] == (
        "0x" + si_key.public_key.hex()
    )
    assert listed[platform.ctx.certificates.keys["tax.440604"].address]["suite"] == "secp256k1"
    # stored, the SM2 certificate keeps its 64-byte signature and its signer is the SM2 key
    with platform.ctx.sessions() as s:
        cert = s.scalars(select(Certificate).where(Certificate.number == platform.certs["citizen"])).one()
    assert len(bytes.fromhex(cert.signature[2:])) == 64 and cert.signer == si_key.address


@SQLITE_ONLY
def test_an_altered_sm2_certificate_or_a_stranger_s_signature_is_invalid(platform) -> None:
    data = payload_from_text(_url(platform, platform.certs["citizen"]))
    for forged in (
        retyped(data, values={"total_fen": decoded(data).values["total_fen"] + 1}),
        retyped(data, header={"subjectName": "王五"}),
        # the bureau's key id over a stranger's SM2 signature of the same bytes
        data[:-64] + sm2.PrivateKey.generate().sign(data[:-64]),
        data[:-68] + b"\x00\x00\x00\x00" + data[-64:],  # a key id nobody holds
    ):
        verdict = _verify(platform, forged)
        assert verdict["status"] == "INVALID" and "altered" in verdict["checks"][-1]["en"], verdict


@SQLITE_ONLY
def test_another_departments_sm2_key_is_an_untrusted_issuer(platform) -> None:
    """The tax bureau gets an SM2 key of its own; a social-insurance certificate signed with it names the wrong
    department, and the verdict says whose key it was."""
    ctx = platform.ctx
    tax_sm2 = Sm2Account(sm2.PrivateKey.generate())
    mask = kinds_mask([Kind.TAX_CERTIFICATE, Kind.ATTESTATION])
    ctx.ledger.register_sm2_key(_admin(platform), tax_sm2.public_key, department_id("tax.440604"), mask)
    data = payload_from_text(_url(platform, platform.certs["citizen"]))
    forged = resigned(data, tax_sm2, ctx.certificates.domain, header={"issuedAt": ctx.ledger.block_timestamp() + 5})
    verdict = _verify(platform, forged)
    assert verdict["status"] == "UNTRUSTED_ISSUER", verdict
    assert "belongs to tax.440604, not to si.440604" in verdict["checks"][-1]["en"]
    assert verdict["signer"] == tax_sm2.address


@SQLITE_ONLY
def test_a_revoked_sm2_key_keeps_its_earlier_certificates_and_signs_no_later_one(platform) -> None:
    ctx = platform.ctx
    si_key = ctx.certificates.signers["si.440604"]
    earlier = payload_from_text(_url(platform, platform.certs["citizen"]))
    ctx.ledger.revoke_key(_admin(platform), si_key.address)
    assert _verify(platform, earlier)["status"] == "VALID"  # signed before the revocation
    revoked_at = ctx.ledger.key_info(si_key.address).revoked_at
    while time.time() < revoked_at + 1:  # the chain's clock may run a little ahead of this one
        time.sleep(0.2)
    # the host still holds the revoked key: what it signs now is refused
    later = platform.client.post(
        "/v1/citizen/certificates",
        headers=platform.headers("citizen"),
        json={"kind": "si-individual", "period_from": "2025-02", "period_to": "2025-03"},
    ).json()
    ctx.require_certificates().anchorer().run_once(force=True)
    verdict = _verify(platform, payload_from_text(later["verify_url"]))
    assert verdict["status"] == "UNTRUSTED_ISSUER" and "not authorized" in verdict["checks"][-1]["en"], verdict
    # at its next start the service leaves the revoked key and signs with the bureau's secp256k1 key again
    restarted = CertificateService(ctx.sessions, ctx.pii, ctx.ledger, ctx.settings.keystore())
    assert restarted.signers["si.440604"] is restarted.keys["si.440604"]
