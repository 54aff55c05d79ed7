"""One anchor worker at a time (issue 18): the store lease, and two real worker processes on one store and chain.

The lease itself is checked on SQLite and PostgreSQL, including a race of many holders for a missing row. The
worker test runs two `Anchorer` processes (tests/certificates/lease_worker.py) against ganache and PostgreSQL: while
both run only the lease holder anchors; the holder is killed with SIGKILL after its root is on chain and before the
store says so; the other takes over once the lease expires, finishes that batch without sending its root again and
anchors the rest. Every certificate ends ANCHORED once, every root is on chain once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ledger.client import CertificateStatus
from ledger.kinds import Kind
from ledger.proofs import proof_bytes, proof_of
from store.db import make_engine, session_factory, transaction, upgrade
from store.lease import Lease
from store.models import AnchorBatch, Certificate, WorkerLease
from tests.conftest import ROOT, TEST_PASSWORD, provision_on_node, start_ganache
from zero_errand.certificates import CertKind
from zero_errand.issuance import Subject
from zero_errand.people import find_person
from zero_errand.seed import seed_data

TTL = 2.0


@pytest.fixture
def sessions(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


def test_one_holder_at_a_time_renewal_expiry_and_release(sessions):
    a, b = Lease(sessions, "anchor:certificate", ttl=0.5), Lease(sessions, "anchor:certificate", ttl=0.5)
    assert a.acquire() and not b.acquire()
    assert a.acquire() and a.held() and not b.held() and a.current_holder() == a.holder  # renewed
    assert Lease(sessions, "anchor:inspection").acquire()  # another job's lease is its own
    time.sleep(0.6)  # a stops renewing (killed): its lease expires and b takes over
    assert b.acquire() and not a.acquire() and not a.held()
    b.release()
    assert a.current_holder() is None and a.acquire()  # released: no waiting for the expiry
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(WorkerLease)) == 2


def test_racing_holders_get_one_lease(sessions):
    for _ in range(3):  # a missing row (INSERT race), then an expired one (UPDATE race)
        # a TTL well above how long 8 contenders take on a loaded machine (SQLite's busy handler sleeps): with
        # 0.3 s a winner's lease once expired before the last contender asked, which then rightly took it
        contenders = [Lease(sessions, "anchor:race", ttl=2.0) for _ in range(8)]
        barrier = threading.Barrier(len(contenders))

        def take(lease: Lease, barrier: threading.Barrier = barrier) -> bool:
            barrier.wait()  # all at once
            return lease.acquire()

        with ThreadPoolExecutor(len(contenders)) as pool:
            won = list(pool.map(take, contenders))
        assert won.count(True) == 1
        time.sleep(2.05)


class Worker:
    """A lease_worker.py process and the JSON lines it printed."""

    def __init__(self, name: str, trigger: Path, env: dict[str, str]) -> None:
        self.name, self.events = name, []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.certificates.lease_worker", str(trigger), name],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            if line.startswith("{"):
                self.events.append(json.loads(line))

    def of(self, event: str) -> list[dict[str, Any]]:
        return [e for e in list(self.events) if e["event"] == event]

    def wait_for(self, event: str, count: int = 1, timeout: float = 30) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.of(event)) < count:
            assert self.proc.poll() is None or self.reader.is_alive(), f"{self.name} exited"
            assert time.monotonic() < deadline, f"{self.name}: no {count} {event!r} within {timeout} s"
            time.sleep(0.05)
        return self.of(event)


def _issue(ctx, people: list[str], wave: int) -> int:
    with transaction(ctx.sessions) as s:
        for id_number in people:
            person = find_person(s, ctx.pii, id_number)
            ctx.certificates.request(
                s,
                kind=CertKind.SI_INDIVIDUAL,
                subject=Subject(person_id=person.id),
                period_from=f"2025-{wave:02d}",
                period_to="2025-12",
                actor="test",
                actor_role="citizen",
            )
    return len(people)


def _wait_anchored(ctx, total: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with ctx.sessions() as s:
            states = Counter(s.scalars(select(Certificate.state)))
        if states == Counter({"ANCHORED": total}):
            return
        assert time.monotonic() < deadline, f"not all anchored: {states}"
        time.sleep(0.1)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_one_anchors_and_a_killed_one_is_taken_over(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("ZEL_KEYSTORE_PASSWORD", TEST_PASSWORD)
    node = start_ganache()
    workers: list[Worker] = []
    try:
        data = tmp_path / "data"
        ctx = provision_on_node(data, node.url, database_url)
        with transaction(ctx.sessions) as s:
            people = seed_data(s, ctx.pii, people=6, enterprises=2, seed=11).people
        env = {
            **os.environ,
            "ZEL_DATA_DIR": str(data),
            "ZEL_CHAIN_URL": node.url,
            "ZEL_DATABASE_URL": database_url,
            "ZEL_KEYSTORE_PASSWORD": TEST_PASSWORD,
            "LEASE_TTL": str(TTL),
        }
        trigger = tmp_path / "hang"
        total = _issue(ctx, people, 1)

        a = Worker("a", trigger, env)
        workers.append(a)
        a.wait_for("anchored", 3)  # six certificates, batches of two: a holds the lease
        _wait_anchored(ctx, total)
        b = Worker("b", tmp_path / "never", env)
        workers.append(b)
        b.wait_for("ready")
        total += _issue(ctx, people, 2)  # issued while both run: only the holder anchors them
        _wait_anchored(ctx, total)
        time.sleep(0.5)
        assert len(a.of("anchored")) == 6 and b.of("anchored") == []

        trigger.touch()  # a's next root goes on chain, then a hangs before recording it, and is killed
        total += _issue(ctx, people, 3)
        (sent,) = a.wait_for("sent")
        a.proc.send_signal(signal.SIGKILL)
        killed_at = time.time()
        a.proc.wait(timeout=10)
        _wait_anchored(ctx, total, timeout=TTL + 20)

        taken = b.of("anchored")
        assert len(taken) == 3  # the batch a had sent, then the other two of the third wave
        assert all(e["t"] > killed_at + TTL / 2 for e in taken), "b anchored before a's lease expired"
        assert taken[0]["root"] == sent["root"] and taken[0]["gas"] is None  # found on chain, not sent again
        assert all(e["t"] < sent["t"] for e in a.of("anchored"))
        b.proc.send_signal(signal.SIGTERM)  # a clean stop releases the lease
        b.wait_for("stopped", timeout=10)
        with ctx.sessions() as s:
            assert s.get(WorkerLease, "anchor:certificate") is None

        with ctx.sessions() as s:
            certs = s.scalars(select(Certificate)).all()
            batches = {b.id: b for b in s.scalars(select(AnchorBatch))}
            proofs = {c.id: proof_of(s, Certificate, c, batches[c.batch_id].root) for c in certs}
        assert len(certs) == total == 18 and {b.state for b in batches.values()} == {"ANCHORED"}
        assert sum(b.leaf_count for b in batches.values()) == total  # each certificate in exactly one batch
        logs = ctx.ledger.attestations.events.Anchored().get_logs(from_block=0)
        on_chain = Counter("0x" + bytes(e["args"]["root"]).hex() for e in logs if e["args"]["kind"] != Kind.AUDIT_LOG)
        assert set(on_chain) == {b.root for b in batches.values()}
        assert all(n == 1 for n in on_chain.values()), "a root was anchored twice"
        for cert in certs:
            root = bytes.fromhex(batches[cert.batch_id].root[2:])
            status = ctx.ledger.status(root, proof_bytes(proofs[cert.id]), bytes.fromhex(cert.digest[2:]))
            assert status == CertificateStatus.ANCHORED
        ctx.ledger.close()
    finally:
        for worker in workers:
            if worker.proc.poll() is None:
                worker.proc.kill()
                worker.proc.wait(timeout=10)
        node.stop()
