"""Request to ANCHORED: N certificates issued through the service and anchored on the embedded chain, SQLite store.

    .venv/bin/python bench/anchor_million.py [--count 1000000] [--workers 2]

A district-scale run is a bulk issuance (零申请推送): the departments push each kind for each period to every
subject with records. Timed, from the departments' requests to the moment the last certificate's state is ANCHORED
in the store:

- the requests: one bulk job per (kind, period), all four kinds and periods of 1, 3, 6 and 12 months over the 24
  seeded months, in a fixed shuffled order, until the jobs' eligible subjects make `--count` certificates (the last
  job is whole, so a few more);
- the job workers: this process's main thread and `--workers - 1` more processes (default: one a core), each a
  `JobWorker` as `zel serve` runs it, claiming chunks of 500 and issuing each in one transaction
  (`issuance.issue_many`: read, sign, store, one audit entry a chunk, webhooks);
- the anchor worker (a second thread of the same process, started before the first request): as `zel serve` runs
  it, `CertificateService.anchorer(...)` with the anchorer's defaults (batch size 4096, max wait 10 s) in
  `Anchorer.run_forever` (a `run_once` pass, then a 1 s poll). A batch is cut once a (department, chain kind) group
  holds 4096 certificates or its oldest has waited 10 s; each batch's root goes on the embedded chain.

The moment of ANCHORED is taken from the anchorer's own one line per batch (the `zel.anchor` log record, emitted
after the transaction that marks the batch's certificates ANCHORED has committed) and checked against the store.
Not timed: provisioning the embedded chain, seeding the subjects (in chunks of 1,000 people, each its own
transaction), opening the context. Prints one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

# As bench/issuance.py and tests/conftest.py: throwaway keystores at scrypt N=2**10, development data, no node.
os.environ.update({"ZEL_MODE": "development", "ZEL_KDF_N": "1024", "ZEL_SCRYPT_N": "1024"})
# The bench's own data directory, store and embedded chain, and the service's anchoring defaults.
for _var in (
    "ZEL_CHAIN_URL",
    "ZEL_DATA_DIR",
    "ZEL_DATABASE_URL",
    "ZEL_CONFIG",
    "ZEL_KEYSTORE_PASSWORD",
    "ZEL_ANCHOR_BATCH_SIZE",
    "ZEL_ANCHOR_MAX_WAIT",
):
    os.environ.pop(_var, None)
    os.environ.pop(_var + "_FILE", None)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from api.context import build_context, open_store  # noqa: E402
from api.provisioning import provision_deployment  # noqa: E402
from api.settings import Settings  # noqa: E402
from store.db import transaction  # noqa: E402
from store.models import AnchorBatch, Certificate, IssuanceChunk, Person  # noqa: E402
from zero_errand import bulk  # noqa: E402
from zero_errand.certificates import CertKind  # noqa: E402
from zero_errand.seed import months_before, seed_data  # noqa: E402

FLOORS = {"seconds_to_anchored_for_1m": 600, "peak_rss_mb": 2048}
PERIOD_MONTHS = (1, 3, 6, 12)  # the lengths people ask for: a month, a quarter, a half-year, a year
SEED_CHUNK = 1000  # people per seeding transaction: bounded memory at a million certificates
STALL_SECONDS = 600  # no batch anchored for this long after issuance ended: the worker is stuck
PERSON_KINDS = (CertKind.TAX_INDIVIDUAL, CertKind.SI_INDIVIDUAL)
ENTERPRISE_KINDS = (CertKind.TAX_ENTERPRISE, CertKind.SI_ENTERPRISE)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def settings(data: Path, url: str) -> Settings:
    return Settings(data_dir=data, database_url=url)


class Batches(logging.Handler):
    """Collects the anchorer's one record per anchored batch (`zel.anchor`): when, how many, how long."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.guard = threading.Lock()  # not `lock`: Handler.handle holds its own around emit
        self.records: list[tuple[float, int, float]] = []  # (time.time() at the record, leaves, duration ms)
        self.anchored = 0

    def emit(self, record: logging.LogRecord) -> None:
        leaves = getattr(record, "leaves", None)
        if leaves is None:
            return
        with self.guard:
            self.records.append((record.created, int(leaves), float(getattr(record, "duration_ms", 0.0))))
            self.anchored += int(leaves)


def plan_jobs(data: Path, url: str, count: int) -> tuple[list[tuple[CertKind, tuple[str, str]]], int]:
    """Bulk jobs, one per (kind, period), in a fixed shuffled order, until their eligible subjects make `count`
    certificates; the jobs and how many certificates they make (at least `count`: the last job is whole)."""
    months = months_before(date.today(), 24)  # what seed_data covered: the 24 months before this one
    periods = [(months[i], months[i + n - 1]) for n in PERIOD_MONTHS for i in range(0, len(months) - n + 1, n)]
    jobs = [(kind, period) for kind in (*PERSON_KINDS, *ENTERPRISE_KINDS) for period in periods]
    random.Random(18).shuffle(jobs)
    parts = open_store(settings(data, url))
    plan, expected = [], 0
    try:
        with parts.sessions() as session:
            for kind, (start, end) in jobs:
                if expected >= count:
                    break
                months_of = months[months.index(start) : months.index(end) + 1]
                expected += len(bulk.eligible(session, kind, months_of))
                plan.append((kind, (start, end)))
    finally:
        parts.engine.dispose()
    if expected < count:
        raise SystemExit(f"too few subjects for --count {count}: {expected} certificates from every job")
    return plan, expected


def seed(data: Path, url: str, people: int, enterprises: int) -> tuple[list[int], list[str]]:
    """Seed the store in chunks (a different seed each); the people's ids and the enterprises' USCCs."""
    parts = open_store(settings(data, url))
    usccs: dict[str, None] = {}  # in seeding order, without repeats
    try:
        chunks = max(1, -(-people // SEED_CHUNK))
        for chunk in range(chunks):
            n = min(SEED_CHUNK, people - chunk * SEED_CHUNK)
            e = enterprises // chunks + (1 if chunk < enterprises % chunks else 0)
            with transaction(parts.sessions) as session:
                seeded = seed_data(session, parts.pii, people=n, enterprises=max(e, 1), seed=18 + chunk)
            usccs.update(dict.fromkeys(seeded.enterprises))
            if chunks > 1:
                log(f"seeded {chunk + 1}/{chunks} chunks")
        with parts.sessions() as session:
            person_ids = list(session.scalars(select(Person.id).order_by(Person.id)))
    finally:
        parts.engine.dispose()
    return person_ids, list(usccs)


def store_bytes(path: Path) -> int:
    """The SQLite database file with its WAL (and shared-memory index, if any)."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())


def peak_rss_mb() -> dict[str, float]:
    """ru_maxrss (KB on Linux) of this process and of its largest waited-for child, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self": round(own, 1), "children": round(children, 1)}


def code_version() -> dict[str, Any]:
    """The checkout measured: its commit, and whether tracked files differ from it."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {"commit": git("rev-parse", "--short", "HEAD"), "modified": bool(git("status", "--porcelain", "-uno"))}


def work(data: Path, url: str) -> None:
    """A job worker process (`--work`): issue chunks of the queued jobs until none is left to claim."""
    ctx = build_context(settings(data, url))  # the embedded chain read-only, beside the process that holds it
    gc.collect()
    gc.freeze()
    try:
        ctx.require_certificates().job_worker().run_once()
    finally:
        ctx.close()


def run(tmp: Path, count: int, workers: int, issue_here: bool) -> dict[str, Any]:
    # Enough subjects for the jobs to make `count` certificates: 38 periods (4 lengths over 24 months) x 2 kinds each.
    people = max(50, count // 60)
    enterprises = max(10, people // 4)
    data, db = tmp / "data", tmp / "store.sqlite"
    url = f"sqlite:///{db}"
    setup = time.perf_counter()
    provision_deployment(settings(data, f"sqlite:///{tmp / 'provisioning.sqlite'}"), development=True)
    person_ids, usccs = seed(data, url, people, enterprises)
    plan, expected = plan_jobs(data, url, count)
    log(
        f"set up in {time.perf_counter() - setup:.1f} s: {len(person_ids)} people, {len(usccs)} enterprises; "
        f"{len(plan)} bulk jobs for {expected} certificates"
    )

    batches = Batches()
    anchor_log = logging.getLogger("zel.anchor")
    anchor_log.addHandler(batches)
    ctx = build_context(settings(data, url))
    gc.collect()  # as `zel serve` after startup: the chain's and ORM's long-lived objects out of the collector's way
    gc.freeze()
    failures: dict[str, int] = {}
    crashed: list[BaseException] = []
    stop = threading.Event()
    try:
        with ctx.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        before = store_bytes(db)
        rss_setup = peak_rss_mb()
        service, sessions = ctx.require_certificates(), ctx.sessions
        anchorer = service.anchorer()  # the anchorer's defaults, which are the service's (Settings.anchor_*)
        assert (anchorer.batch_size, anchorer.max_wait) == (
            ctx.settings.anchor_batch_size,
            ctx.settings.anchor_max_wait,
        ), "the bench measures the service's default anchoring"

        def worker() -> None:
            try:
                anchorer.run_forever(stop)  # as `zel serve`: run_once, then a 1 s poll
            except BaseException as exc:  # noqa: BLE001 - reported by the main thread
                crashed.append(exc)

        wall_start, started, cpu = time.time(), time.perf_counter(), time.process_time()
        thread = threading.Thread(target=worker, name="anchor", daemon=True)
        thread.start()
        with transaction(sessions) as session:  # the department's requests: one bulk job per kind and period
            for kind, (period_from, period_to) in plan:
                bulk.create_job(
                    session,
                    ctx.pii,
                    kind=kind.slug,
                    period_from=period_from,
                    period_to=period_to,
                    department=kind.department,
                    actor="user:bench-official",
                )
        step, progress = max(1, expected // 10), {"issued": 0, "logged": 0, "failed": 0}

        def chunk_done(result: bulk.ChunkResult) -> None:
            progress["issued"] += result.issued
            progress["failed"] += result.failed + result.skipped + result.existing
            if progress["issued"] - progress["logged"] >= step:
                progress["logged"] = progress["issued"]
                rate = progress["issued"] / (time.perf_counter() - started)
                log(f"issued {progress['issued']}/{expected} ({rate:.0f}/s), anchored {batches.anchored}")
            if crashed:
                raise RuntimeError("the anchor worker stopped") from crashed[0]

        # As replicas (or `zel cert bulk --workers N`) do: job workers in other processes claim chunks, beside this
        # one's (`issue_here`) or not (this process then only anchors, as `zel anchor run` in docker-compose.yml).
        extra = [
            subprocess.Popen([sys.executable, __file__, "--work", str(data), url])
            for _ in range(workers - (1 if issue_here else 0))
        ]
        if issue_here:
            service.job_worker().run_once(on_chunk=chunk_done)  # as a `zel serve` job worker: chunk by chunk
        next_log = time.monotonic() + 15
        while any(proc.poll() is None for proc in extra):
            if crashed:
                raise RuntimeError("the anchor worker stopped") from crashed[0]
            time.sleep(0.2)
            if time.monotonic() >= next_log:
                next_log += 15
                with sessions() as session:
                    count_now = session.scalar(select(func.count()).select_from(Certificate)) or 0
                log(f"issued {count_now}/{expected}, anchored {batches.anchored}")
        for proc in extra:
            if proc.wait() != 0:
                raise RuntimeError(f"a job worker process exited with {proc.returncode}")
        issued_seconds = time.perf_counter() - started
        with sessions() as session:
            progress["issued"] = session.scalar(select(func.count()).select_from(Certificate)) or 0
            skipped = session.scalar(select(func.sum(IssuanceChunk.skipped + IssuanceChunk.failed))) or 0
        if skipped or progress["failed"]:
            failures["not issued"] = int(skipped) + progress["failed"]
        issued = progress["issued"]
        anchored_while_issuing = batches.anchored
        log(f"issued {issued} in {issued_seconds:.1f} s; {anchored_while_issuing} anchored so far")

        last_progress, seen = time.monotonic(), batches.anchored
        while batches.anchored < issued:
            if crashed:
                raise RuntimeError("the anchor worker stopped") from crashed[0]
            if batches.anchored != seen:
                last_progress, seen = time.monotonic(), batches.anchored
            elif time.monotonic() - last_progress > STALL_SECONDS:
                raise RuntimeError(f"no batch anchored for {STALL_SECONDS} s ({batches.anchored}/{issued} anchored)")
            time.sleep(0.05)
        with batches.guard:
            done_at = batches.records[-1][0]
            records = list(batches.records)
        seconds = done_at - wall_start
        cpu = time.process_time() - cpu  # both threads; the embedded chain runs in them
        stop.set()
        thread.join(timeout=60)
        log(f"all {issued} anchored {seconds:.1f} s after the first request")

        with sessions() as session:
            states = dict(
                session.execute(select(Certificate.state, func.count()).group_by(Certificate.state)).tuples().all()
            )
            unproven = session.scalar(select(func.count()).select_from(Certificate).where(Certificate.proof.is_(None)))
            batch_rows = session.scalar(select(func.count()).select_from(AnchorBatch))
        assert states == {"ANCHORED": issued}, states
        with ctx.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        stop.set()
        anchor_log.removeHandler(batches)
        ctx.close()
        ctx.engine.dispose()
    after = store_bytes(db)
    rss = peak_rss_mb()
    leaves = [n for _, n, _ in records]
    send_seconds = sum(ms for _, _, ms in records) / 1000
    out: dict[str, Any] = {
        "seconds_to_anchored": round(seconds, 2),
        "certificates": issued,
        "issued_seconds": round(issued_seconds, 2),
        "issued_per_second": round(issued / issued_seconds),
        "anchored_per_second": round(issued / seconds),
        "tail_seconds": round(seconds - issued_seconds, 2),
        "anchored_while_issuing": anchored_while_issuing,
        "cpu_seconds": round(cpu, 1),
        "peak_rss_mb": round(rss["self"] + rss["children"], 1),
        "peak_rss": {
            "self_mb": rss["self"],
            "children_mb": rss["children"],
            "self_mb_before_timing": rss_setup["self"],
        },
        "store_bytes_per_certificate": round((after - before) / issued),
        "store": {
            "bytes_before": before,
            "bytes_after": after,
            "file_bytes_per_certificate": round(after / issued),
            "certificates_without_proof": unproven,
        },
        "batches": {
            "count": len(records),
            "rows": batch_rows,
            "leaves_min": min(leaves),
            "leaves_max": max(leaves),
            "leaves_mean": round(sum(leaves) / len(leaves)),
            "send_seconds": round(send_seconds, 2),
            "batch_size": anchorer.batch_size,
            "max_wait_seconds": anchorer.max_wait,
        },
        "subjects": {"people": len(person_ids), "enterprises": len(usccs), "bulk_jobs": len(plan)},
        "job_worker_processes": workers,
        "anchoring_process_issues_too": issue_here,
    }
    if failures:
        out["failures"] = failures
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="certificates requested (default 1,000,000)")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="job worker processes (default: one a core)"
    )
    parser.add_argument(
        "--issue-here",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="this process issues too (default), or only anchors, as `zel anchor run` beside API replicas",
    )
    parser.add_argument("--work", nargs=2, metavar=("DATA", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.work:
        work(Path(args.work[0]), args.work[1])
        return
    if args.count < 1:
        parser.error("--count must be positive")
    load = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="zel-bench-anchor-"))
    try:
        figures = run(tmp, args.count, max(1, args.workers), args.issue_here)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    n = figures["certificates"]
    projected = round(figures["seconds_to_anchored"] * 1_000_000 / n, 1)
    result: dict[str, Any] = {
        "benchmark": "request to ANCHORED: bulk jobs issued by job workers in job_worker_processes processes, the "
        "anchor worker in a thread of the first, embedded chain, SQLite",
        **figures,
        "requested": args.count,
        "projected_seconds_for_1m": projected,
        # the request loop scaled, the tail (max_wait, poll, the last batch) kept as measured
        "projected_seconds_for_1m_loop_scaled": round(
            figures["issued_seconds"] * 1_000_000 / n + figures["tail_seconds"], 1
        ),
        "floors": FLOORS,
        "ok": projected <= FLOORS["seconds_to_anchored_for_1m"] and figures["peak_rss_mb"] <= FLOORS["peak_rss_mb"],
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in load],
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "code": code_version(),
        "notes": [
            "Concurrency: the anchor worker runs in a second thread of this process, started just before the first "
            "request, exactly as `zel serve` runs it: CertificateService.anchorer() with the anchorer's defaults "
            "(batch_size 4096, max_wait 10 s, which are Settings.anchor_*) in Anchorer.run_forever (a run_once pass "
            "every 1 s). Issuing: bulk jobs made in one transaction at the start (timed), issued by "
            "job_worker_processes job workers, chunks of 500 a transaction: this process's main thread and "
            "job_worker_processes - 1 more processes, or (anchoring_process_issues_too false, --no-issue-here) "
            "job_worker_processes other processes while this one only anchors. All share the SQLite write lock.",
            "seconds_to_anchored: from the first request to the anchorer's `zel.anchor` record of the batch that "
            "brought the anchored count to every issued certificate (logged after its ANCHORED transaction commits); "
            "the store is then checked to hold exactly that many certificates, all ANCHORED. It includes the tail: "
            "the last certificates (fewer than 4096 per department and chain kind) wait out max_wait and the poll.",
            "issued_seconds: from the requests to the last chunk issued (the anchorer running beside it); "
            "anchored_per_second: "
            "certificates / seconds_to_anchored; batches.send_seconds: the chain part of anchoring (anchorOf, "
            "anchorRoot, the ANCHORED transaction), summed over batches.",
            "peak_rss_mb: ru_maxrss of this process plus that of its largest child (RUSAGE_CHILDREN), in MB, at the "
            "end; it includes the untimed setup (provisioning the chain, seeding in chunks of 1,000 people): "
            "peak_rss.self_mb_before_timing is this process's peak when the timed part began.",
            "store_bytes_per_certificate: growth of the SQLite database (file + WAL, each measured after PRAGMA "
            "wal_checkpoint(TRUNCATE)) from just before the first request to after the last ANCHORED, divided by the "
            "certificates: rows, batches, one audit entry per chunk, webhook outbox, indexes (no proofs: "
            "ledger.proofs derives them from a batch's leaves). store.file_bytes_per_certificate is the whole file "
            "(seeded subjects and records too) "
            "divided by the certificates.",
            "projected_seconds_for_1m: seconds_to_anchored scaled linearly to 1,000,000 (issuance dominates and is "
            "chunk by chunk; the tail is fixed, so the projection from a small run overstates); "
            "projected_seconds_for_1m_loop_scaled scales the request loop and adds the measured tail once.",
            "The tail is longer than max_wait: a certificate's issued_at is never before its key's on-chain validFrom "
            "(qr.signed.not_earlier), and the embedded chain's block times run seconds ahead of the wall clock after "
            "provisioning, so the last certificates' issued_at lies in the future and the anchorer's 10 s wait counts "
            "from there.",
            "Not in it: the webhook deliverer, the audit anchorer and HTTP; the embedded chain's own files are outside "
            "the SQLite store.",
        ],
    }
    print(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
