"""Status-change webhook events say why: a suspension and a revocation carry the department's reason."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from store.db import transaction
from store.models import WebhookDelivery
from zero_errand.certificates import REASONS, REASONS_ZH
from zero_errand.webhooks import register


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the outbox itself runs on both elsewhere
def test_suspension_and_revocation_events_carry_the_reason(platform) -> None:
    number, tax = platform.certs["enterprise"], platform.headers("official2")  # anchored, the tax bureau's
    with transaction(platform.ctx.sessions) as s:
        hook = register(
            s,
            platform.usccs[0],
            "https://erp.example.com/status",
            ["certificate.revoked", "certificate.suspended", "certificate.reinstated"],
            False,
        ).id
    for action, body in (
        ("suspend", {"reason": 4, "note": "核查中"}),
        ("reinstate", {}),
        ("revoke", {"reason": 3, "note": "内部备注"}),
    ):
        r = platform.client.post(f"/v1/department/certificates/{number}/{action}", json=body, headers=tax)
        assert r.status_code == 200, r.text
    with platform.ctx.sessions() as s:
        deliveries = s.scalars(select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook)).all()
        events = {d.event: d.payload for d in deliveries}
    assert events["certificate.suspended"]["reason"] == {"code": 4, "text": REASONS[4], "text_zh": REASONS_ZH[4]}
    assert events["certificate.revoked"]["reason"] == {"code": 3, "text": REASONS[3], "text_zh": REASONS_ZH[3]}
    assert events["certificate.revoked"]["certificate"]["state"] == "REVOKED"
    assert "reason" not in events["certificate.reinstated"]
    assert "内部备注" not in str(events)  # the official's note stays internal, as in the certificate API
