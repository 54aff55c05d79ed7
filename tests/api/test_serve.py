"""`zel serve` as an operator runs it, production refusals, and migrations matching the models."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from api.settings import Settings
from ledger.errors import ConfigurationError
from store import models  # noqa: F401
from store.db import Base, current_revision, head_revision, make_engine, upgrade
from tests.conftest import free_port


def test_migrations_match_the_models(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)  # idempotent
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_production_refuses_demo_and_development_secrets(tmp_path, monkeypatch):
    for var in ("ZEL_KEYSTORE_PASSWORD", "ZEL_KEYSTORE_PASSWORD_FILE"):
        monkeypatch.delenv(var, raising=False)
    dev = Settings(data_dir=tmp_path / "d", mode="production")
    with pytest.raises(ConfigurationError) as err:
        dev.check_production(demo=True)
    message = str(err.value)
    for problem in ("--demo", "ZEL_TOKEN_SECRET", "ZEL_PII_KEY_FILE", "ZEL_CHAIN_URL"):
        assert problem in message
    (tmp_path / "d" / "secrets").mkdir(parents=True)
    (tmp_path / "d" / "secrets" / "keystore-password-tax").write_text("x")
    keyfile = tmp_path / "secret-volume" / "pii.keys"
    from store.pii import PiiKeys

    PiiKeys.generate_file(keyfile)
    prod = Settings(
        data_dir=tmp_path / "d",
        mode="production",
        token_secret="s" * 40,
        pii_key_file=keyfile,
        chain_url="http://127.0.0.1:8545",
        identity_provider="oidc",
        oidc_issuer="https://login.example",
        oidc_audience="zel",
    )
    with pytest.raises(ConfigurationError, match="development keystore password"):
        prod.check_production(demo=False)
    (tmp_path / "d" / "secrets" / "keystore-password-tax").unlink()
    prod.check_production(demo=False)  # now acceptable


def test_pii_key_file_inside_the_data_directory_is_refused(tmp_path):
    from store.pii import PiiKeys

    inside = tmp_path / "d" / "pii.keys"
    PiiKeys.generate_file(inside)
    with pytest.raises(ConfigurationError, match="outside the data directory"):
        Settings(data_dir=tmp_path / "d", pii_key_file=inside).pii()


def test_config_file(tmp_path, monkeypatch):
    config = tmp_path / "zel.toml"
    config.write_text('public_url = "https://zel.chancheng.example"\ntoken_ttl_seconds = 300\n')
    monkeypatch.setenv("ZEL_CONFIG", str(config))
    monkeypatch.setenv("ZEL_TOKEN_TTL_SECONDS", "600")
    settings = Settings()
    assert settings.public_url == "https://zel.chancheng.example"
    assert settings.token_ttl_seconds == 600  # the environment wins over the file


def test_zel_serve_demo_end_to_end(zel_bin, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEL_")} | {"ZEL_KDF_N": "1024"}
    proc = subprocess.Popen(
        [zel_bin, "serve", "--port", str(port), "--data-dir", str(tmp_path / "d"), "--demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as r:
                    ready = json.loads(r.read())
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "zel serve did not become ready"
                time.sleep(0.3)
        assert ready["status"] == "ready"
        with urllib.request.urlopen(f"{base}/openapi.json", timeout=5) as r:
            assert "/v1/admin/users" in json.loads(r.read())["paths"]
        with urllib.request.urlopen(f"{base}/docs", timeout=5) as r:
            assert r.status == 200
        uscc = "91440604MA" + "0" * 7 + "X"  # any path parameter: the access line shows the route's template
        try:
            urllib.request.urlopen(f"{base}/v1/public/enterprises/{uscc}/standing?token=sekrit", timeout=10)
        except urllib.error.HTTPError as exc:
            assert exc.code in (404, 422)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert "citizen1" in out and "client_credentials" in out and "IssuerRegistry" in out
    # Operators see one access line per request (zel.access), never the raw path or query, and uvicorn none of its
    # own; the banner says which demo enterprise is class A, class C and on the red list.
    access = [line for line in out.splitlines() if "zel.access" in line]
    assert any("GET /v1/public/enterprises/{uscc}/standing 4" in line for line in access), out[-3000:]
    assert any("GET /readyz 200" in line for line in access)
    assert uscc not in out and "sekrit" not in out
    assert re.search(r"class A\b", out) and re.search(r"class C\b", out) and "red list" in out, out[:3000]
    assert (tmp_path / "d.pii-keys").exists() and not (tmp_path / "d" / "d.pii-keys").exists()
    # The demo registers its kinds from kinds/files/ and issues one of each: their links carry attestations signed
    # by the kinds' departments' authorized keys (anchoring them is the server's, stopped here within seconds; an
    # attestation's way to VALID is tests/kinds/test_attestations.py's).
    links = re.findall(r"^  (居住证明|入学材料回执) .* (\d{17})  (http\S+)$", out, re.MULTILINE)
    assert [title for title, _, _ in links] == ["居住证明", "入学材料回执"], out[-3000:]
    for title, _, url in links:
        verify = [zel_bin, "verify", url, "--json", "--data-dir", str(tmp_path / "d")]
        verdict = json.loads(subprocess.run(verify, capture_output=True, text=True, env=env, timeout=120).stdout)
        assert verdict["status"] in ("VALID", "PENDING_ANCHOR") and verdict["certificate"]["kind_zh"] == title
        assert {c["name"]: c["ok"] for c in verdict["checks"]}["issuer"] is True


def test_the_service_runs_without_any_administrator_password(tmp_path, monkeypatch):
    """The service decrypts department keys only, each with its own password: with the admin's password gone,
    and no shared password, it still starts and signs; the admin keystore cannot even be opened."""
    from api.context import build_context
    from api.provisioning import provision_deployment
    from ledger.errors import KeystoreError
    from ledger.keys import Keystore

    for var in ("ZEL_KEYSTORE_PASSWORD", "ZEL_KEYSTORE_PASSWORD_FILE"):
        monkeypatch.delenv(var, raising=False)
    settings = Settings(data_dir=tmp_path / "d")
    provision_deployment(settings, development=True)
    store = Keystore(settings.root)
    store.dev_password_path("admin").unlink()  # the administrators keep theirs elsewhere
    with pytest.raises(KeystoreError, match="no password for keystore 'admin'"):
        store.load("admin")
    passwords = {name: store.password(name) for name in ("tax", "si", "amr", "ps", "edu")}
    assert len(set(passwords.values())) == 5  # each department its own
    ctx = build_context(settings)
    try:
        assert set(ctx.certificates.keys) == {
            "tax.440604",
            "si.440604",
            "amr.440604",
            "dsj.440604",
            "ps.440604",
            "edu.440604",
        }
        assert store.address("admin") not in {k.address for k in ctx.certificates.keys.values()}
    finally:
        ctx.ledger.close()
