"""Idempotency-Key on certificate requests: a repeat returns the original, another body under the key is refused,
and a key is the requester's own (another enterprise or citizen using it never gets the original)."""

from __future__ import annotations


def _request(platform, who, body, key):
    prefix = "/v1/enterprise" if who.startswith("enterprise") else "/v1/citizen"
    return platform.client.post(
        f"{prefix}/certificates", json=body, headers=platform.headers(who) | {"Idempotency-Key": key}
    )


TAX = {"kind": "tax-enterprise", "period_from": "2025-01", "period_to": "2025-03"}


def test_same_key_same_body_returns_the_original(platform):
    first = _request(platform, "enterprise", TAX, "erp-order-1")
    again = _request(platform, "enterprise", dict(reversed(list(TAX.items()))), "erp-order-1")  # same fields, any order
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["number"] == first.json()["number"] and again.json()["digest"] == first.json()["digest"]


def test_same_key_different_body_is_refused(platform):
    first = _request(platform, "enterprise", TAX, "erp-order-2")
    assert first.status_code == 201
    for changed in (
        {**TAX, "period_to": "2025-04"},
        {**TAX, "period_from": "2024-12"},
        {**TAX, "kind": "si-enterprise"},
    ):
        r = _request(platform, "enterprise", changed, "erp-order-2")
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["type"] == "urn:zel:problem:idempotency-key-reused"
        assert "erp-order-2" in problem["detail"] and "new key" in problem["detail"]
        assert problem["invalid_params"][0]["name"] == "Idempotency-Key"
        assert first.json()["number"] not in r.text  # the original is never handed out for another request
    assert _request(platform, "enterprise", TAX, "erp-order-2").json()["number"] == first.json()["number"]


def test_another_requester_reusing_a_key_never_gets_the_original(platform):
    mine = _request(platform, "enterprise", TAX, "erp-order-3")
    assert mine.status_code == 201
    # Another enterprise that learns (or guesses) the key, same body or not: its own request, its own certificate.
    theirs = _request(platform, "enterprise2", TAX, "erp-order-3")
    assert theirs.status_code == 201 and theirs.json()["number"] != mine.json()["number"]
    subject = theirs.json()["content"]["header"]["subject"]
    assert subject == platform.usccs[1] != mine.json()["content"]["header"]["subject"]
    other_body = _request(platform, "enterprise2", {**TAX, "period_to": "2025-02"}, "erp-order-3")
    assert other_body.status_code == 422 and mine.json()["number"] not in other_body.text  # refused on its own key
    # Citizens too: the key is per person.
    body = {"kind": "si-individual", "period_from": "2025-01", "period_to": "2025-03"}
    a = _request(platform, "citizen", body, "phone-1")
    b = _request(platform, "citizen2", body, "phone-1")
    assert (a.status_code, b.status_code) == (201, 201) and a.json()["number"] != b.json()["number"]
    # The original owner still gets the original.
    assert _request(platform, "enterprise", TAX, "erp-order-3").json()["number"] == mine.json()["number"]
