"""Anchoring under faults: a chain node that goes away, and a worker killed with SIGKILL at random moments.

Both run against ganache (a node that outlives the worker) with its state kept on disk, and a SQLite store.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ledger.client import CertificateStatus
from ledger.errors import NodeUnavailable
from ledger.kinds import Kind
from ledger.proofs import proof_bytes, proof_of
from store.db import transaction
from store.models import AnchorBatch, Certificate
from tests.conftest import TEST_PASSWORD, provision_on_node, start_ganache
from zero_errand.certificates import CertKind
from zero_errand.issuance import Subject
from zero_errand.people import find_person
from zero_errand.seed import seed_data


def _context(data: Path, url: str):
    os.environ["ZEL_KEYSTORE_PASSWORD"] = TEST_PASSWORD
    return provision_on_node(data, url, f"sqlite:///{data / 'zel.sqlite'}")


def _issue(ctx, people: int, per_person: int = 1) -> list[str]:
    with transaction(ctx.sessions) as s:
        data = seed_data(s, ctx.pii, people=people, enterprises=2, seed=11)
    numbers = []
    with transaction(ctx.sessions) as s:
        for id_number in data.people:
            person = find_person(s, ctx.pii, id_number)
            for j in range(per_person):
                cert, _ = ctx.certificates.request(
                    s,
                    kind=CertKind.SI_INDIVIDUAL,
                    subject=Subject(person_id=person.id),
                    period_from=f"2025-{1 + j % 12:02d}",
                    period_to="2025-12",
                    actor="test",
                    actor_role="citizen",
                )
                numbers.append(cert.number)
    return numbers


def _anchored_count(ctx) -> int:
    with ctx.sessions() as s:
        return s.scalar(select(func.count()).select_from(Certificate).where(Certificate.state == "ANCHORED")) or 0


def _anchored_roots(ctx) -> Counter:
    """Certificate batch roots on chain (the worker anchors the audit log's heads too: not batches)."""
    logs = ctx.ledger.attestations.events.Anchored().get_logs(from_block=0)
    return Counter("0x" + bytes(log["args"]["root"]).hex() for log in logs if log["args"]["kind"] != Kind.AUDIT_LOG)


def test_issuance_goes_on_while_the_node_is_down_and_anchoring_resumes(tmp_path):
    chain_db = tmp_path / "ganache-db"
    node = start_ganache(["--database.dbPath", str(chain_db)])
    ctx = _context(tmp_path / "data", node.url)
    ctx.ledger.sender.retries, ctx.ledger.sender.retry_delay = 2, 0.05
    anchorer = ctx.certificates.anchorer(batch_size=4, max_wait=0)
    first = _issue(ctx, 6)
    node.stop()
    more = []
    with transaction(ctx.sessions) as s:  # issuance goes on: signing needs no chain
        person = s.scalars(select(Certificate.owner)).first()
        cert, _ = ctx.certificates.request(
            s,
            kind=CertKind.SI_INDIVIDUAL,
            subject=Subject(person_id=int(person.split(":")[1])),
            period_from="2025-03",
            period_to="2025-04",
            actor="t",
            actor_role="citizen",
        )
        more.append(cert.number)
    with pytest.raises(NodeUnavailable):
        anchorer.run_once(force=True)
    with ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Certificate).where(Certificate.state == "ISSUED")) == 7
        failed = s.scalars(select(AnchorBatch)).first()
        assert failed.state == "PREPARED" and failed.attempts >= 1 and failed.last_error

    node = start_ganache(["--database.dbPath", str(chain_db)])  # the same chain comes back on a new port
    try:
        ctx.ledger.close()
        ctx2 = _context(tmp_path / "data", node.url)
        assert ctx2.certificates.anchorer(batch_size=4, max_wait=0).run_once(force=True) == 7
        with ctx2.sessions() as s:
            states = set(s.scalars(select(Certificate.state)))
            batches = s.scalars(select(AnchorBatch)).all()
        assert states == {"ANCHORED"} and {b.state for b in batches} == {"ANCHORED"}
        roots = _anchored_roots(ctx2)
        assert all(roots[b.root] == 1 for b in batches) and len(roots) == len(batches)
        assert len(first) + len(more) == 7
    finally:
        node.stop()


def test_kill_9_at_random_points_loses_nothing_and_anchors_no_root_twice(tmp_path, zel_bin):
    node = start_ganache()
    try:
        data = tmp_path / "data"
        ctx = _context(data, node.url)
        numbers = _issue(ctx, 25, per_person=10)  # 250 certificates, 125 batches of two: seconds of work
        ctx.ledger.close()
        env = {
            **os.environ,
            "ZEL_DATA_DIR": str(data),
            "ZEL_CHAIN_URL": node.url,
            "ZEL_KEYSTORE_PASSWORD": TEST_PASSWORD,
            "ZEL_DATABASE_URL": f"sqlite:///{data / 'zel.sqlite'}",
            "ZEL_KDF_N": "1024",
            "ZEL_ANCHOR_LEASE_TTL": "1",  # a killed worker's lease: the next one takes over after a second
        }
        fault_seed = int(os.environ.get("ZEL_FAULT_SEED", time.time()))
        print(f"fault seed {fault_seed} (set ZEL_FAULT_SEED to replay)")
        rng = random.Random(fault_seed)
        kills_mid_work = 0
        for _ in range(6):
            before = _anchored_count(ctx)
            worker = subprocess.Popen(
                [zel_bin, "anchor", "run", "--batch-size", "2", "--max-wait", "0"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            deadline = time.monotonic() + 30
            while _anchored_count(ctx) == before and time.monotonic() < deadline and before < len(numbers):
                time.sleep(0.05)  # wait until this worker is anchoring, then kill it at a random moment
            time.sleep(rng.uniform(0, 0.6))
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
            with ctx.sessions() as s:
                states = Counter(s.scalars(select(Certificate.state)))
            if states["ANCHORED"] and states["ISSUED"]:
                kills_mid_work += 1
        assert kills_mid_work >= 3, "the kills must land while work remains"
        final = subprocess.run(
            [zel_bin, "anchor", "run", "--once", "--batch-size", "2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert final.returncode == 0, final.stderr
        assert final.stdout.strip().endswith("0 pending")

        ctx = _context(data, node.url)
        with ctx.sessions() as s:
            certs = s.scalars(select(Certificate)).all()
            batches = {b.id: b for b in s.scalars(select(AnchorBatch))}
        assert sorted(c.number for c in certs) == sorted(numbers)  # nothing lost, nothing invented
        assert {c.state for c in certs} == {"ANCHORED"}
        assert {b.state for b in batches.values()} == {"ANCHORED"}
        assert sum(b.leaf_count for b in batches.values()) == len(numbers)  # each certificate in one batch
        roots = _anchored_roots(ctx)
        assert set(roots) == {b.root for b in batches.values()}
        assert all(n == 1 for n in roots.values()), "a root was anchored twice"
        for cert in certs:
            batch = batches[cert.batch_id]
            with ctx.sessions() as s:  # derived from the batch's leaves, which must rebuild its root
                proof = proof_bytes(proof_of(s, Certificate, cert, batch.root))
            status = ctx.ledger.status(bytes.fromhex(batch.root[2:]), proof, bytes.fromhex(cert.digest[2:]))
            assert status == CertificateStatus.ANCHORED
        ctx.ledger.close()
    finally:
        node.stop()
