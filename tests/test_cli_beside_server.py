"""The command line beside a running `zel serve` on the same data directory: reading commands work (the embedded
chain read-only, the store shared), writing commands are turned away before they do anything, naming the server,
its URL and what to do instead, and the server keeps writing. One server for the whole module.

A `zel` process spends ~2 s importing before it does anything: the commands whose own process matters (the QR and
verify path users run, and the refusals, which name the command a person typed) run as processes, at once; the
others run in this process through typer's runner, which opens the chain beside the server just the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port


@dataclass
class Beside:
    data: Path
    base: str
    server: subprocess.Popen
    env: dict[str, str]
    cert: str  # an anchored certificate's number
    uscc: str
    client: tuple[str, str]  # an API client of `uscc`
    zel_bin: str

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.zel_bin, *args], capture_output=True, text=True, env=self.env, stdin=subprocess.DEVNULL, timeout=120
        )

    def invoke(self, *args: str) -> Any:
        """Run a command in this process (a separate process from the server all the same)."""
        from typer.testing import CliRunner

        from api.cli import app

        return CliRunner().invoke(app, list(args), env={"ZEL_DATA_DIR": str(self.data)})

    def run_all(self, commands: dict[str, list[str]]) -> dict[str, subprocess.CompletedProcess]:
        """Run commands at once, as several people beside one server would."""
        with ThreadPoolExecutor(len(commands)) as pool:
            futures = {name: pool.submit(self.run, *args) for name, args in commands.items()}
            return {name: future.result() for name, future in futures.items()}


def _prepare(data: Path) -> tuple[str, str, tuple[str, str]]:
    """Provision, seed, issue and anchor one certificate, add an API client; then release the chain."""
    from api.cli.options import cli_actor
    from api.provisioning import provisioned_context
    from api.services import add_client
    from api.settings import Settings
    from store.db import transaction
    from zero_errand.certificates import CertKind
    from zero_errand.issuance import Subject
    from zero_errand.people import find_person
    from zero_errand.seed import seed_data

    ctx = provisioned_context(Settings(data_dir=data))
    try:
        with transaction(ctx.sessions) as session:
            seeded = seed_data(session, ctx.pii, 2, 1, 23)
            person = find_person(session, ctx.pii, seeded.people[0])
            cert, _ = ctx.certificates.request(
                session,
                kind=CertKind.TAX_INDIVIDUAL,
                subject=Subject(person_id=person.id),
                period_from="2025-01",
                period_to="2025-06",
                actor="cli:test",
                actor_role="admin",
            )
            number = cert.number
            client, secret = add_client(session, cli_actor(), uscc=seeded.enterprises[0], name="erp")
            client_id = client.client_id
        ctx.certificates.anchorer(max_wait=0).run_once(force=True)
    finally:
        ctx.ledger.close()
        ctx.engine.dispose()
    return number, seeded.enterprises[0], (client_id, secret)


@pytest.fixture(scope="module")
def beside(tmp_path_factory, zel_bin_module) -> Beside:
    data = tmp_path_factory.mktemp("beside") / "data"
    number, uscc, client = _prepare(data)
    env = {**os.environ, "ZEL_DATA_DIR": str(data)}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [zel_bin_module, "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "zel serve did not become ready"
            time.sleep(0.3)
        yield Beside(data, base, server, env, number, uscc, client, zel_bin_module)
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture(scope="module")
def zel_bin_module() -> str:
    from tests.conftest import ROOT

    return str(ROOT / ".venv" / "bin" / "zel")


def test_reading_commands_work_beside_the_server(beside, tmp_path):
    out = beside.run_all(
        {
            "cert qr": ["cert", "qr", beside.cert, "-o", str(tmp_path / "q.png")],
            "credit qr": ["credit", "qr", beside.uscc, "-o", str(tmp_path / "code.svg")],
            "verify": ["verify", _verify_url(beside), "--json"],
        }
    )
    for name, proc in out.items():
        assert proc.returncode == 0, (name, proc.stderr)
    assert "wrote" in out["cert qr"].stdout and (tmp_path / "code.svg").stat().st_size > 0
    verdict = json.loads(out["verify"].stdout)
    assert verdict["status"] == "VALID" and verdict["certificate"]["number"] == beside.cert
    image = beside.run("verify", str(tmp_path / "q.png"), "--json")  # the image, as pages.sh does
    assert image.returncode == 0, image.stderr
    assert json.loads(image.stdout)["status"] == "VALID" and json.loads(image.stdout)["url"] == _verify_url(beside)

    exported = beside.invoke("trustlist", "export", "-o", str(tmp_path / "trust.json"))
    assert exported.exit_code == 0, exported.stderr
    fingerprint = exported.stdout.split("fingerprint ")[1].split()[0]
    ran = {
        name: beside.invoke(*args)
        for name, args in {
            "verify offline": [
                "verify",
                str(tmp_path / "q.png"),
                "--offline",
                "--trustlist",
                str(tmp_path / "trust.json"),
                "--trust-fingerprint",
                fingerprint,
                "--json",
            ],
            "cert show": ["cert", "show", beside.cert, "--json"],
            "cert list": ["cert", "list", "--json"],
            "cert pdf": ["cert", "pdf", beside.cert, "-o", str(tmp_path / "c.pdf")],
            "credit code": ["credit", "code", beside.uscc, "--json"],
            "credit audit": ["credit", "audit", beside.uscc, "--json"],
            "status": ["status", "--json"],
            "issuer list": ["issuer", "list", "--json"],
            "issuer proposals": ["issuer", "proposals", "--json"],
            "keys list": ["keys", "list", "--json"],
            "clients list": ["clients", "list", "--json"],
            "audit verify": ["audit", "verify", "--json"],
        }.items()
    }
    for name, result in ran.items():
        assert result.exit_code == 0, (name, result.stderr, result.exception)
    assert json.loads(ran["verify offline"].stdout)["status"] == "VALID"
    assert json.loads(ran["cert show"].stdout)["state"] == "ANCHORED"
    assert beside.cert in {c["number"] for c in json.loads(ran["cert list"].stdout)}
    assert (tmp_path / "c.pdf").read_bytes().startswith(b"%PDF")
    assert json.loads(ran["credit code"].stdout)["valid"] is True
    assert json.loads(ran["credit audit"].stdout)["ok"] is True
    assert json.loads(ran["status"].stdout)["backend"] == "embedded"
    assert len(json.loads(ran["issuer list"].stdout)["keys"]) >= 3
    assert json.loads(ran["issuer proposals"].stdout)["threshold"] == 1
    assert any(k["name"] == "tax" for k in json.loads(ran["keys list"].stdout))
    assert json.loads(ran["clients list"].stdout)[0]["client_id"] == beside.client[0]
    assert json.loads(ran["audit verify"].stdout)["ok"] is True


def _verify_url(beside: Beside) -> str:
    from sqlalchemy import select

    from api.settings import Settings
    from store.db import make_engine, session_factory
    from store.models import Certificate
    from zero_errand.verification import url_of

    settings = Settings(data_dir=beside.data)
    engine = make_engine(settings.db_url)
    try:
        with session_factory(engine)() as session:
            cert = session.scalars(select(Certificate).where(Certificate.number == beside.cert)).one()
            return url_of(cert, settings.public_url)
    finally:
        engine.dispose()


def test_writing_commands_name_the_server_and_the_alternative(beside):
    pid, base = beside.server.pid, beside.base
    held = f"writes to the embedded chain in {beside.data / 'chain'}, which `zel serve` (pid {pid}) at {base} holds: "
    out = beside.run_all(
        {
            "cert revoke": ["cert", "revoke", beside.cert, "--reason", "3"],
            "anchor run": ["anchor", "run", "--once"],
            "serve": ["serve", "--port", str(free_port())],
            "credit record": [
                "credit",
                "record",
                beside.uscc,
                "--type",
                "penalty_minor",
                "--department",
                "amr.440604",
                "--summary",
                "x",
            ],
        }
    )
    expected = {
        "cert revoke": f"revoke through it (POST {base}/v1/department/certificates/{beside.cert}/revoke, signed in as "
        "an official of the issuing department), or stop it and run this again",
        "anchor run": "it anchors issued certificates itself, every few seconds",
        "serve": f"it serves this data directory already (at {base}); give this one another --data-dir, or stop it",
        "credit record": f"record it through it (POST {base}/v1/department/credit/records, signed in as an official of "
        "amr.440604), or stop it and run this again",
    }
    for name, proc in out.items():
        assert proc.returncode == 2, (name, proc.stdout, proc.stderr)
        assert f"error: `zel {name}` {held}{expected[name]}" in proc.stderr, (name, proc.stderr)
    for args in (["issuer", "revoke", "tax"], ["contracts", "deploy"], ["credit", "sync"]):  # administrators' acts
        refused = beside.invoke(*args)
        assert refused.exit_code == 2 and held in refused.stderr and "stop it and run this again" in refused.stderr
    assert json.loads(beside.invoke("cert", "show", beside.cert, "--json").stdout)["state"] == "ANCHORED"  # untouched


def test_the_server_keeps_writing_beside_the_command_line(beside):
    # After all of the above the server still answers, issues, and anchors: through HTTP and from `zel cert issue`
    # (which writes only the store: the server anchors what it issues).
    issued = beside.invoke(
        "cert",
        "issue",
        "--kind",
        "tax-enterprise",
        "--subject",
        beside.uscc,
        "--from",
        "2025-01",
        "--to",
        "2025-02",
        "--json",
    )
    assert issued.exit_code == 0, issued.stderr
    assert f"`zel serve` (pid {beside.server.pid}) at {beside.base} holds the chain and anchors" in issued.stderr
    http = httpx.Client(base_url=beside.base, timeout=30)
    token = http.post("/v1/auth/token", data={"grant_type": "client_credentials"}, auth=beside.client)
    assert token.status_code == 200, token.text
    r = http.post(
        "/v1/enterprise/certificates",
        json={"kind": "si-enterprise", "period_from": "2025-01", "period_to": "2025-03"},
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )
    assert r.status_code == 201, r.text
    digests = [json.loads(issued.stdout)["digest"], r.json()["digest"]]
    deadline = time.monotonic() + 60
    while {http.get(f"/v1/verify/status/{d}").json()["status"] for d in digests} != {"anchored"}:
        assert time.monotonic() < deadline, "the server did not anchor the new certificates"
        time.sleep(0.5)
    again = beside.invoke("verify", r.json()["verify_url"], "--json")  # a reader sees the server's newest blocks
    assert again.exit_code == 0 and json.loads(again.stdout)["status"] == "VALID", again.stderr
    assert beside.server.poll() is None
