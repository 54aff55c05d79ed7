"""Authentication flows, token checks, request limits and problem documents."""

from __future__ import annotations

import time

import jwt
import pytest

from api.security import AUDIENCE, ISSUER


def test_client_credentials_flow(platform):
    client_id, secret, uscc = platform.client.creds.clients[0]
    r = platform.client.post(
        "/v1/auth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert r.json()["token_type"] == "bearer" and 0 < r.json()["expires_in"] <= 900
    me = platform.client.get("/v1/enterprise/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["uscc"] == uscc


def test_client_credentials_refusals(platform):
    client_id, secret, _ = platform.client.creds.clients[0]
    bad = platform.client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret + "x"},
    )
    assert bad.status_code == 401 and bad.json()["type"] == "urn:zel:problem:invalid-client"
    assert bad.json()["error"] == "invalid_client"  # RFC 6749 §5.2 (tests/api/test_oauth2.py has the rest)
    wrong_grant = platform.client.post(
        "/v1/auth/token", data={"grant_type": "password", "client_id": client_id, "client_secret": secret}
    )
    assert wrong_grant.status_code == 400 and wrong_grant.json()["error"] == "unsupported_grant_type"
    platform.client.post(f"/v1/admin/clients/{client_id}/disable", headers=platform.headers("admin"))
    disabled = platform.client.post(
        "/v1/auth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    assert disabled.status_code == 401


def test_login_flow_and_disabled_user(platform):
    username, _, password = next(u for u in platform.client.creds.users if u[0] == "citizen1")
    r = platform.client.post("/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200
    token = r.json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["role"] == "citizen" and claims["sub"] == "user:citizen1" and "id_number" not in claims
    assert platform.client.post("/v1/auth/login", json={"username": username, "password": "nope"}).status_code == 401
    assert platform.client.post("/v1/auth/login", json={"username": "ghost", "password": "x"}).status_code == 401
    platform.client.post("/v1/admin/users/citizen1/disable", headers=platform.headers("admin"))
    after = platform.client.get("/v1/citizen/me", headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 403 and after.json()["type"] == "urn:zel:problem:account-disabled"
    assert platform.client.post("/v1/auth/login", json={"username": username, "password": password}).status_code == 401


def test_expired_forged_and_malformed_tokens(platform):
    key = platform.ctx.settings.token_key()
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user:admin", "role": "admin"}
    expired = jwt.encode({**base, "iat": now - 1000, "exp": now - 10}, key, algorithm="HS256")
    forged = jwt.encode({**base, "iat": now, "exp": now + 100}, b"another key" * 4, algorithm="HS256")
    for token, problem in ((expired, "has expired"), (forged, "is invalid"), ("not.a.jwt", "is invalid")):
        r = platform.client.get("/v1/admin/users", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and problem in r.json()["detail"]
        assert r.json()["type"] == "urn:zel:problem:invalid-token"


def test_a_remembered_token_still_expires_and_a_tampered_one_is_checked_in_full(monkeypatch):
    from api.security import Principal, TokenError, TokenService
    from store.models import Role

    tokens = TokenService(b"k" * 32, ttl_seconds=60, remembered=2)
    token, _ = tokens.issue(Principal("client:a", Role.ENTERPRISE, uscc="91440604MA4UABCD1X"))
    assert tokens.check(token) == tokens.check(token) == Principal("client:a", Role.ENTERPRISE, "91440604MA4UABCD1X")
    head, payload, signature = token.split(".")
    for tampered in (f"{head}.{payload}.{signature[:-2]}AA", f"{head}.{payload}x.{signature}", token + " "):
        with pytest.raises(TokenError, match="is invalid"):
            tokens.check(tampered)
    others = [tokens.issue(Principal(f"client:{n}", Role.ENTERPRISE))[0] for n in range(3)]
    assert [tokens.check(t).subject for t in others] == ["client:0", "client:1", "client:2"]  # past the bound
    assert len(tokens._checked) <= 2
    remembered = others[-1]
    assert remembered in tokens._checked
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)  # what the cache reads (PyJWT's own check: the test above)
    with pytest.raises(TokenError, match="has expired"):
        tokens.check(remembered)
    assert remembered not in tokens._checked


def test_login_is_rate_limited(platform):
    statuses = [
        platform.client.post("/v1/auth/login", json={"username": "admin", "password": "wrong"}).status_code
        for _ in range(25)
    ]
    assert statuses[0] == 401 and statuses[-1] == 429
    r = platform.client.post("/v1/auth/login", json={"username": "admin", "password": "wrong"})
    assert r.json()["type"] == "urn:zel:problem:rate-limited" and int(r.headers["retry-after"]) >= 1


def test_body_size_limit(platform):
    big = {"username": "x" * (platform.ctx.settings.max_body_bytes + 10), "password": "y"}
    r = platform.client.post("/v1/auth/login", json=big)
    assert r.status_code == 413 and r.json()["type"] == "urn:zel:problem:payload-too-large"


def test_validation_errors_name_the_field(platform):
    r = platform.client.post(
        "/v1/admin/users", json={"username": "bad name!", "role": "wizard"}, headers=platform.headers("admin")
    )
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    names = {p["name"] for p in r.json()["invalid_params"]}
    assert names == {"username", "role"}
    r = platform.client.post(
        "/v1/admin/users",
        json={"username": "c3", "role": "citizen", "name": "张三", "id_number": "440604198503122011"},
        headers=platform.headers("admin"),
    )
    assert r.status_code == 422 and r.json()["invalid_params"][0]["name"] == "id_number"


def test_admin_creates_users_and_clients_and_every_action_is_audited(platform):
    h = platform.headers("admin")
    r = platform.client.post(
        "/v1/admin/users", json={"username": "inspector9", "role": "inspector", "department": "amr.440604"}, headers=h
    )
    assert r.status_code == 201 and r.json()["initial_password"]
    dup = platform.client.post(
        "/v1/admin/users", json={"username": "inspector9", "role": "inspector", "department": "amr.440604"}, headers=h
    )
    assert dup.status_code == 409 and dup.json()["type"] == "urn:zel:problem:conflict"
    c = platform.client.post("/v1/admin/clients", json={"uscc": platform.usccs[1], "name": "erp"}, headers=h)
    assert c.status_code == 201 and len(c.json()["client_secret"]) >= 32
    entries = platform.client.get("/v1/admin/audit", headers=h).json()
    assert [e["action"] for e in entries[:2]] == ["client.add", "user.add"]
    assert entries[0]["actor"] == "user:admin" and entries[0]["role"] == "admin"
    assert entries[1]["target"] == "inspector9"
    assert platform.client.get("/v1/admin/audit/verify", headers=h).json()["ok"] is True


def test_health_readiness_metrics_and_pages(platform):
    assert platform.client.get("/healthz").json() == {"status": "ok"}
    ready = platform.client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["chain_id"] == platform.ctx.ledger.sender.chain_id
    metrics = platform.client.get("/metrics").text
    assert 'zel_http_requests_total{method="GET",route="/readyz",status="200"}' in metrics
    zh = platform.client.get("/")
    assert zh.status_code == 200 and "零跑腿信用账本" in zh.text and 'lang="zh-CN"' in zh.text
    en = platform.client.get("/?lang=en")
    assert "ZeroErrand Ledger" in en.text and 'lang="en"' in en.text
    page = platform.client.get("/verify")
    assert page.status_code == 200 and "证明核验" in page.text and 'href="?lang=en"' in page.text
    assert "Verify a certificate" in platform.client.get("/verify?lang=en").text


def test_readyz_reports_a_dead_store(platform):
    platform.ctx.engine.dispose()
    from sqlalchemy import create_engine

    platform.ctx.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    r = platform.client.get("/readyz")
    assert r.status_code == 503 and r.json()["store"].startswith("unavailable")
