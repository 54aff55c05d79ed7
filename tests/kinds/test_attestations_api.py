"""`POST /v1/department/attestations` (issue 19): an official of a registered kind's department issues it for a
citizen, who finds it among their certificates; it verifies VALID once anchored. From the wrong side: another
department's officials, the other roles, the anonymous caller, and malformed or oversized bodies are refused and
nothing is stored. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select

from kinds.schema import parse
from store.models import Certificate
from zero_errand.kind_registry import register

RECEIPT = {
    "slug": "si-counter-receipt",
    "version": 1,
    "title": {"zh": "社保窗口办理回执", "en": "Social-insurance counter receipt"},
    "department": "si.440604",
    "subject": "person",
    "validity_days": 30,
    "fields": [
        {"name": "visited_on", "type": "date", "label": {"zh": "办理日期", "en": "Visited on"}, "in_qr": True},
        {
            "name": "matter",
            "type": "enum",
            "label": {"zh": "事项", "en": "Matter"},
            "in_qr": True,
            "values": {"card": {"zh": "社保卡", "en": "Card"}, "transfer": {"zh": "转移接续", "en": "Transfer"}},
        },
        {"name": "note", "type": "string", "max_length": 20, "label": {"zh": "备注", "en": "Note"}, "in_qr": False},
    ],
}
URL = "/v1/department/attestations"


def _registered(platform) -> None:  # noqa: ANN001
    admin = platform.ctx.settings.keystore().load("admin")
    register(platform.ctx.require_ledger(), admin, platform.ctx.sessions, parse(RECEIPT))


def _body(platform, **fields: object) -> dict:  # noqa: ANN001
    given = {"visited_on": "2026-11-30", "matter": "card", "note": "窗口办理", **fields}
    citizen1 = platform.client.creds.people[0]  # the seeded citizen1's ID number
    return {"kind": "si-counter-receipt", "subject": citizen1, "fields": given}


def _attestations(platform) -> int:  # noqa: ANN001
    with platform.ctx.sessions() as session:
        return session.scalar(select(func.count()).where(Certificate.kind.like("%.v%"))) or 0


def test_an_official_issues_an_attestation_the_holder_sees_and_that_verifies(platform) -> None:
    _registered(platform)
    r = platform.client.post(
        URL, json=_body(platform), headers=platform.headers("official")
    )  # the si bureau's official
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["kind"] == "si-counter-receipt.v1" and out["department"] == "si.440604" and out["state"] == "ISSUED"
    assert "note" not in out["content"]["values"]  # outside the QR code: in the holder's detail only
    mine = platform.client.get("/v1/citizen/certificates", headers=platform.headers("citizen")).json()
    assert out["number"] in {c["number"] for c in (mine["items"] if isinstance(mine, dict) else mine)}
    held = platform.client.get(f"/v1/citizen/certificates/{out['number']}", headers=platform.headers("citizen"))
    assert held.status_code == 200 and held.json()["detail"]["fields"] == {"note": "窗口办理"}
    platform.ctx.require_certificates().anchorer().run_once(force=True)
    verdict = platform.client.post("/v1/verify", json={"text": out["verify_url"]}).json()
    assert verdict["status"] == "VALID", verdict
    assert verdict["certificate"]["kind_zh"] == "社保窗口办理回执"


def test_the_wrong_side_is_refused_and_nothing_is_stored(platform) -> None:
    _registered(platform)
    for who, status in (
        ("official2", 403),  # the tax bureau's official: not the kind's department
        ("official3", 403),  # market supervision's
        ("admin", 403),
        ("citizen", 403),
        ("enterprise", 403),
        ("inspector", 403),
        ("anonymous", 401),
    ):
        r = platform.client.post(URL, json=_body(platform), headers=platform.headers(who))
        assert r.status_code == status, (who, r.status_code, r.text)
    official = platform.headers("official")
    bad = platform.client.post(URL, json=_body(platform, matter="holiday"), headers=official)
    assert bad.status_code == 422 and "matter" in bad.text
    missing = platform.client.post(URL, json={**_body(platform), "fields": {"matter": "card"}}, headers=official)
    assert missing.status_code == 422 and "visited_on" in missing.text
    unknown = platform.client.post(URL, json={**_body(platform), "kind": "no-such-kind"}, headers=official)
    assert unknown.status_code == 404 and "si-counter-receipt" in unknown.text
    stranger = platform.client.post(URL, json={**_body(platform), "subject": "11010519491231002X"}, headers=official)
    assert stranger.status_code == 404
    oversized = platform.client.post(URL, json=_body(platform, note="x" * 500), headers=official)
    assert oversized.status_code == 422
    many = {f"f{i}": "x" for i in range(40)}
    assert platform.client.post(URL, json={**_body(platform), "fields": many}, headers=official).status_code == 422
    assert _attestations(platform) == 0


def test_an_enterprise_hears_of_its_attestation_through_its_webhook(platform) -> None:
    from store.models import WebhookDelivery

    licence = {
        **RECEIPT,
        "slug": "licence-check-receipt",
        "department": "amr.440604",
        "subject": "enterprise",
        "title": {"zh": "营业执照核验回执", "en": "Business licence check receipt"},
    }
    admin = platform.ctx.settings.keystore().load("admin")
    register(platform.ctx.require_ledger(), admin, platform.ctx.sessions, parse(licence))
    with platform.ctx.sessions() as session:
        before = session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0
    body = {
        "kind": "licence-check-receipt",
        "subject": platform.usccs[0],
        "fields": {"visited_on": "2026-11-30", "matter": "card", "note": "核验"},
    }
    r = platform.client.post(URL, json=body, headers=platform.headers("official3"))  # market supervision's official
    assert r.status_code == 201, r.text
    with platform.ctx.sessions() as session:
        deliveries = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.webhook_id == platform.webhook)
        ).all()
        assert (session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0) == before + 1
    (event,) = [d for d in deliveries if d.payload["certificate"]["number"] == r.json()["number"]]
    assert event.event == "certificate.issued" and event.payload["certificate"]["kind"] == "licence-check-receipt.v1"
    assert event.payload["certificate"]["digest"] == r.json()["digest"]
