"""Enterprise webhooks: certificate events, HMAC-signed, retried with backoff, with a delivery log.

Events are written to `webhook_delivery` in the same transaction as the change they report (an outbox), so
an event is never lost and never announced for a change that rolled back. Each delivery is a POST of JSON
with `X-Zel-Event`, `X-Zel-Delivery` and `X-Zel-Signature: t=<unix>,v1=<hex>` where
`v1 = HMAC-SHA256(secret, "<t>." + body)`. Receivers should reject a `t` older than five minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger.store.models import Certificate, Webhook, WebhookDelivery

log = logging.getLogger(__name__)
EVENTS = ("certificate.issued", "certificate.revoked", "certificate.suspended", "certificate.reinstated")
MAX_ATTEMPTS = 10
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)


class WebhookError(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field = message, field


def check_url(url: str, allow_loopback_http: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and allow_loopback_http and parts.hostname:
        try:
            if ipaddress.ip_address(parts.hostname).is_loopback:
                return
        except ValueError:
            if parts.hostname == "localhost":
                return
    raise WebhookError("webhook URLs must be https:// (plain http only to loopback in development)", "url")


def register(session: Session, uscc: str, url: str, events: list[str], allow_loopback_http: bool) -> Webhook:
    check_url(url, allow_loopback_http)
    unknown = sorted(set(events) - set(EVENTS))
    if unknown or not events:
        raise WebhookError(f"events must be some of {', '.join(EVENTS)}", "events")
    hook = Webhook(uscc=uscc, url=url, events=sorted(set(events)), secret="whsec_" + secrets.token_urlsafe(32))
    session.add(hook)
    session.flush()
    return hook


def certificate_event(cert: Certificate, event: str) -> dict[str, Any]:
    return {"event": event, "occurred_at": datetime.now(timezone.utc).isoformat(),
            "certificate": {"number": cert.number, "kind": cert.kind, "state": cert.state, "digest": cert.digest,
                            "issued_at": cert.issued_at.isoformat()}}


def enqueue(session: Session, cert: Certificate, event: str) -> int:
    """Queue `event` about an enterprise's certificate for each of its subscribed webhooks."""
    if not cert.owner.startswith("uscc:"):
        return 0
    hooks = session.scalars(select(Webhook).where(Webhook.uscc == cert.owner[5:], Webhook.active.is_(True))).all()
    payload = certificate_event(cert, event)
    queued = 0
    for hook in hooks:
        if event in hook.events:
            session.add(WebhookDelivery(webhook_id=hook.id, event=event, payload=payload, state="PENDING"))
            queued += 1
    return queued


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class Deliverer:
    """Delivers pending webhook events; failures are retried with exponential backoff up to 10 attempts."""

    def __init__(self, sessions: sessionmaker[Session], timeout: float = 5.0) -> None:
        self.sessions = sessions
        self.client = httpx.Client(timeout=timeout, follow_redirects=False)

    def run_once(self, limit: int = 50) -> int:
        now = datetime.now(timezone.utc)
        with self.sessions() as s:
            due = [d.id for d in s.scalars(select(WebhookDelivery).where(
                WebhookDelivery.state == "PENDING", WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.id).limit(limit))]
        for delivery_id in due:
            self._deliver(delivery_id)
        return len(due)

    def _deliver(self, delivery_id: int) -> None:
        with self.sessions() as s:
            d = s.get(WebhookDelivery, delivery_id)
            hook = s.get(Webhook, d.webhook_id)
            body = json.dumps(d.payload, ensure_ascii=False, separators=(",", ":")).encode()
            url, secret, event = hook.url, hook.secret, d.event
        ts = int(time.time())
        status, error = None, None
        try:
            response = self.client.post(url, content=body, headers={
                "Content-Type": "application/json", "User-Agent": "ZeroErrand-Ledger-Webhooks/1",
                "X-Zel-Event": event, "X-Zel-Delivery": str(delivery_id),
                "X-Zel-Signature": signature(secret, ts, body)})
            status = response.status_code
            ok = 200 <= status < 300
            if not ok:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"[:500]
        with self.sessions() as s, s.begin():
            d = s.get(WebhookDelivery, delivery_id)
            d.attempts += 1
            d.last_status, d.last_error = status, error
            now = datetime.now(timezone.utc)
            if ok:
                d.state, d.delivered_at = "DELIVERED", now
            elif d.attempts >= MAX_ATTEMPTS:
                d.state = "FAILED"
            else:
                d.next_attempt_at = now + min(BASE_DELAY * 2 ** (d.attempts - 1), MAX_DELAY)

    def run_forever(self, stop: threading.Event, poll: float = 1.0) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # a broken row must not stop every other delivery
                log.exception("webhook delivery pass failed")
            stop.wait(poll)
