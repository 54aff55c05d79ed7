"""The `zel` command line, run as a user runs it: a separate process, a data directory, exit codes."""

from __future__ import annotations

import json
import os
import subprocess

import pytest


@pytest.fixture
def zel(zel_bin, tmp_path):
    data = tmp_path / "zel-data"
    base_env = {**os.environ, "ZEL_DATA_DIR": str(data), "ZEL_KDF_N": "1024"}
    base_env.pop("ZEL_KEYSTORE_PASSWORD", None)

    def run(*args: str, ok: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [zel_bin, *args],
            capture_output=True,
            text=True,
            env={**base_env, **(env or {})},
            stdin=subprocess.DEVNULL,
            timeout=120,
        )
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    run.data = data
    return run


def test_up_status_keys_and_issuer_flow(zel):
    up = zel("up")
    assert "IssuerRegistry" in up.stdout and "deployed now" in up.stdout
    again = zel("contracts", "deploy", "--json")
    assert json.loads(again.stdout)["deployedNow"] is False  # redeploying is explicit
    status = json.loads(zel("status", "--json").stdout)
    assert status["backend"] == "embedded" and set(status["addresses"]) == {
        "IssuerRegistry",
        "AttestationRegistry",
        "CreditRegistry",
    }

    refused = zel("keys", "new", "tax-2026", ok=False)  # a department key needs its own password
    assert refused.returncode == 2 and "ZEL_KEYSTORE_PASSWORD_TAX_2026" in refused.stderr
    created = zel("keys", "new", "tax-2026", env={"ZEL_KEYSTORE_PASSWORD_TAX_2026": "tax-2026-only"}).stdout.split()
    listed = json.loads(zel("keys", "list", "--json").stdout)
    assert {"name": "tax-2026", "address": created[1], "suite": "secp256k1"} in listed
    assert any(k["name"] == "admin" for k in listed)

    zel(
        "issuer",
        "grant",
        "tax-2026",
        "--department",
        "tax.440604",
        "--department-name",
        "禅城区税务局",
        "--kinds",
        "tax,credit-record",
    )
    issuers = json.loads(zel("issuer", "list", "--json").stdout)
    assert issuers["departments"][0]["id"] == "tax.440604"
    (key,) = issuers["keys"]
    assert key["address"] == created[1] and key["kinds"] == ["tax-certificate", "credit-record"]
    assert key["revokedAt"] == "-"

    # an SM2 certificate key (issue 20): made encrypted, listed with its suite, registered by its public key
    env = {"ZEL_KEYSTORE_PASSWORD_TAX_SM2": "tax-sm2-only"}
    sm2_created = zel("keys", "new", "tax-sm2", "--suite", "sm2", env=env).stdout.split()
    keystore = json.loads((zel.data / "keys" / "tax-sm2.json").read_text())
    assert sm2_created[-1] == "sm2" and keystore["crypto"]["kdf"] == "scrypt" and keystore["suite"] == "sm2"
    assert {"name": "tax-sm2", "address": sm2_created[1], "suite": "sm2"} in json.loads(
        zel("keys", "list", "--json").stdout
    )
    zel("issuer", "grant", "tax-sm2", "--department", "tax.440604", "--kinds", "tax")
    sm2_key = json.loads(zel("issuer", "list", "--json").stdout)["keys"][1]
    assert (
        sm2_key["address"] == sm2_created[1] and sm2_key["suite"] == "sm2" and sm2_key["kinds"] == ["tax-certificate"]
    )
    zel("issuer", "revoke", "tax-sm2")
    assert json.loads(zel("issuer", "list", "--json").stdout)["keys"][1]["revokedAt"] != "-"

    zel("issuer", "revoke", "tax-2026")
    assert json.loads(zel("issuer", "list", "--json").stdout)["keys"][0]["revokedAt"] != "-"
    twice = zel("issuer", "revoke", "tax-2026", ok=False)
    assert twice.returncode == 2 and "already revoked" in twice.stderr


def test_data_dir_option_wins_over_environment(zel, tmp_path):
    other = tmp_path / "other"
    zel("up", "--data-dir", str(other))
    assert (other / "deployments").is_dir()
    assert not zel.data.exists()


def test_precise_errors(zel):
    missing = zel("status", ok=False)
    assert missing.returncode == 2 and "zel contracts deploy" in missing.stderr
    zel("up")
    bad_kind = zel("issuer", "grant", "admin", "-d", "tax", "-k", "lottery", ok=False)
    assert bad_kind.returncode == 2 and "unknown attestation kind 'lottery'" in bad_kind.stderr
    no_dept = zel("issuer", "grant", "admin", "-d", "nowhere", "-k", "tax", ok=False)
    assert "department nowhere was never admitted" in no_dept.stderr
    no_key = zel("issuer", "grant", "ghost", "-d", "tax", "-k", "tax", ok=False)
    assert "no keystore named 'ghost'" in no_key.stderr
    bad_time = zel("issuer", "revoke", "admin", "--at", "yesterday", ok=False)
    assert "not ISO-8601" in bad_time.stderr


def test_wrong_keystore_password(zel):
    zel("up")
    wrong = zel(
        "issuer",
        "grant",
        "0x" + "11" * 20,
        "-d",
        "tax",
        "-k",
        "tax",
        ok=False,
        env={"ZEL_KEYSTORE_PASSWORD": "not-the-password"},
    )
    assert wrong.returncode == 2 and "wrong password for keystore 'admin'" in wrong.stderr


def test_keys_new_without_password_source_fails_cleanly(zel, tmp_path):
    fresh = zel("keys", "new", "k1", "--data-dir", str(tmp_path / "empty"), ok=False)
    assert fresh.returncode == 2 and "ZEL_KEYSTORE_PASSWORD" in fresh.stderr
