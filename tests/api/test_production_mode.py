"""Production unless told otherwise: every entry point prints its mode and, in production, refuses development
data, secrets, keys and identity provider, default passwords, a key file kept with the data, and test chains."""

from __future__ import annotations

import os
import subprocess
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from web3 import HTTPProvider, Web3

from api.http.identity import OidcIdentityProvider
from api.settings import DEVELOPMENT_MARKER, Settings
from ledger.errors import ConfigurationError
from store.pii import PiiKeys


def _env(**extra: str) -> dict[str, str]:
    """The environment of a fresh operator's shell: no ZEL_* variable but the test KDF cost."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEL_")} | {"ZEL_KDF_N": "1024"}
    return env | extra


def test_the_default_mode_is_production(tmp_path, monkeypatch):
    monkeypatch.delenv("ZEL_MODE")
    assert Settings(data_dir=tmp_path / "fresh").mode == "production"
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev" / DEVELOPMENT_MARKER).write_text("x")
    assert Settings(data_dir=tmp_path / "dev").mode == "development"  # a directory development made
    monkeypatch.setenv("ZEL_MODE", "production")
    assert Settings(data_dir=tmp_path / "dev").mode == "production"  # the operator's word wins


def test_serve_and_anchor_run_refuse_an_unconfigured_start(zel_bin, tmp_path):
    for args in (["serve", "--port", "1"], ["anchor", "run", "--once"], ["cert", "list"]):
        proc = subprocess.run(
            [zel_bin, *args, "--data-dir", str(tmp_path / "d")], capture_output=True, text=True, env=_env(), timeout=60
        )
        assert proc.returncode != 0, args
        assert "production mode" in proc.stderr, (args, proc.stderr)
        for problem in ("identity provider", "ZEL_TOKEN_SECRET", "ZEL_PII_KEY_FILE", "ZEL_CHAIN_URL"):
            assert problem in proc.stderr, (args, problem)
    assert not (tmp_path / "d" / "keys").exists()  # nothing was provisioned on the way


def test_seed_is_development_and_refused_in_production(zel_bin, tmp_path):
    dev = subprocess.run(
        [zel_bin, "seed", "--people", "1", "--enterprises", "1", "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert dev.returncode == 0, dev.stderr
    assert "development mode" in dev.stderr and (tmp_path / "d" / DEVELOPMENT_MARKER).exists()
    prod = subprocess.run(
        [zel_bin, "seed", "--data-dir", str(tmp_path / "p")],
        capture_output=True,
        text=True,
        env=_env(ZEL_MODE="production"),
        timeout=60,
    )
    assert prod.returncode != 0 and "production mode" in prod.stderr
    assert not (tmp_path / "p" / "zel.sqlite").exists()


def _production(tmp_path, **overrides) -> Settings:
    volume = tmp_path / "secret-volume"
    key_file = volume / "pii.keys"
    if not key_file.exists():
        PiiKeys.generate_file(key_file)
    values = {
        "data_dir": tmp_path / "d",
        "mode": "production",
        "token_secret": "s" * 40,
        "pii_key_file": key_file,
        "chain_url": "http://besu-rpc:8545",
        "identity_provider": "oidc",
        "oidc_issuer": "https://login.chancheng.example",
        "oidc_audience": "zel",
    } | overrides
    return Settings(**values)


@pytest.mark.parametrize(
    "override, problem",
    [
        ({"identity_provider": "development"}, "development identity provider"),
        ({"oidc_issuer": None}, "ZEL_OIDC_ISSUER"),
        ({"database_url": "postgresql://zel:zel@db/zel"}, "default password"),
        ({"database_url": "postgresql://zel@db/zel"}, "default password"),
        ({"token_secret": "short"}, "ZEL_TOKEN_SECRET"),
    ],
)
def test_production_refuses(tmp_path, monkeypatch, override, problem):
    for var in ("ZEL_KEYSTORE_PASSWORD", "ZEL_KEYSTORE_PASSWORD_FILE"):
        monkeypatch.delenv(var, raising=False)
    _production(tmp_path).check_production()  # the baseline is acceptable
    with pytest.raises(ConfigurationError, match=problem):
        _production(tmp_path, **override).check_production()


def test_production_refuses_keys_beside_the_data_and_shared_passwords(tmp_path, monkeypatch):
    for var in ("ZEL_KEYSTORE_PASSWORD", "ZEL_KEYSTORE_PASSWORD_FILE"):
        monkeypatch.delenv(var, raising=False)
    beside = tmp_path / "pii.keys"  # next to tmp_path/d
    PiiKeys.generate_file(beside)
    with pytest.raises(ConfigurationError, match="beside the data directory"):
        _production(tmp_path, pii_key_file=beside).check_production()
    monkeypatch.setenv("ZEL_KEYSTORE_PASSWORD", "one-for-all")
    with pytest.raises(ConfigurationError, match="one password for every key"):
        _production(tmp_path).check_production()
    monkeypatch.delenv("ZEL_KEYSTORE_PASSWORD")
    (tmp_path / "d").mkdir(exist_ok=True)
    (tmp_path / "d" / DEVELOPMENT_MARKER).write_text("x")
    with pytest.raises(ConfigurationError, match="development data"):
        _production(tmp_path).check_production(service=False)  # even for an administrator's command


def test_production_refuses_a_test_node(tmp_path, ganache):
    w3 = Web3(HTTPProvider(ganache.url))
    settings = _production(tmp_path)
    with pytest.raises(ConfigurationError) as refused:
        settings.check_chain(w3.eth.chain_id, list(w3.eth.accounts))
    assert "chain id 1337" in str(refused.value) and "unlocked accounts" in str(refused.value)
    with pytest.raises(ConfigurationError, match="chain id 131277322940537"):
        settings.check_chain(131277322940537, [])  # the embedded chain's id
    settings.check_chain(440604, [])  # a Besu QBFT network holding no keys
    Settings(data_dir=tmp_path / "d", mode="development").check_chain(1337, ["0x1"])  # development allows it


@pytest.fixture(scope="module")
def issuer_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwks(key) -> dict:
    public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {"keys": [public | {"kid": "k1", "use": "sig", "alg": "RS256"}]}


def _token(key, **claims) -> str:
    now = int(time.time())
    body = {
        "iss": "https://login.example",
        "aud": "zel",
        "sub": "official-tax",
        "preferred_username": "Tax official",
        "iat": now,
        "exp": now + 300,
    } | claims
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


def test_oidc_provider_accepts_only_the_issuers_current_tokens_for_enabled_users(issuer_key, database_url):
    from store.db import make_engine, session_factory, upgrade
    from store.models import Role, User

    engine = make_engine(database_url)
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions() as session, session.begin():
        session.add(User(username="official-tax", role=Role.OFFICIAL.value, department="tax.440604"))
        session.add(User(username="gone", role=Role.OFFICIAL.value, department="tax.440604", disabled=True))
    provider = OidcIdentityProvider("https://login.example", "zel", jwks=_jwks(issuer_key))
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with sessions() as session:
        me = provider.authenticate_token(session, _token(issuer_key))
        assert me is not None and me.department == "tax.440604" and me.role == Role.OFFICIAL
        refused = [
            _token(forger),  # not the issuer's key
            _token(issuer_key, iss="https://evil.example"),
            _token(issuer_key, aud="another-app"),
            _token(issuer_key, exp=int(time.time()) - 120),
            _token(issuer_key, sub="nobody"),
            _token(issuer_key, sub="gone"),  # a disabled account
            _token(issuer_key, sub="someone-else", preferred_username="official-tax"),  # a chosen display name
            jwt.encode(
                {
                    "iss": "https://login.example",
                    "aud": "zel",
                    "sub": "official-tax",
                    "iat": 0,
                    "exp": int(time.time()) + 300,
                },
                "a-shared-secret-of-thirty-two-bytes!",
                algorithm="HS256",
            ),
        ]
        for token in refused:
            assert provider.authenticate_token(session, token) is None
        assert provider.authenticate(session, "official-tax", "any password") is None  # no password sign-in
    engine.dispose()


def test_the_oidc_route_exchanges_only_valid_id_tokens(issuer_key, tmp_path, database_url):
    from fastapi.testclient import TestClient

    from api.context import build_context
    from api.http.app import create_app
    from store.models import Role, User

    settings = Settings(
        data_dir=tmp_path / "d",
        database_url=database_url,
        mode="development",
        identity_provider="oidc",
        oidc_issuer="https://login.example",
        oidc_audience="zel",
    )
    ctx = build_context(settings, open_chain=False)
    ctx.identity = OidcIdentityProvider("https://login.example", "zel", jwks=_jwks(issuer_key))
    with ctx.sessions() as session, session.begin():
        session.add(User(username="official-tax", role=Role.OFFICIAL.value, department="tax.440604"))
    with TestClient(create_app(ctx)) as client:
        ok = client.post("/v1/auth/oidc", json={"id_token": _token(issuer_key)})
        assert ok.status_code == 200
        me = ctx.tokens.check(ok.json()["access_token"])
        assert me.subject == "user:official-tax" and me.department == "tax.440604"
        forged = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        assert client.post("/v1/auth/oidc", json={"id_token": _token(forged)}).status_code == 401
        # password sign-in is not offered when the unified login is configured
        assert client.post("/v1/auth/login", json={"username": "official-tax", "password": "x" * 12}).status_code == 404
    ctx.engine.dispose()


def test_demo_data_is_never_written_into_a_directory_development_did_not_make(zel_bin, tmp_path):
    """An operator's data directory that relies on production being the default: `zel seed` (or `--demo`) without
    ZEL_MODE must not quietly turn it into development data."""
    data = tmp_path / "d"
    made = subprocess.run(
        [zel_bin, "users", "add", "ops", "--role", "admin", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        env=_env(ZEL_MODE="development", ZEL_SCRYPT_N="1024"),
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    (data / DEVELOPMENT_MARKER).unlink(missing_ok=True)
    seeded = subprocess.run(
        [zel_bin, "seed", "--data-dir", str(data)], capture_output=True, text=True, env=_env(), timeout=60
    )
    assert seeded.returncode != 0 and "development did not make" in seeded.stderr
    assert not (data / DEVELOPMENT_MARKER).exists()
