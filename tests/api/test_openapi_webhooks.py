"""Issue 16.2: the webhooks in the OpenAPI document (its `webhooks` section) are every event the service emits, with
the body it sends; the verifiers in docs/webhooks.md (Python and Node) accept what the service signs and refuse a
changed body, a wrong secret and a stale timestamp."""

from __future__ import annotations

import json
import re
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pytest
from sqlalchemy import select

from api.http.openapi import CertificateEvent
from api.http.routers.webhooks import Event
from store.db import transaction
from store.models import Certificate, WebhookDelivery
from tests.conftest import ROOT
from zero_errand.certificates import CertKind
from zero_errand.issuance import Subject
from zero_errand.webhooks import EVENTS, certificate_event, register, signature

DOC = ROOT / "docs" / "webhooks.md"
STATE_AFTER = {
    "certificate.issued": "ISSUED",
    "certificate.revoked": "REVOKED",
    "certificate.suspended": "SUSPENDED",
    "certificate.reinstated": "ANCHORED",
}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the events, not the store, are under test
def test_the_webhooks_section_lists_every_event_the_service_emits(platform: Any) -> None:
    spec = platform.client.get("/openapi.json").json()
    declared = spec["webhooks"]
    assert set(declared) == set(EVENTS) == set(get_args(Event)) == set(STATE_AFTER)
    for item in declared.values():
        op = item["post"]
        assert op["summary"] and "X-Zel-Signature" in op["description"] and "backoff" in op["description"]
        assert op["tags"] == ["enterprise"]
        assert {p["name"] for p in op["parameters"] if p["in"] == "header"} == {
            "X-Zel-Signature",
            "X-Zel-Event",
            "X-Zel-Delivery",
        }
        assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/CertificateEvent")

    # Emit every event for real: issue, anchor, suspend, reinstate, revoke an enterprise's certificate.
    uscc = platform.usccs[0]
    with transaction(platform.ctx.sessions) as session:
        hook = register(session, uscc, "https://erp.example.com/all", list(EVENTS), False).id
    with transaction(platform.ctx.sessions) as session:
        number = platform.ctx.certificates.request(
            session,
            kind=CertKind.SI_ENTERPRISE,
            subject=Subject(uscc=uscc),
            period_from="2025-01",
            period_to="2025-03",
            actor="client:test",
            actor_role="enterprise",
        )[0].number
    platform.ctx.certificates.anchorer(max_wait=0).run_once(force=True)
    for action in ("suspend", "reinstate", "revoke"):
        with transaction(platform.ctx.sessions) as session:
            platform.ctx.certificates.change_status(
                session, number, action, department="si.440604", reason=1, note="openapi", actor="user:si-official"
            )
    with platform.ctx.sessions() as session:
        sent = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook).order_by(WebhookDelivery.id)
        ).all()
        digest = session.scalars(select(Certificate.digest).where(Certificate.number == number)).one()
    assert [d.event for d in sent] == [
        "certificate.issued",
        "certificate.suspended",
        "certificate.reinstated",
        "certificate.revoked",
    ]
    assert {d.event for d in sent} == set(declared)
    for delivery in sent:  # each body is what the document declares
        body = CertificateEvent.model_validate(delivery.payload)
        assert body.event == delivery.event and body.certificate.number == number
        assert body.certificate.state == STATE_AFTER[delivery.event] and body.certificate.digest == digest
    schema = spec["components"]["schemas"]["CertificateInEvent"]["properties"]
    assert set(schema["kind"]["enum"]) == {k.slug for k in CertKind if k.for_enterprise}


def examples() -> dict[str, str]:
    """The fenced Python and Node examples of docs/webhooks.md, by language."""
    found = dict(re.findall(r"```(python|js)\n(.*?)```", DOC.read_text(), re.S))
    assert set(found) == {"python", "js"}
    return found


def cases() -> tuple[str, list[dict[str, Any]]]:
    """A delivery body as the deliverer encodes it, signed by the service's own code, and the ways to spoil it."""
    secret = "whsec_" + "k" * 43
    payload = certificate_event(
        Certificate(
            number="42025070112345678",
            kind="si-enterprise",
            state="REVOKED",
            digest="0x" + "ab" * 32,
            issued_at=datetime.now(UTC),
        ),
        "certificate.revoked",
    )
    payload["note"] = "撤销"  # a non-ASCII byte or two: the MAC is over the raw UTF-8
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    now = int(time.time())
    good = signature(secret, now, body)
    return secret, [
        {"name": "genuine", "header": good, "body": body.hex(), "ok": True},
        {"name": "body changed", "header": good, "body": body.replace(b"REVOKED", b"ANCHORED").hex(), "ok": False},
        {"name": "one byte added", "header": good, "body": (body + b" ").hex(), "ok": False},
        {"name": "wrong secret", "header": signature(secret + "x", now, body), "body": body.hex(), "ok": False},
        {"name": "stale", "header": signature(secret, now - 301, body), "body": body.hex(), "ok": False},
        {"name": "t changed", "header": good.replace(f"t={now}", f"t={now - 1}"), "body": body.hex(), "ok": False},
        {"name": "no v1", "header": f"t={now}", "body": body.hex(), "ok": False},
        {"name": "garbage", "header": "nonsense", "body": body.hex(), "ok": False},
    ]


def test_the_python_example_verifies_what_the_service_signs() -> None:
    code = examples()["python"]
    assert len(code.strip().splitlines()) <= 11  # "ten lines"
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    secret, spoiled = cases()
    got = {c["name"]: namespace["verify"](secret, c["header"], bytes.fromhex(c["body"])) for c in spoiled}
    assert got == {c["name"]: c["ok"] for c in spoiled}


def test_the_node_example_verifies_what_the_service_signs(tmp_path: Path) -> None:
    code = examples()["js"]
    assert len(code.strip().splitlines()) <= 11
    secret, spoiled = cases()
    script = tmp_path / "verify.js"
    script.write_text(
        code
        + """
const [secret, cases] = [process.argv[2], JSON.parse(process.argv[3])];
console.log(JSON.stringify(Object.fromEntries(
  cases.map((c) => [c.name, verify(secret, c.header, Buffer.from(c.body, "hex"))]))));
"""
    )
    run = subprocess.run(["node", str(script), secret, json.dumps(spoiled)], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {c["name"]: c["ok"] for c in spoiled}
