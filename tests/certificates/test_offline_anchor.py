"""Offline verification trusts only a pinned trust list: a list signed by anyone else is never VALID, and the
verdict names the missing or mismatched anchor. Pins: --trust-anchor, --trust-fingerprint, or the admin of the data
directory's deployment record."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from eth_account import Account

from ledger.deploy import Deployment
from qr.payload import encode, to_digits
from qr.signed import sign
from qr.trustlist import (
    Anchor,
    TrustList,
    TrustListError,
    anchor_from,
    deployment_anchor,
    parse_fingerprint,
    sign_list,
    verify_pinned,
)
from tests.qr.test_mutations import ADMIN, BODY, CONTENTS, DOMAIN, SIGNERS

TODAY, NOW = date(2026, 11, 24), datetime(2026, 11, 24, 12, tzinfo=UTC)
FORGER, MALLORY = Account.create(), Account.create()  # a stranger's list key, and the key it "registers" for tax
GENUINE = TrustList.load(json.dumps(sign_list(BODY, ADMIN)))
FORGED_BODY = {**BODY, "keys": [{**BODY["keys"][0], "address": MALLORY.address}, *BODY["keys"][1:]]}
FORGED = TrustList.load(json.dumps(sign_list(FORGED_BODY, FORGER)))
GENUINE_TEXT = "#" + to_digits(encode(CONTENTS[1], sign(CONTENTS[1], DOMAIN, SIGNERS[2])[1]))
FORGED_CONTENT = replace(CONTENTS[1], subjectName="冒名顶替有限公司", totalFen=1)
FORGED_TEXT = "#" + to_digits(encode(FORGED_CONTENT, sign(FORGED_CONTENT, DOMAIN, MALLORY)[1]))


def check(text: str, trust: TrustList, anchor: Anchor):  # noqa: ANN201 - a Verdict
    return verify_pinned(text, trust, anchor, today=TODAY, now=NOW)


def test_a_list_signed_by_a_stranger_without_an_anchor_is_not_valid_and_says_why():
    verdict = check(FORGED_TEXT, FORGED, Anchor(source="no deployment record at /nowhere"))
    assert verdict.status == "UNTRUSTED_ISSUER"
    assert verdict.checks[0].name == "trust-anchor" and verdict.checks[0].ok is False
    assert FORGER.address in verdict.checks[0].en and "no trust anchor is pinned" in verdict.checks[0].en
    assert "--trust-anchor" in verdict.checks[0].en and "未固定信任锚" in verdict.checks[0].zh
    assert "trustlist-origin" in verdict.unchecked
    assert not any(c.ok for c in verdict.checks)  # nothing the stranger's list says is reported as checked
    # The genuine list is no better without a pin.
    assert check(GENUINE_TEXT, GENUINE, Anchor(source="none")).status == "UNTRUSTED_ISSUER"


def test_a_wrong_anchor_is_not_valid():
    wrong = check(FORGED_TEXT, FORGED, Anchor((ADMIN.address,), source="--trust-anchor"))
    assert wrong.status == "UNTRUSTED_ISSUER"
    assert FORGER.address in wrong.checks[0].en and ADMIN.address in wrong.checks[0].en
    assert ADMIN.address in wrong.checks[0].zh
    other = check(GENUINE_TEXT, GENUINE, Anchor((FORGER.address,), source="--trust-anchor"))
    assert other.status == "UNTRUSTED_ISSUER"
    fingerprint = check(GENUINE_TEXT, GENUINE, Anchor(fingerprint=FORGED.fingerprint, source="--trust-fingerprint"))
    assert fingerprint.status == "UNTRUSTED_ISSUER" and "fingerprint" in fingerprint.checks[0].en
    both = anchor_from(ADMIN.address, FORGED.fingerprint, None, BODY["chain_id"])  # every flag given must hold
    assert check(GENUINE_TEXT, GENUINE, both).status == "UNTRUSTED_ISSUER"


def test_the_genuine_list_with_a_pinned_anchor_is_valid():
    by_flag = check(GENUINE_TEXT, GENUINE, anchor_from(ADMIN.address.lower(), None, None, None))
    assert by_flag.status == "VALID"
    assert [c.ok for c in by_flag.checks if c.name == "trust-anchor"] == [True]
    by_fingerprint = anchor_from(None, "SHA256:" + ":".join(re.findall("..", GENUINE.fingerprint.upper())), None, None)
    assert check(GENUINE_TEXT, GENUINE, by_fingerprint).status == "VALID"
    # The stranger's certificate stays refused under the genuine list.
    assert check(FORGED_TEXT, GENUINE, anchor_from(ADMIN.address, None, None, None)).status == "INVALID"


def _record(data_dir, admin: str) -> None:
    Deployment(
        chain_id=BODY["chain_id"],
        addresses={"AttestationRegistry": DOMAIN.verifying_contract},
        block=1,
        admin=admin,
        deployed_at=0,
        artifact_hashes={},
        compiler="test",
        trust_model=3,
    ).save(data_dir)


def test_the_deployment_record_of_the_data_directory_pins_its_admin(tmp_path):
    assert not deployment_anchor(tmp_path, BODY["chain_id"]).pins
    assert "no deployment record" in deployment_anchor(tmp_path, BODY["chain_id"]).source
    _record(tmp_path, ADMIN.address)
    anchor = anchor_from(None, None, tmp_path, GENUINE.body["chain_id"])
    assert anchor.addresses == (ADMIN.address,) and "deployment record" in anchor.source
    assert check(GENUINE_TEXT, GENUINE, anchor).status == "VALID"
    forged = check(FORGED_TEXT, FORGED, anchor_from(None, None, tmp_path, FORGED.body["chain_id"]))
    assert forged.status == "UNTRUSTED_ISSUER" and "deployment record" in forged.checks[0].en
    # A list naming a chain the data directory has no record of, or no chain at all, is unpinned.
    assert not anchor_from(None, None, tmp_path, 4242).pins
    assert not anchor_from(None, None, tmp_path, "../../deployments/131277322940537").pins


def test_malformed_pins_are_refused():
    with pytest.raises(TrustListError):
        anchor_from("0x1234", None, None, 1)
    with pytest.raises(TrustListError):
        parse_fingerprint("abcd")


# -- the command line, on a real data directory -----------------------------------------------------------


def test_zel_verify_offline_pins_the_list(zel_bin, platform, tmp_path):
    number = platform.certs["citizen"]
    revoked_url = platform.client.get(f"/v1/citizen/certificates/{number}", headers=platform.headers("citizen")).json()[
        "verify_url"
    ]
    assert (
        platform.client.post(
            f"/v1/department/certificates/{number}/revoke", json={"reason": 1}, headers=platform.headers("official")
        ).status_code
        == 200
    )
    url = platform.client.get(
        f"/v1/enterprise/certificates/{platform.certs['enterprise']}", headers=platform.headers("enterprise")
    ).json()["verify_url"]
    admin = platform.ctx.ledger.deployment.admin
    settings = platform.ctx.settings
    platform.ctx.ledger.close()  # one process holds the embedded chain
    env = {**os.environ, "ZEL_DATA_DIR": str(settings.root), "ZEL_DATABASE_URL": settings.db_url}
    genuine = tmp_path / "trust.json"

    def export(output, *flags):  # noqa: ANN001, ANN002, ANN202 - `zel trustlist export`, as the district runs it
        run = [zel_bin, "trustlist", "export", *flags, "-o", str(output)]
        return subprocess.run(run, capture_output=True, text=True, env=env, timeout=120)

    out = export(genuine)
    assert out.returncode == 0, out.stderr
    printed = re.search(r"fingerprint ([0-9a-f]{64})", out.stdout).group(1)
    assert printed == TrustList.load(genuine.read_text()).fingerprint

    # The attack: un-revoke the certificate and sign the edited list with a key of one's own.
    doc = json.loads(genuine.read_text())
    doc["body"]["revoked"] = []
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(sign_list(doc["body"], Account.create())))
    elsewhere = tmp_path / "elsewhere"  # a verifier's machine: no deployment record

    def zel_verify(trust, *flags, data_dir=settings.root):  # noqa: ANN001, ANN202
        run = subprocess.run(
            [zel_bin, "verify", "--batch", str(inputs), "--offline", "--trustlist", str(trust), "--json", *flags],
            capture_output=True,
            text=True,
            env={**env, "ZEL_DATA_DIR": str(data_dir)},
            timeout=120,
        )
        return run.returncode, [json.loads(line) for line in run.stdout.splitlines()]

    inputs = tmp_path / "inputs.txt"
    inputs.write_text(f"{revoked_url}\n{url}\n")
    code, (attacked, other) = zel_verify(forged, data_dir=elsewhere)  # no anchor anywhere
    assert code == 1 and attacked["status"] == other["status"] == "UNTRUSTED_ISSUER"
    assert "no trust anchor is pinned" in attacked["checks"][0]["en"]
    code, (attacked, _) = zel_verify(forged)  # the data directory's deployment record pins the admin
    assert code == 1 and attacked["status"] == "UNTRUSTED_ISSUER" and admin in attacked["checks"][0]["en"]
    code, (attacked, _) = zel_verify(forged, "--trust-anchor", "0x" + "11" * 20, data_dir=elsewhere)
    assert code == 1 and attacked["status"] == "UNTRUSTED_ISSUER"

    code, (revoked, valid) = zel_verify(genuine)  # pinned by the deployment record
    assert (revoked["status"], valid["status"]) == ("REVOKED", "VALID")
    code, (revoked, valid) = zel_verify(genuine, "--trust-anchor", admin, data_dir=elsewhere)
    assert (revoked["status"], valid["status"]) == ("REVOKED", "VALID")
    code, (revoked, valid) = zel_verify(genuine, "--trust-fingerprint", printed, data_dir=elsewhere)
    assert (revoked["status"], valid["status"]) == ("REVOKED", "VALID")

    # The district may sign the list with an SM2 key instead (issue 20): `zel verify --offline` takes either.
    store = settings.keystore()
    district = store.new("district-sm2", store.ensure_dev_password("district-sm2"), suite="sm2")
    sm2_list = tmp_path / "trust-sm2.json"
    out = export(sm2_list, "--key", "district-sm2")
    assert out.returncode == 0, out.stderr
    assert f"signed by {district.address} (SM2)" in out.stdout
    assert json.loads(sm2_list.read_text())["suite"] == "sm2"
    code, (revoked, valid) = zel_verify(sm2_list, "--trust-anchor", district.address, data_dir=elsewhere)
    assert (revoked["status"], valid["status"]) == ("REVOKED", "VALID")
    printed = re.search(r"fingerprint ([0-9a-f]{64})", out.stdout).group(1)
    code, (revoked, valid) = zel_verify(sm2_list, "--trust-fingerprint", printed, data_dir=elsewhere)
    assert (revoked["status"], valid["status"]) == ("REVOKED", "VALID")
    code, (revoked, _) = zel_verify(sm2_list, "--trust-anchor", admin, data_dir=elsewhere)  # not the signer pinned
    assert code == 1 and revoked["status"] == "UNTRUSTED_ISSUER" and district.address in revoked["checks"][0]["en"]
    # a department's SM2 certificate key may not sign the district's list
    refused = export(tmp_path / "x.json", "--key", "si-sm2")
    assert refused.returncode == 2 and "department's signing key" in refused.stderr
