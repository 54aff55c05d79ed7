"""Issue 15.3: a token stops working on the request after its account is disabled or changed, not when it expires.

Each attack holds a token that is still valid (tokens live 15 minutes) and uses it after the administrators have
taken the account's rights away; the service must refuse, and the certificate must stay as it was.
"""

from __future__ import annotations

import time

from sqlalchemy import select, update

from api.http.accounts import AccountCheck
from store.models import Certificate, User


def _sign_in(platform, username: str) -> dict[str, str]:
    password = next(p for u, _, p in platform.client.creds.users if u == username)
    r = platform.client.post("/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _revoke(platform, headers: dict[str, str]):
    number = platform.certs["citizen"]  # a social-insurance certificate: si-official's department's
    return platform.client.post(
        f"/v1/department/certificates/{number}/revoke", json={"reason": 4, "note": "attack"}, headers=headers
    )


def _state(platform) -> str:
    with platform.ctx.sessions() as session:
        return session.scalars(select(Certificate.state).where(Certificate.number == platform.certs["citizen"])).one()


def test_a_disabled_official_cannot_revoke_with_a_live_token(platform):
    official = _sign_in(platform, "si-official")
    assert platform.client.get("/v1/department/me", headers=official).status_code == 200  # the row is now cached
    before = _state(platform)
    r = platform.client.post("/v1/admin/users/si-official/disable", headers=platform.headers("admin"))
    assert r.status_code == 200 and r.json()["disabled"] is True
    refused = _revoke(platform, official)  # the very next request, well within the token's 15 minutes
    assert refused.status_code == 403 and refused.json()["type"] == "urn:zel:problem:account-disabled"
    assert _state(platform) == before != "REVOKED"


def test_a_department_or_role_change_ends_the_old_tokens(platform):
    """No admin route changes a department or role yet: the CLI or another worker does it in the store, and the
    change is seen within the cache's second (the admin routes' own changes are seen at once)."""
    official = _sign_in(platform, "si-official")
    assert platform.client.get("/v1/department/me", headers=official).status_code == 200
    with platform.ctx.sessions() as session, session.begin():
        session.execute(update(User).where(User.username == "si-official").values(department="tax.440604"))
    time.sleep(platform.ctx.accounts.ttl + 0.05)
    refused = _revoke(platform, official)  # the token still says si.440604, whose certificate this is
    assert refused.status_code == 401 and refused.json()["type"] == "urn:zel:problem:invalid-token"
    assert "sign in again" in refused.json()["detail"] and _state(platform) != "REVOKED"
    with platform.ctx.sessions() as session, session.begin():
        session.execute(
            update(User).where(User.username == "si-official").values(department="si.440604", role="inspector")
        )
    platform.ctx.accounts.forget("user:si-official")
    assert _revoke(platform, official).status_code == 401  # an official's token of a user who is an inspector now
    with platform.ctx.sessions() as session, session.begin():
        session.execute(update(User).where(User.username == "si-official").values(role="official"))
    platform.ctx.accounts.forget("user:si-official")
    assert _revoke(platform, official).status_code == 200 and _state(platform) == "REVOKED"  # the control


def test_a_disabled_api_client_token_is_refused(platform):
    client_id, secret, uscc = platform.client.creds.clients[0]
    r = platform.client.post(
        "/v1/auth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    token = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert platform.client.get("/v1/enterprise/me", headers=token).json()["uscc"] == uscc
    assert (
        platform.client.post(f"/v1/admin/clients/{client_id}/disable", headers=platform.headers("admin")).status_code
        == 200
    )
    for method, path, body in (
        ("GET", "/v1/enterprise/me", None),
        ("GET", "/v1/enterprise/certificates", None),
        (
            "POST",
            "/v1/enterprise/certificates",
            {"kind": "tax-enterprise", "period_from": "2025-02", "period_to": "2025-03"},
        ),
    ):
        refused = platform.client.request(method, path, json=body, headers=token)
        assert refused.status_code == 403 and refused.json()["type"] == "urn:zel:problem:account-disabled", path


def test_a_token_for_an_account_that_never_existed_is_refused(platform):
    from api.security import Principal
    from store.models import Role

    ghost = platform.ctx.tokens.issue(Principal("user:ghost", Role.ADMIN))[0]
    r = platform.client.get("/v1/admin/users", headers={"Authorization": f"Bearer {ghost}"})
    assert r.status_code == 403 and r.json()["type"] == "urn:zel:problem:account-disabled"


def test_the_check_costs_one_query_a_second_and_nothing_on_public_routes(platform, monkeypatch):
    loads: list[str] = []
    original = AccountCheck._load

    def counted(self, subject):
        loads.append(subject)
        return original(self, subject)

    monkeypatch.setattr(AccountCheck, "_load", counted)
    platform.ctx.accounts.forget("user:citizen1")
    for _ in range(5):
        assert platform.client.get("/v1/citizen/me", headers=platform.headers("citizen")).status_code == 200
    assert loads == ["user:citizen1"]  # cached for the next requests of the same second
    with platform.ctx.sessions() as session:
        number = platform.certs["citizen"]
        digest = session.scalars(select(Certificate.digest).where(Certificate.number == number)).one()
    assert platform.client.get(f"/v1/verify/status/{digest}").status_code == 200
    assert platform.client.get(f"/v1/public/enterprises/{platform.usccs[0]}").status_code == 200
    assert loads == ["user:citizen1"]  # the public routes authenticate nobody and never read an account
