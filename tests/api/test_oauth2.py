"""The token endpoint as stock OAuth2 clients use it: Authlib's httpx client with client_secret_basic and
client_secret_post, and RFC 6749 §5.2 refusals."""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import quote

import httpx
import pytest

TOKEN = "/v1/auth/token"


def _basic(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 §2.3.1: each part form-urlencoded, then `id:secret` in base64."""
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_authlib_client_obtains_and_uses_a_token(platform, method):
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    client_id, secret, uscc = platform.client.creds.clients[0]

    async def flow() -> tuple[dict, httpx.Response, httpx.Request]:
        seen: list[httpx.Request] = []

        async def record(request: httpx.Request) -> None:
            seen.append(request)

        async with AsyncOAuth2Client(
            client_id,
            secret,
            token_endpoint_auth_method=method,
            transport=httpx.ASGITransport(app=platform.app),
            base_url="http://testserver",
            event_hooks={"request": [record]},
        ) as client:
            token = await client.fetch_token(TOKEN, grant_type="client_credentials")
            me = await client.get("/v1/enterprise/me")  # the client puts the token in the Authorization header
            return token, me, seen[0]

    token, me, token_request = asyncio.run(flow())
    assert token["token_type"] == "bearer" and token["expires_in"] > 0
    assert me.status_code == 200 and me.json()["uscc"] == uscc
    body = token_request.content.decode()
    if method == "client_secret_basic":
        assert token_request.headers["authorization"].startswith("Basic ") and "client_secret" not in body
    else:
        assert "authorization" not in token_request.headers and "client_secret=" in body


def test_token_responses_are_not_cached_and_basic_parts_are_form_urlencoded(platform):
    client_id, secret, _ = platform.client.creds.clients[0]
    spelled = "".join(f"%{ord(c):02X}" for c in client_id)  # every character percent-encoded, as §2.3.1 allows
    raw = f"{spelled}:{secret}".encode()
    r = platform.client.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(raw).decode()},
    )
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store" and r.headers["pragma"] == "no-cache"


def test_rfc6749_error_responses(platform):
    client_id, secret, _ = platform.client.creds.clients[0]
    post = {"client_id": client_id, "client_secret": secret}

    def token(data: dict, headers: dict | None = None) -> httpx.Response:
        return platform.client.post(TOKEN, data=data, headers=headers or {})

    cases = [
        # (request, status, error, whether a Basic challenge is required)
        (token({"grant_type": "client_credentials"}, _basic(client_id, secret + "x")), 401, "invalid_client"),
        (token({"grant_type": "client_credentials"}, _basic("ent-0000000000000000", "guess")), 401, "invalid_client"),
        (token({"grant_type": "client_credentials"}, {"Authorization": "Basic !!!"}), 401, "invalid_client"),
        (
            token({"grant_type": "client_credentials", "client_id": client_id, "client_secret": "guess"}),
            401,
            "invalid_client",
        ),
        (token({"grant_type": "client_credentials"}), 401, "invalid_client"),  # no client authentication at all
        (token({"grant_type": "password"}, _basic(client_id, secret)), 400, "unsupported_grant_type"),
        (token({**post, "grant_type": "authorization_code"}), 400, "unsupported_grant_type"),
        (token(post), 400, "invalid_request"),  # no grant_type
        (
            token({"grant_type": "client_credentials", "client_secret": secret}, _basic(client_id, secret)),
            400,
            "invalid_request",
        ),  # two authentication methods at once
        (token({**post, "grant_type": "client_credentials", "scope": "admin"}), 400, "invalid_scope"),
    ]
    for r, status, error in cases:
        assert r.status_code == status, (error, r.text)
        body = r.json()
        assert body["error"] == error and body["error_description"], body
        assert r.headers["content-type"] == "application/json" and r.headers["cache-control"] == "no-store"
        assert body["type"] == "urn:zel:problem:" + error.replace("_", "-") and body["status"] == status
        if status == 401:
            assert r.headers["www-authenticate"].startswith("Basic ")


def test_authlib_reports_the_refusal(platform):
    from authlib.integrations.base_client import OAuthError

    client_id, _secret, _ = platform.client.creds.clients[0]

    async def flow() -> None:
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        async with AsyncOAuth2Client(
            client_id,
            "wrong",
            token_endpoint_auth_method="client_secret_basic",
            transport=httpx.ASGITransport(app=platform.app),
            base_url="http://testserver",
        ) as client:
            await client.fetch_token(TOKEN, grant_type="client_credentials")

    with pytest.raises(OAuthError) as refused:
        asyncio.run(flow())
    assert refused.value.error == "invalid_client"


def test_the_sign_in_limit_still_applies_to_basic_clients(platform):
    client_id, _secret, _ = platform.client.creds.clients[0]
    statuses = [
        platform.client.post(
            TOKEN, data={"grant_type": "client_credentials"}, headers=_basic(client_id, f"wrong-{i}")
        ).status_code
        for i in range(25)
    ]
    assert statuses[0] == 401 and statuses[-1] == 429
