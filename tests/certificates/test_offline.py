"""Offline verification with a signed trust list: fresh, stale, revoked, forged list, missing or wrong anchor."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import timedelta

import pytest

from qr.trustlist import Anchor, TrustList, TrustListError, verify_pinned


def test_trustlist_export_and_offline_verdicts(zel_bin, platform, tmp_path):
    h = platform.headers("official")
    number = platform.certs["citizen"]
    revoked_url = platform.client.get(f"/v1/citizen/certificates/{number}", headers=platform.headers("citizen")).json()[
        "verify_url"
    ]
    platform.client.post(f"/v1/department/certificates/{number}/revoke", json={"reason": 1}, headers=h)
    url = platform.client.get(
        f"/v1/enterprise/certificates/{platform.certs['enterprise']}", headers=platform.headers("enterprise")
    ).json()["verify_url"]
    admin = platform.ctx.ledger.deployment.admin
    settings = platform.ctx.settings
    platform.ctx.ledger.close()  # one process holds the embedded chain
    env = {**os.environ, "ZEL_DATA_DIR": str(settings.root), "ZEL_DATABASE_URL": settings.db_url}
    out = subprocess.run(
        [zel_bin, "trustlist", "export", "-o", str(tmp_path / "trust.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    trust = TrustList.load((tmp_path / "trust.json").read_text())
    assert trust.signer == admin

    pinned = Anchor((admin,), source="--trust-anchor")
    fresh = verify_pinned(url, trust, pinned)
    assert fresh.status == "VALID" and fresh.as_of is None and "anchor" in fresh.unchecked
    assert [c.ok for c in fresh.checks if c.name == "anchor"] == [None]
    assert verify_pinned(revoked_url, trust, pinned).status == "REVOKED"
    stale = verify_pinned(url, trust, pinned, now=trust.issued_at + timedelta(days=10))
    assert stale.status == "VALID" and stale.as_of == trust.issued_at.date().isoformat()
    assert "valid as of" in stale.checks[-1].en
    unpinned = verify_pinned(url, trust, Anchor(source="no deployment record"))
    assert unpinned.status == "UNTRUSTED_ISSUER" and "trustlist-origin" in unpinned.unchecked
    assert "no trust anchor is pinned" in unpinned.checks[0].en and "未固定信任锚" in unpinned.checks[0].zh
    wrong = verify_pinned(url, trust, Anchor(("0x" + "11" * 20,), source="--trust-anchor"))
    assert wrong.status == "UNTRUSTED_ISSUER" and "0x" + "11" * 20 in wrong.checks[0].en

    doc = json.loads((tmp_path / "trust.json").read_text())
    doc["body"]["revoked"] = []  # someone un-revokes a certificate in the file
    with pytest.raises(TrustListError, match="does not match"):
        TrustList.load(json.dumps(doc))

    cli = subprocess.run(
        [
            zel_bin,
            "verify",
            url,
            "--offline",
            "--trustlist",
            str(tmp_path / "trust.json"),
            "--trust-anchor",
            admin,
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert cli.returncode == 0 and json.loads(cli.stdout)["status"] == "VALID"
    missing = subprocess.run(
        [zel_bin, "verify", url, "--offline"], capture_output=True, text=True, env=env, timeout=120
    )
    assert missing.returncode == 2 and "--trustlist" in missing.stderr
