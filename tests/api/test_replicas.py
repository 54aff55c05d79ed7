"""Two replicas and an extra worker on one PostgreSQL, one Redis and one chain (issue 18).

Two `zel serve` processes and one `zel anchor run` share ganache, a PostgreSQL database and Redis. A bulk job made
through one replica is issued by the replicas' job workers and read through the other; certificates requested
through both are anchored by whichever process holds the anchor lease, each root once; the holder is killed with
SIGKILL and another takes over without anchoring a root twice; the sign-in limit is counted across the replicas.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from api.demo import seed
from api.security import Principal
from ledger.kinds import Kind
from store.db import transaction
from store.models import AnchorBatch, Certificate, Role, WorkerLease
from tests.conftest import TEST_PASSWORD, free_port, provision_on_node, start_ganache
from zero_errand.seed import months_before, seed_data

REDIS_URL = "redis://127.0.0.1:6379/0"
YEAR = months_before(date.today(), 24)[:12]


class Replica:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path, port: int | None = None) -> None:
        self.name, self.port, self.log = name, port, log
        self.proc = subprocess.Popen(
            args, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url("/readyz"), timeout=2):
                    return
            except OSError:
                assert self.proc.poll() is None, f"{self.name} exited: {self.log.read_text()[-2000:]}"
                assert time.monotonic() < deadline, f"{self.name} did not become ready"
                time.sleep(0.3)

    def call(self, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url(path), data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=60) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def _wait(condition, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_replicas_and_a_worker_share_jobs_anchoring_and_limits(tmp_path, database_url, monkeypatch, zel_bin):
    monkeypatch.setenv("ZEL_KEYSTORE_PASSWORD", TEST_PASSWORD)
    node = start_ganache()
    replicas: list[Replica] = []
    try:
        data = tmp_path / "data"
        ctx = provision_on_node(data, node.url, database_url)
        with transaction(ctx.sessions) as s:
            creds = seed(s, ctx.pii)
            seed_data(s, ctx.pii, people=10, enterprises=12, seed=81)
        enterprise = ctx.tokens.issue(Principal(f"client:{creds.clients[0][0]}", Role.ENTERPRISE, uscc=creds.usccs[0]))[
            0
        ]
        official = ctx.tokens.issue(Principal("user:tax-official", Role.OFFICIAL, department="tax.440604"))[0]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZEL_")} | {
            "ZEL_MODE": "development",
            "ZEL_KDF_N": "1024",
            "ZEL_SCRYPT_N": "1024",
            "ZEL_DATA_DIR": str(data),
            "ZEL_CHAIN_URL": node.url,
            "ZEL_DATABASE_URL": database_url,
            "ZEL_KEYSTORE_PASSWORD": TEST_PASSWORD,
            "ZEL_REDIS_URL": REDIS_URL,
            "ZEL_REDIS_PREFIX": f"zel-test-{uuid.uuid4().hex[:8]}:",
            "ZEL_ANCHOR_LEASE_TTL": "2",
            "ZEL_ANCHOR_MAX_WAIT": "1",
            "ZEL_AUTH_RATE_PER_MINUTE": "3",
        }
        for name in ("a", "b"):
            port = free_port()
            args = [zel_bin, "serve", "--port", str(port)]
            replicas.append(Replica(name, args, env, tmp_path / f"{name}.log", port))
        worker = Replica("worker", [zel_bin, "anchor", "run"], env, tmp_path / "worker.log")
        a, b = replicas
        replicas.append(worker)
        a.wait_ready()
        b.wait_ready()

        # A bulk job made through one replica, issued by the replicas' job workers, read through the other.
        status, job = a.call(
            "POST",
            "/v1/department/certificate-jobs",
            official,
            {"kind": "tax-enterprise", "period_from": YEAR[0], "period_to": YEAR[-1]},
        )
        assert status == 202, job

        def job_done() -> bool:
            return b.call("GET", f"/v1/department/certificate-jobs/{job['id']}", official)[1]["state"] == "DONE"

        _wait(job_done, 60, "the bulk job was not issued")
        counts = b.call("GET", f"/v1/department/certificate-jobs/{job['id']}", official)[1]["counts"]
        assert counts["issued"] == job["subjects"] >= 12 and counts["failed"] == 0

        # Requests through both replicas.
        numbers = []
        for i, replica in enumerate((a, b, a, b)):
            body = {"kind": "tax-enterprise", "period_from": YEAR[i], "period_to": YEAR[i]}
            status, cert = replica.call("POST", "/v1/enterprise/certificates", enterprise, body)
            assert status == 201, cert
            numbers.append(cert["number"])

        def states() -> Counter:
            with ctx.sessions() as s:
                return Counter(s.scalars(select(Certificate.state)))

        total = job["subjects"] + len(numbers)
        _wait(lambda: states() == Counter({"ANCHORED": total}), 60, f"not all anchored: {states()}")

        # The lease holder is killed with SIGKILL; another process takes over.
        with ctx.sessions() as s:
            holder = s.get_one(WorkerLease, "anchor:certificate").holder
        pid = int(holder.split(":")[1])
        victim = next(r for r in replicas if r.proc.pid == pid)
        os.killpg(victim.proc.pid, signal.SIGKILL)
        victim.proc.wait()
        alive = next(r for r in (a, b) if r is not victim)
        for i in range(4, 7):
            body = {"kind": "tax-enterprise", "period_from": YEAR[i], "period_to": YEAR[i]}
            status, cert = alive.call("POST", "/v1/enterprise/certificates", enterprise, body)
            assert status == 201, cert
            total += 1
        _wait(lambda: states() == Counter({"ANCHORED": total}), 60, f"not all anchored after the kill: {states()}")
        with ctx.sessions() as s:
            assert s.get_one(WorkerLease, "anchor:certificate").holder != holder
            batches = s.scalars(select(AnchorBatch).where(AnchorBatch.kind != int(Kind.AUDIT_LOG))).all()
            assert sum(x.leaf_count for x in batches) == total  # every certificate in exactly one batch
            assert s.scalar(select(func.count()).select_from(Certificate)) == total
        logs = ctx.ledger.attestations.events.Anchored().get_logs(from_block=0)
        roots = Counter(
            "0x" + bytes(log["args"]["root"]).hex() for log in logs if log["args"]["kind"] != Kind.AUDIT_LOG
        )
        assert set(roots) == {x.root for x in batches} and set(roots.values()) == {1}  # each root on chain once

        # The sign-in limit (3 a minute per address) is counted across the replicas that are left and the dead one's
        # attempts would have been too: two here, two there.
        def sign_in(replica: Replica, attempt: int) -> int:
            return replica.call("POST", "/v1/auth/login", None, {"username": f"nobody{attempt}", "password": "x"})[0]

        survivors = [r for r in (a, b) if r.proc.poll() is None]
        answers = [sign_in(survivors[i % len(survivors)], i) for i in range(4)]
        assert answers == [401, 401, 401, 429]
        if len(survivors) == 1:  # the other replica was the lease holder: a fresh one shares the same bucket
            port = free_port()
            late = Replica("c", [zel_bin, "serve", "--port", str(port)], env, tmp_path / "c.log", port)
            replicas.append(late)
            late.wait_ready()
            assert sign_in(late, 9) == 429
    finally:
        for replica in replicas:
            replica.stop()
        node.stop()
