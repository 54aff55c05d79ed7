"""Issue 15.11, sign-in: equal work for every refusal, OWASP's scrypt cost, back-off without lockout, and client
addresses taken from X-Forwarded-For only when a trusted proxy says so. Each test performs the attack."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from starlette.requests import Request

from api import passwords
from api.http.problems import ProblemError
from api.http.throttle import FailureBackoff, client_address, limit_key, trusted_networks
from api.passwords import OWASP, ScryptCost, check_cost, current_cost, hash_secret, needs_rehash, verify_secret
from api.settings import Settings
from ledger.errors import ConfigurationError
from store.models import User

ATTACKER, VICTIM = ("198.51.100.7", 40000), ("203.0.113.9", 40000)


@pytest.fixture
def derivations(monkeypatch) -> list[int]:
    """Counts scrypt derivations (what a sign-in's time is made of): one entry, the cost's N, per derivation."""
    seen: list[int] = []
    original = passwords._derive

    def counted(secret: str, salt: bytes, cost: ScryptCost) -> bytes:
        seen.append(cost.n)
        return original(secret, salt, cost)

    monkeypatch.setattr(passwords, "_derive", counted)
    return seen


def _password(platform, username: str) -> str:
    return next(p for u, _, p in platform.client.creds.users if u == username)


def _login(client: TestClient, username: str, password: str, **headers: str):
    return client.post("/v1/auth/login", json={"username": username, "password": password}, headers=headers)


def _set_hash(platform, username: str, stored: str | None) -> None:
    with platform.ctx.sessions() as session, session.begin():
        session.execute(update(User).where(User.username == username).values(password_hash=stored))


# -- the same work for unknown, disabled and valid accounts --------------------------------------------------------


def test_every_sign_in_costs_exactly_one_scrypt_check(platform, derivations):
    platform.client.post("/v1/admin/users/citizen2/disable", headers=platform.headers("admin"))
    _set_hash(platform, "tax-official", None)  # an account that signs in elsewhere (OIDC): no password here
    attempts = {
        "unknown": ("nobody-at-all", "guess"),
        "disabled, right password": ("citizen2", _password(platform, "citizen2")),
        "valid, wrong password": ("citizen1", "guess"),
        "no password hash": ("tax-official", "guess"),
        "valid, right password": ("citizen1", _password(platform, "citizen1")),
    }
    for what, (username, password) in attempts.items():
        derivations.clear()
        status = _login(platform.client, username, password).status_code
        assert status == (200 if what.startswith("valid, right") else 401), what
        assert derivations == [current_cost().n], what  # one check at the same cost, whoever was asked for


def test_every_client_credentials_check_costs_exactly_one_scrypt_check(platform, derivations):
    (client_id, secret, _), (disabled_id, disabled_secret, _) = platform.client.creds.clients[:2]
    platform.client.post(f"/v1/admin/clients/{disabled_id}/disable", headers=platform.headers("admin"))
    for what, cid, sec, expected in (
        ("unknown", "ent-0000000000000000", "guess", 401),
        ("disabled", disabled_id, disabled_secret, 401),
        ("wrong secret", client_id, "guess", 401),
        ("valid", client_id, secret, 200),
    ):
        derivations.clear()
        r = platform.client.post(
            "/v1/auth/token", data={"grant_type": "client_credentials", "client_id": cid, "client_secret": sec}
        )
        assert r.status_code == expected and derivations == [current_cost().n], what


# -- scrypt at OWASP's cost; old hashes keep working -------------------------------------------------------------


def _legacy_hash(secret: str) -> str:
    """A hash exactly as the service stored them before: scrypt N=2**14 with hashlib's default 32 MiB limit."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, n=2**14, r=8, p=1)
    return "scrypt$16384$8$1$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def test_new_hashes_use_owasps_cost_by_default(monkeypatch):
    monkeypatch.delenv("ZEL_SCRYPT_N", raising=False)
    assert current_cost() == OWASP == ScryptCost(n=2**17, r=8, p=1)
    assert OWASP.maxmem > 128 * 2**17 * 8  # hashlib's default limit (32 MiB) would refuse this cost
    stored = hash_secret("correct horse")
    assert stored.startswith("scrypt$131072$8$1$")
    assert verify_secret("correct horse", stored) and not needs_rehash(stored)


def test_stored_old_parameter_hashes_verify_and_are_upgraded_on_sign_in(platform, monkeypatch, derivations):
    legacy = _legacy_hash("legacy password")
    assert verify_secret("legacy password", legacy) and not verify_secret("legacy passworD", legacy)
    _set_hash(platform, "inspector1", legacy)
    monkeypatch.setenv("ZEL_SCRYPT_N", str(2**15))  # stands in for OWASP's 2**17 in this test: stronger than 2**14
    assert needs_rehash(legacy)
    assert _login(platform.client, "inspector1", "wrong").status_code == 401
    assert _login(platform.client, "inspector1", "legacy password").status_code == 200
    with platform.ctx.sessions() as session:
        upgraded = session.scalars(select(User.password_hash).where(User.username == "inspector1")).one()
    assert upgraded.startswith("scrypt$32768$8$1$") and verify_secret("legacy password", upgraded)
    derivations.clear()
    assert _login(platform.client, "inspector1", "legacy password").status_code == 200
    assert derivations == [2**15]  # upgraded once: no second rehash


def test_a_lowered_cost_is_for_explicit_development_only(monkeypatch):
    monkeypatch.setenv("ZEL_SCRYPT_N", "1024")
    monkeypatch.setenv("ZEL_MODE", "development")
    assert current_cost().n == 1024
    with pytest.raises(ConfigurationError, match="refusing to start in production"):
        check_cost("production")  # a service configured for production (TOML, argument) refuses to start
    for mode in ("production", None):
        if mode is None:
            monkeypatch.delenv("ZEL_MODE")
        else:
            monkeypatch.setenv("ZEL_MODE", mode)
        with pytest.raises(ConfigurationError, match="ZEL_SCRYPT_N"):
            hash_secret("anything")
    monkeypatch.setenv("ZEL_MODE", "development")
    monkeypatch.setenv("ZEL_SCRYPT_N", "1000")
    with pytest.raises(ConfigurationError, match="power of two"):
        current_cost()


def test_a_crafted_hash_cannot_demand_gigabytes(derivations):
    salt, digest = base64.b64encode(b"s" * 16).decode(), base64.b64encode(b"d" * 32).decode()
    assert not verify_secret("x", f"scrypt$1073741824$8$1${salt}${digest}")  # N=2**30: 1 TiB
    assert not verify_secret("x", f"scrypt$1048576$32$1${salt}${digest}")  # N=2**20, r=32: 4 GiB
    assert not verify_secret("x", f"scrypt$262144$16$1${salt}${digest}")  # 512 MiB
    assert derivations == [current_cost().n] * 3  # refused at the usual cost, like any unusable hash


# -- back-off, never lockout ---------------------------------------------------------------------------------------


def test_failed_sign_ins_back_off_but_never_lock_the_owner_out(platform, derivations):
    attacker = TestClient(platform.app, client=ATTACKER)
    owner = TestClient(platform.app, client=VICTIM)
    password = _password(platform, "admin")
    assert [_login(attacker, "admin", "guess").status_code for _ in range(3)] == [401, 401, 401]
    derivations.clear()
    slowed = _login(attacker, "admin", "guess")
    assert slowed.status_code == 429 and slowed.json()["type"] == "urn:zel:problem:rate-limited"
    assert int(slowed.headers["retry-after"]) >= 1
    assert _login(attacker, "admin", password).status_code == 429  # no guess is checked while backing off
    assert derivations == []  # and backing off costs no scrypt work
    assert _login(owner, "admin", password).status_code == 200  # the owner, elsewhere, signs in at once
    assert _login(attacker, "admin", "guess").status_code == 429


def test_the_back_off_doubles_up_to_its_cap_and_success_clears_it():
    now = [1000.0]
    backoff = FailureBackoff(free=3, base=1.0, cap=8.0, clock=lambda: now[0])
    waits = []
    for _ in range(8):
        while True:
            try:
                backoff.attempt("user:admin@198.51.100.7")
                break
            except ProblemError as refused:
                assert refused.status_code == 429
                waits.append(int(refused.headers["Retry-After"]))
                now[0] += waits[-1]
    assert waits == [1, 2, 4, 8, 8]
    backoff.succeeded("user:admin@198.51.100.7")
    backoff.attempt("user:admin@198.51.100.7")  # cleared: no wait
    backoff.attempt("user:admin@203.0.113.9")  # another address was never slowed


# -- client addresses through trusted proxies only ---------------------------------------------------------------


def _request(peer: str, forwarded: list[str]) -> Request:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


def test_client_address_believes_only_trusted_proxies():
    proxies = trusted_networks(["10.0.0.0/8", "2001:db8::/32", "192.0.2.10"])
    assert client_address(_request("198.51.100.7", ["1.2.3.4"]), ()) == "198.51.100.7"  # default: ignored
    assert client_address(_request("198.51.100.7", ["1.2.3.4"]), proxies) == "198.51.100.7"  # untrusted peer
    assert client_address(_request("10.0.0.2", ["198.51.100.50"]), proxies) == "198.51.100.50"
    # What the client wrote itself sits left of what the proxies appended: the nearest untrusted hop wins.
    assert client_address(_request("10.0.0.2", ["1.2.3.4, 198.51.100.50, 192.0.2.10"]), proxies) == "198.51.100.50"
    assert client_address(_request("10.0.0.2", ["1.2.3.4", "198.51.100.50"]), proxies) == "198.51.100.50"
    assert client_address(_request("2001:db8::1", ["2001:db8::2, 2400:cb00::1"]), proxies) == "2400:cb00::1"
    assert client_address(_request("10.0.0.2", []), proxies) == "10.0.0.2"
    with pytest.raises(ConfigurationError, match="ZEL_TRUSTED_PROXIES"):
        trusted_networks(["10.0.0.0/8", "proxy.example"])


def test_an_ipv6_subscriber_cannot_rotate_addresses_within_its_prefix(platform):
    """One subscriber holds a whole /64: its 2**64 addresses share one back-off (and one rate-limit bucket)."""
    assert limit_key("2001:db8:1:2::9") == limit_key("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert limit_key("::ffff:198.51.100.7") == "198.51.100.7" and limit_key("198.51.100.7") == "198.51.100.7"
    statuses = [
        _login(TestClient(platform.app, client=(f"2001:db8:1:2::{i}", 40000)), "admin", "guess").status_code
        for i in range(1, 5)
    ]
    assert statuses == [401, 401, 401, 429]


def test_trusted_proxies_come_from_the_environment(monkeypatch, tmp_path):
    assert Settings(data_dir=tmp_path / "d").trusted_proxies == []
    monkeypatch.setenv("ZEL_TRUSTED_PROXIES", '["10.0.0.0/8", "192.0.2.10"]')
    assert Settings(data_dir=tmp_path / "d").trusted_proxies == ["10.0.0.0/8", "192.0.2.10"]


def test_x_forwarded_for_from_an_untrusted_peer_cannot_dodge_the_back_off(platform):
    attacker = TestClient(platform.app, client=ATTACKER)
    platform.ctx.proxies = trusted_networks(["10.0.0.0/8"])
    statuses = [
        _login(attacker, "admin", "guess", **{"X-Forwarded-For": f"192.0.2.{i}"}).status_code for i in range(1, 5)
    ]
    assert statuses == [401, 401, 401, 429]  # every forged address was the attacker's own


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(platform):
    platform.ctx.proxies = trusted_networks(["10.0.0.0/8"])
    proxy = TestClient(platform.app, client=("10.0.0.2", 40000))
    attacker = {"X-Forwarded-For": "198.51.100.50"}
    assert [_login(proxy, "admin", "guess", **attacker).status_code for _ in range(3)] == [401, 401, 401]
    assert _login(proxy, "admin", "guess", **attacker).status_code == 429
    spoofed = {"X-Forwarded-For": "203.0.113.77, 198.51.100.50"}  # the attacker prepends a made-up address
    assert _login(proxy, "admin", "guess", **spoofed).status_code == 429
    owner = {"X-Forwarded-For": "198.51.100.51"}  # another client behind the same proxy
    assert _login(proxy, "admin", _password(platform, "admin"), **owner).status_code == 200
