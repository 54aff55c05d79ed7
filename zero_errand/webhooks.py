"""Enterprise webhooks: certificate events, HMAC-signed, retried with backoff, with a delivery log.

Events are written to `webhook_delivery` in the same transaction as the change they report (an outbox), so
an event is never lost and never announced for a change that rolled back. Each delivery is a POST of JSON
with `X-Zel-Event`, `X-Zel-Delivery` and `X-Zel-Signature: t=<unix>,v1=<hex>` where
`v1 = HMAC-SHA256(secret, "<t>." + body)`. Receivers should reject a `t` older than five minutes.

Destinations are public addresses only, resolved and pinned at each delivery (`zero_errand.destinations`); the
delivery log the enterprise reads carries a generic reason ("connection failed", "timed out", "HTTP 500",
"destination refused"), the error itself goes to the server log. An enterprise has at most `MAX_HOOKS` webhooks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

import errors
from store.models import Certificate, Enterprise, Webhook, WebhookDelivery
from zero_errand.certificates import REASONS, REASONS_ZH
from zero_errand.destinations import (
    Destination,
    DestinationError,
    DestinationPolicy,
    DestinationUnresolved,
    Resolve,
    system_resolve,
)

log = logging.getLogger(__name__)
EVENTS = ("certificate.issued", "certificate.revoked", "certificate.suspended", "certificate.reinstated")
MAX_ATTEMPTS = 10
MAX_HOOKS = 10  # active webhooks per enterprise
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)


class WebhookError(errors.InvalidInput):
    """A webhook registration is refused; `field` names the request field at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message, field=field)


class WebhookLimitError(WebhookError, errors.Conflict):
    """The enterprise already has `MAX_HOOKS` webhooks."""

    code = "webhook-limit"


def check_url(url: str, allow_loopback: bool, resolve: Resolve = system_resolve) -> None:
    """Refuse a URL that is not https, or whose host resolves to any address that is not public (loopback allowed
    when `allow_loopback`, as in development). A name that does not resolve yet is accepted: each delivery resolves
    and checks it again, so it can never be delivered to a refused address."""
    policy = DestinationPolicy(allow_loopback, resolve)
    try:
        policy.pin(url)
    except DestinationUnresolved as exc:
        if policy.parse(url).scheme == "https":
            return
        raise WebhookError("plain http only to a loopback address, in development", "url") from exc
    except DestinationError as exc:
        log.info("webhook URL refused: %s", exc)
        raise WebhookError(
            f"destination refused: {exc.shown}. Webhooks are delivered over https to public internet addresses only",
            "url",
        ) from exc


def register(
    session: Session, uscc: str, url: str, events: list[str], allow_loopback: bool, resolve: Resolve = system_resolve
) -> Webhook:
    """Register an enterprise's webhook (at most `MAX_HOOKS` active ones); its secret is shown once."""
    unknown = sorted(set(events) - set(EVENTS))
    if unknown or not events:
        raise WebhookError(f"events must be some of {', '.join(EVENTS)}", "events")
    check_url(url, allow_loopback, resolve)
    # Lock the enterprise's row so that concurrent registrations count each other.
    session.execute(select(Enterprise.uscc).where(Enterprise.uscc == uscc).with_for_update())
    active = session.scalar(
        select(func.count()).select_from(Webhook).where(Webhook.uscc == uscc, Webhook.active.is_(True))
    )
    if (active or 0) >= MAX_HOOKS:
        raise WebhookLimitError(f"an enterprise has at most {MAX_HOOKS} webhooks: delete one first", "url")
    hook = Webhook(uscc=uscc, url=url, events=sorted(set(events)), secret="whsec_" + secrets.token_urlsafe(32))
    session.add(hook)
    session.flush()
    return hook


def certificate_event(cert: Certificate, event: str) -> dict[str, Any]:
    """The JSON body of `event`; revocations and suspensions carry the reason the department gave (its code and
    wording, as on chain; the official's free-text note stays internal, as in the certificate API)."""
    payload: dict[str, Any] = {
        "event": event,
        "occurred_at": datetime.now(UTC).isoformat(),
        "certificate": {
            "number": cert.number,
            "kind": cert.kind,
            "state": cert.state,
            "digest": cert.digest,
            "issued_at": cert.issued_at.isoformat(),
        },
    }
    if event in ("certificate.revoked", "certificate.suspended"):
        code = cert.status_reason
        payload["reason"] = {
            "code": code,
            "text": REASONS.get(code or 0, REASONS[9]),
            "text_zh": REASONS_ZH.get(code or 0, REASONS_ZH[9]),
        }
    return payload


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


def enqueue_many(session: Session, rows: list[dict[str, Any]], event: str) -> int:
    """`enqueue` for a batch of new certificates' rows (`zero_errand.builder.draft_row`): the enterprises' webhooks
    read in one query, the deliveries written together."""
    usccs = {r["owner"][5:] for r in rows if r["owner"].startswith("uscc:")}
    if not usccs:
        return 0
    hooks: dict[str, list[Webhook]] = {}
    for hook in session.scalars(select(Webhook).where(Webhook.uscc.in_(usccs), Webhook.active.is_(True))):
        if event in hook.events:
            hooks.setdefault(hook.uscc, []).append(hook)
    deliveries = [
        {
            "webhook_id": hook.id,
            "event": event,
            "payload": certificate_event(Certificate(**row), event),
            "state": "PENDING",
        }
        for row in rows
        if row["owner"].startswith("uscc:")
        for hook in hooks.get(row["owner"][5:], ())
    ]
    if deliveries:
        session.execute(insert(WebhookDelivery), deliveries)
    return len(deliveries)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


MAX_ADDRESSES_TRIED = 3


class Deliverer:
    """Delivers pending webhook events; failures are retried with exponential backoff up to 10 attempts.

    `allow_loopback` is development's (demo, tests: a receiver on this machine), off unless asked for. Every
    other non-public address is refused whatever it says.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        timeout: float = 5.0,
        *,
        allow_loopback: bool = False,
        resolve: Resolve = system_resolve,
    ) -> None:
        self.sessions = sessions
        self.policy = DestinationPolicy(allow_loopback, resolve)
        # No proxy from the environment, no redirects, no pooled connection reused for another host name.
        self.client = httpx.Client(
            timeout=timeout, follow_redirects=False, trust_env=False, limits=httpx.Limits(max_keepalive_connections=0)
        )

    def run_once(self, limit: int = 50) -> int:
        now = datetime.now(UTC)
        with self.sessions() as s:
            due = [
                d.id
                for d in s.scalars(
                    select(WebhookDelivery)
                    .where(WebhookDelivery.state == "PENDING", WebhookDelivery.next_attempt_at <= now)
                    .order_by(WebhookDelivery.id)
                    .limit(limit)
                )
            ]
        for delivery_id in due:
            self._deliver(delivery_id)
        return len(due)

    def _deliver(self, delivery_id: int) -> None:
        with self.sessions() as s:
            d = s.get_one(WebhookDelivery, delivery_id)
            hook = s.get_one(Webhook, d.webhook_id)
            body = json.dumps(d.payload, ensure_ascii=False, separators=(",", ":")).encode()
            url, secret, event = hook.url, hook.secret, d.event
        ts = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "ZeroErrand-Ledger-Webhooks/1",
            "X-Zel-Event": event,
            "X-Zel-Delivery": str(delivery_id),
            "X-Zel-Signature": signature(secret, ts, body),
        }
        try:
            status, error = self._post(self.policy.pin(url), body, headers)
        except DestinationError as exc:
            log.warning("webhook delivery %s not attempted: %s", delivery_id, exc)
            status, error = None, exc.reason
        ok = error is None
        with self.sessions() as s, s.begin():
            d = s.get_one(WebhookDelivery, delivery_id)
            d.attempts += 1
            d.last_status, d.last_error = status, error
            now = datetime.now(UTC)
            if ok:
                d.state, d.delivered_at = "DELIVERED", now
            elif d.attempts >= MAX_ATTEMPTS:
                d.state = "FAILED"
            else:
                d.next_attempt_at = now + min(BASE_DELAY * 2 ** (d.attempts - 1), MAX_DELAY)

    def _post(self, destination: Destination, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
        """POST to the destination's validated addresses in turn until one connects; the status and the generic
        reason of a failure (None when delivered)."""
        error: httpx.HTTPError | None = None
        # At most three addresses: a name resolving to dozens of unreachable ones must not hold up every delivery.
        for address in destination.addresses[:MAX_ADDRESSES_TRIED]:
            target, host, extensions = destination.via(address)
            try:
                # Streamed and never read: the receiver's answer body is not ours to download.
                with self.client.stream(
                    "POST", target, content=body, headers={**headers, **host}, extensions=extensions
                ) as response:
                    status = response.status_code
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing sent: the next address may do
                error = exc
                continue
            except httpx.HTTPError as exc:
                log.warning(
                    "webhook delivery to %s (%s) failed: %s: %s", destination.url, address, type(exc).__name__, exc
                )
                return None, "timed out" if isinstance(exc, httpx.TimeoutException) else "connection failed"
            if 200 <= status < 300:
                return status, None
            return status, f"HTTP {status}" + (" (redirects are not followed)" if 300 <= status < 400 else "")
        log.warning(
            "webhook delivery to %s (%s) failed: %s: %s",
            destination.url,
            ", ".join(destination.addresses),
            type(error).__name__,
            error,
        )
        return None, "timed out" if isinstance(error, httpx.TimeoutException) else "connection failed"

    def run_forever(self, stop: threading.Event, poll: float = 1.0) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # a broken row must not stop every other delivery
                log.exception("webhook delivery pass failed")
            stop.wait(poll)
