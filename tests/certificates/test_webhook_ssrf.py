"""Webhooks cannot reach the internal network: registration and delivery refuse non-public destinations, a DNS
answer is validated and pinned (no rebinding between check and connect), the log shows generic reasons, and an
enterprise has at most ten hooks."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from store.db import Base, make_engine, session_factory, transaction
from store.models import Webhook, WebhookDelivery
from zero_errand.destinations import DestinationPolicy, DestinationRefused, refusal
from zero_errand.webhooks import MAX_HOOKS, Deliverer, WebhookError, register

PUBLIC = "93.184.216.34"

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.0.0.5",
    "172.16.3.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "198.18.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.5",
    "::ffff:169.254.169.254",
    "::ffff:100.64.0.1",
    "64:ff9b::a9fe:a9fe",
    "2002:a00:5::1",
    "2001:db8::1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address):
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert refusal(ipaddress.ip_address(address)) is None


def test_development_allows_loopback_and_nothing_else():
    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert refusal(ipaddress.ip_address(address), allow_loopback=True) is None
    for address in ("10.0.0.5", "169.254.169.254", "fc00::1", "100.64.0.1"):
        assert refusal(ipaddress.ip_address(address), allow_loopback=True) is not None


def test_every_resolved_address_is_checked():
    policy = DestinationPolicy(False, lambda host, port: [PUBLIC, "10.0.0.5"])
    with pytest.raises(DestinationRefused, match="10.0.0.5"):
        policy.pin("https://mixed.example.test/hook")
    assert policy.__class__(False, lambda host, port: [PUBLIC]).pin("https://ok.example.test/").addresses == (PUBLIC,)


# -- registration through the API, in production -----------------------------------------------------------

ATTACKS = [
    "http://127.0.0.1/hook",
    "https://127.0.0.1/hook",
    "https://10.0.0.5/hook",
    "http://10.0.0.5/hook",
    "https://169.254.169.254/latest/meta-data/",
    "http://169.254.169.254/latest/meta-data/",
    "https://[::1]/hook",
    "http://[::1]/hook",
    "https://localhost/hook",
    "http://localhost:8000/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://2130706433/hook",
    "https://100.64.0.1/hook",
    "https://[fe80::1]/hook",
]


def test_production_refuses_internal_destinations_at_registration(platform, monkeypatch):
    monkeypatch.setattr(platform.ctx.settings, "mode", "production")
    h = platform.headers("enterprise")
    for url in ATTACKS:
        r = platform.client.post(
            "/v1/enterprise/webhooks", headers=h, json={"url": url, "events": ["certificate.issued"]}
        )
        assert r.status_code == 422, (url, r.text)
        assert r.json()["invalid_params"][0]["name"] == "url"
    refused = platform.client.post(
        "/v1/enterprise/webhooks", headers=h, json={"url": "https://localhost/hook", "events": ["certificate.issued"]}
    ).json()
    assert "destination refused" in refused["detail"]
    assert "127.0.0.1" not in refused["detail"]  # registration is no probe of what names resolve to
    hooks = platform.client.get("/v1/enterprise/webhooks", headers=h).json()
    assert [hook["id"] for hook in hooks] == [platform.webhook]  # nothing was registered

    # A delivery to a name that resolves to an internal address when it is due is refused, with a generic reason.
    created = platform.client.post(
        "/v1/enterprise/webhooks",
        headers=h,
        json={"url": "https://erp-hooks.example.test/zel", "events": ["certificate.issued"]},
    )
    assert created.status_code == 201  # does not resolve yet: checked again at each delivery
    platform.client.post(
        "/v1/enterprise/certificates",
        headers=h,
        json={"kind": "tax-enterprise", "period_from": "2025-01", "period_to": "2025-02"},
    )
    deliverer = Deliverer(platform.ctx.sessions, allow_loopback=False, resolve=lambda host, port: ["10.0.0.5"])
    assert deliverer.run_once() == 2  # the fixture's hook and ours
    log = platform.client.get(f"/v1/enterprise/webhooks/{created.json()['id']}/deliveries", headers=h).json()
    assert log[0]["last_error"] == "destination refused" and log[0]["last_status"] is None


def test_development_still_refuses_private_networks(platform):
    h = platform.headers("enterprise")
    for url in ("https://10.0.0.5/hook", "https://169.254.169.254/", "https://[fc00::1]/hook"):
        r = platform.client.post(
            "/v1/enterprise/webhooks", headers=h, json={"url": url, "events": ["certificate.issued"]}
        )
        assert r.status_code == 422, url
    local = platform.client.post(
        "/v1/enterprise/webhooks", headers=h, json={"url": "http://127.0.0.1:9/hook", "events": ["certificate.issued"]}
    )
    assert local.status_code == 201


def test_the_eleventh_webhook_is_refused(platform):
    h = platform.headers("enterprise")
    body = {"events": ["certificate.issued"]}
    ids = [platform.webhook]
    for i in range(MAX_HOOKS - 1):
        r = platform.client.post("/v1/enterprise/webhooks", headers=h, json={**body, "url": f"https://h{i}.example/z"})
        assert r.status_code == 201
        ids.append(r.json()["id"])
    eleventh = platform.client.post("/v1/enterprise/webhooks", headers=h, json={**body, "url": "https://x.example/z"})
    assert eleventh.status_code == 409 and str(MAX_HOOKS) in eleventh.json()["detail"]
    assert eleventh.json()["type"].endswith("webhook-limit")
    other = platform.client.post(
        "/v1/enterprise/webhooks", headers=platform.headers("enterprise2"), json={**body, "url": "https://x.example/z"}
    )
    assert other.status_code == 201  # the limit is per enterprise
    assert platform.client.delete(f"/v1/enterprise/webhooks/{ids[0]}", headers=h).status_code == 204
    again = platform.client.post("/v1/enterprise/webhooks", headers=h, json={**body, "url": "https://x.example/z"})
    assert again.status_code == 201


# -- delivery: pinned, rebinding refused, generic reasons ---------------------------------------------------


@pytest.fixture
def store(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'store.sqlite'}")
    Base.metadata.create_all(engine)
    yield session_factory(engine)
    engine.dispose()


def _queue(sessions, url: str) -> int:
    with transaction(sessions) as s:
        hook = Webhook(uscc="91440604MA4UQ0001X", url=url, events=["certificate.issued"], secret="whsec_test")
        s.add(hook)
        s.flush()
        delivery = WebhookDelivery(
            webhook_id=hook.id, event="certificate.issued", payload={"event": "x"}, state="PENDING"
        )
        s.add(delivery)
        s.flush()
        return delivery.id


def _log(sessions, delivery_id: int) -> WebhookDelivery:
    with sessions() as s:
        return s.get(WebhookDelivery, delivery_id)


class Listener:
    """A loopback TCP socket that counts connections (and closes them): proof that nothing connected."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port, self.accepted = self.sock.getsockname()[1], 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()


def test_dns_rebinding_after_registration_is_not_connected_to(store, caplog):
    listener = Listener()
    answers = {"hooks.rebind.test": [PUBLIC]}  # what the name says when it is registered ...

    def resolve(host: str, port: int) -> list[str]:
        return answers[host]

    with transaction(store) as s:
        hook = register(
            s,
            "91440604MA4UQ0001X",
            f"https://hooks.rebind.test:{listener.port}/hook",
            ["certificate.issued"],
            False,
            resolve,
        )
        delivery = WebhookDelivery(webhook_id=hook.id, event="certificate.issued", payload={}, state="PENDING")
        s.add(delivery)
        s.flush()
        delivery_id = delivery.id
    for internal in (["127.0.0.1"], ["169.254.169.254"], [PUBLIC, "127.0.0.1"], ["::ffff:127.0.0.1"]):
        answers["hooks.rebind.test"] = internal  # ... and when a delivery is due
        with transaction(store) as s:
            s.get(WebhookDelivery, delivery_id).next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
        assert Deliverer(store, allow_loopback=False, resolve=resolve).run_once() == 1
        logged = _log(store, delivery_id)
        assert logged.state == "PENDING" and logged.last_status is None
        assert logged.last_error == "destination refused"
    assert listener.accepted == 0
    assert "169.254.169.254" in caplog.text  # the details stay in the server log


def test_registration_refuses_a_name_resolving_inside(store):
    with transaction(store) as s, pytest.raises(WebhookError, match="destination refused") as refused:
        register(
            s,
            "91440604MA4UQ0001X",
            "https://intranet.example.test/hook",
            ["certificate.issued"],
            False,
            lambda host, port: ["192.168.10.20"],
        )
    assert "192.168.10.20" not in refused.value.message


class Receiver:
    """A loopback HTTP(S) endpoint answering each POST with `status` (and `headers`), recording Host."""

    def __init__(
        self, status: int = 204, headers: dict[str, str] | None = None, tls: ssl.SSLContext | None = None
    ) -> None:
        self.hosts: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.hosts.append(self.headers["Host"])
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_delivery_connects_to_the_pinned_address_with_the_original_host(store):
    receiver = Receiver()
    calls = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    # The name does not exist for the system resolver: only a connect to the pinned address can deliver.
    delivery_id = _queue(store, f"http://hooks.pinned.test:{receiver.port}/hook")
    assert Deliverer(store, allow_loopback=True, resolve=resolve).run_once() == 1
    assert _log(store, delivery_id).state == "DELIVERED"
    assert calls == ["hooks.pinned.test"] and receiver.hosts == [f"hooks.pinned.test:{receiver.port}"]
    receiver.server.shutdown()


def test_tls_is_checked_against_the_original_name(store, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hooks.pinned.test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("hooks.pinned.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    receiver = Receiver(tls=server_tls)
    deliverer = Deliverer(store, allow_loopback=True, resolve=lambda host, port: ["127.0.0.1"])
    trusting = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    deliverer.client = httpx.Client(timeout=5, follow_redirects=False, trust_env=False, verify=trusting)
    good = _queue(store, f"https://hooks.pinned.test:{receiver.port}/hook")
    other = _queue(store, f"https://other.pinned.test:{receiver.port}/hook")  # same address, a name not certified
    assert deliverer.run_once() == 2
    assert _log(store, good).state == "DELIVERED"
    assert _log(store, other).last_error == "connection failed"
    assert receiver.hosts == [f"hooks.pinned.test:{receiver.port}"]
    receiver.server.shutdown()


def test_delivery_log_reasons_are_generic(store, caplog):
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    failing, redirecting = Receiver(status=500), Receiver(status=302, headers={"Location": "http://10.0.0.5/"})
    ids = {
        reason: _queue(store, url)
        for reason, url in [
            ("connection failed", f"http://127.0.0.1:{port}/hook"),
            ("timed out", f"http://127.0.0.1:{silent.getsockname()[1]}/hook"),
            ("HTTP 500", f"http://127.0.0.1:{failing.port}/hook"),
            ("HTTP 302 (redirects are not followed)", f"http://127.0.0.1:{redirecting.port}/hook"),
            ("name not resolved", "https://no-such-host.invalid/hook"),
            ("destination refused", "https://10.0.0.5/hook"),
        ]
    }
    assert Deliverer(store, timeout=0.5, allow_loopback=True).run_once() == len(ids)
    for reason, delivery_id in ids.items():
        assert _log(store, delivery_id).last_error == reason
    with store() as s:
        shown = [d.last_error for d in s.scalars(select(WebhookDelivery))]
    assert not any("Error" in e or "Errno" in e or "refused:" in e for e in shown)  # no exception text
    assert "ConnectError" in caplog.text or "Connection refused" in caplog.text  # kept in the server log
    assert len(redirecting.hosts) == 1 and len(failing.hosts) == 1
    silent.close()
    for r in (failing, redirecting):
        r.server.shutdown()
