"""Webhooks: events in the same transaction as the change, HMAC-signed, retried, logged."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

from sqlalchemy import update

from store.models import WebhookDelivery
from zero_errand.webhooks import Deliverer


class Receiver:
    """A real HTTP endpoint on loopback that fails the first `fail` requests."""

    def __init__(self, fail: int) -> None:
        self.fail, self.received = fail, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(500 if len(receiver.received) <= receiver.fail else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_issue_and_revoke_events_are_signed_retried_and_logged(platform):
    receiver = Receiver(fail=1)
    h = platform.headers("enterprise")
    platform.client.delete(f"/v1/enterprise/webhooks/{platform.webhook}", headers=h)  # only ours below
    created = platform.client.post(
        "/v1/enterprise/webhooks",
        headers=h,
        json={"url": receiver.url, "events": ["certificate.issued", "certificate.revoked"]},
    )
    assert created.status_code == 201
    hook, secret = created.json()["id"], created.json()["secret"]
    number = platform.client.post(
        "/v1/enterprise/certificates",
        headers=h,
        json={"kind": "tax-enterprise", "period_from": "2025-01", "period_to": "2025-02"},
    ).json()["number"]

    deliverer = Deliverer(platform.ctx.sessions, allow_loopback=True)  # the receiver runs on this machine
    assert deliverer.run_once() == 1  # first attempt: the receiver answers 500
    log = platform.client.get(f"/v1/enterprise/webhooks/{hook}/deliveries", headers=h).json()
    assert log[0]["state"] == "PENDING" and log[0]["attempts"] == 1 and log[0]["last_status"] == 500
    assert datetime.fromisoformat(log[0]["next_attempt_at"]) > datetime.now(UTC)
    assert deliverer.run_once() == 0  # backing off
    with platform.ctx.sessions() as s, s.begin():  # time passes
        s.execute(update(WebhookDelivery).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert deliverer.run_once() == 1
    log = platform.client.get(f"/v1/enterprise/webhooks/{hook}/deliveries", headers=h).json()
    assert log[0]["state"] == "DELIVERED" and log[0]["attempts"] == 2

    headers, body = receiver.received[-1]
    payload = json.loads(body)
    assert payload["event"] == "certificate.issued" and payload["certificate"]["number"] == number
    assert headers["X-Zel-Event"] == "certificate.issued"
    t, v1 = (part.split("=", 1)[1] for part in headers["X-Zel-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(v1, expected)
    forged = hmac.new(b"whsec_wrong", f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    assert forged != v1

    # A revocation by the tax bureau reaches the same endpoint.
    platform.ctx.certificates.anchorer(max_wait=0).run_once(force=True)
    r = platform.client.post(
        f"/v1/department/certificates/{number}/revoke", json={"reason": 2}, headers=platform.headers("official2")
    )
    assert r.status_code == 200
    assert deliverer.run_once() == 1
    assert json.loads(receiver.received[-1][1])["event"] == "certificate.revoked"
    receiver.server.shutdown()


def test_webhook_validation_and_ownership(platform):
    h = platform.headers("enterprise")
    plain = platform.client.post(
        "/v1/enterprise/webhooks",
        headers=h,
        json={"url": "http://erp.example.com/hook", "events": ["certificate.issued"]},
    )
    assert plain.status_code == 422 and plain.json()["invalid_params"][0]["name"] == "url"
    bad_event = platform.client.post(
        "/v1/enterprise/webhooks",
        headers=h,
        json={"url": "https://erp.example.com/hook", "events": ["certificate.exploded"]},
    )
    assert bad_event.status_code == 422
    theirs = platform.client.get(
        f"/v1/enterprise/webhooks/{platform.webhook}/deliveries", headers=platform.headers("enterprise2")
    )
    assert theirs.status_code == 404
    assert platform.client.delete(f"/v1/enterprise/webhooks/{platform.webhook}", headers=h).status_code == 204
    assert platform.client.get("/v1/enterprise/webhooks", headers=h).json() == []
