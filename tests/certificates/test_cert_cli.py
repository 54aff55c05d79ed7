"""`zel cert` and `zel anchor run --once`, as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess

from qr.decode import read_image


def test_issue_anchor_show_revoke(zel_bin, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEL_")} | {
        "ZEL_DATA_DIR": str(tmp_path / "d"),
        "ZEL_KDF_N": "1024",
    }

    def zel(*args, ok=True):
        p = subprocess.run([zel_bin, *args], capture_output=True, text=True, env=env, timeout=180)
        assert (p.returncode == 0) == ok, p.stderr
        return p

    zel("issuer", "provision", "--demo")  # the administrators' part, before the service's commands
    seed = json.loads(zel("seed", "--people", "3", "--enterprises", "2", "--seed", "4", "--json").stdout)
    issued = json.loads(
        zel(
            "cert",
            "issue",
            "--kind",
            "si-enterprise",
            "--subject",
            seed["enterprises"][0],
            "--from",
            "2025-01",
            "--to",
            "2025-03",
            "--json",
        ).stdout
    )
    assert issued["state"] == "ISSUED" and issued["batch_root"] is None
    assert issued["content"]["header"]["subject"] == seed["enterprises"][0]
    assert "anchored 1 certificates; 0 pending" in zel("anchor", "run", "--once").stdout
    shown = json.loads(zel("cert", "show", issued["id"], "--json").stdout)
    assert shown["state"] == "ANCHORED" and shown["batch_root"] and shown["tx_hash"] and shown["proof"] == []
    wrote = zel("cert", "qr", issued["id"], "-o", str(tmp_path / "q.png")).stdout
    assert "QR version" in wrote and int(wrote.split("QR version ")[1].split(",")[0]) <= 13
    text = read_image((tmp_path / "q.png").read_bytes())
    assert "/verify#" in text
    assert json.loads(zel("verify", text, "--json").stdout)["status"] == "VALID"
    assert b"<svg" in (
        zel("cert", "qr", issued["id"], "-o", str(tmp_path / "q.svg")) and (tmp_path / "q.svg").read_bytes()[:300]
    )
    revoked = json.loads(zel("cert", "revoke", issued["id"], "--reason", "2", "--json").stdout)
    assert revoked["state"] == "REVOKED" and revoked["status_reason"] == 2
    gone = zel("verify", text, "--json", ok=False)
    assert gone.returncode == 1 and json.loads(gone.stdout)["status"] == "REVOKED"
    again = zel("cert", "revoke", issued["id"], ok=False)
    assert "already revoked" in again.stderr
    unknown = zel(
        "cert",
        "issue",
        "--kind",
        "tax-individual",
        "--subject",
        "11010519491231002X",
        "--from",
        "2025-01",
        "--to",
        "2025-02",
        ok=False,
    )
    assert "no person or enterprise" in unknown.stderr
    assert zel("audit", "verify").returncode == 0
