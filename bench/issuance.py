"""Issuance throughput: certificates issued per second through the service's issuance path, SQLite and PostgreSQL.

    .venv/bin/python bench/issuance.py [--count 2000] [--runs 3] [--backends sqlite,postgresql] [--batch 500]
                                       [--no-per-request]

What is timed is the service's issuance path, `CertificateService.request_many` (zero_errand.issuance.issue_many):
for a batch of requests, read the department records, check them, sign each EIP-712 content with its department's
key (libsecp256k1; and, as `issued_per_second_sm2_social_insurance`, the demo's deployment, where the social-
insurance bureau signs with SM2, issue 20), store the certificates ISSUED for the anchor worker, append the audit
chain (an entry per certificate), queue webhooks, commit: one session and one transaction per batch of `--batch`
(500, a bulk job's chunk). `--count` different (subject, kind, period) requests over seeded people and enterprises,
all four kinds and periods of 1, 3, 6 and 12 months, shuffled: the mix that people ask for, not one bulk job's kind
and period. Beside it, the same requests one transaction each (`CertificateService.request`, what one HTTP request
does below HTTP) as `issued_per_second_one_per_transaction`. Not timed: provisioning the embedded chain (once, as
the demo does), seeding the subjects (once per backend, into a template), copying the template into each run's fresh
store (a SQLite file copy, or `CREATE DATABASE ... TEMPLATE` on 127.0.0.1:5432, dropped afterwards) and opening it.

In the same run, the reference: eth-account's `Account.sign_typed_data` over the same EIP-712 Certificate struct,
and libsecp256k1 (coincurve) signing the precomputed digests, both in signatures per second. Floors (issue 18):
2,000 a second on SQLite, 1,000 on PostgreSQL. Prints one JSON object; figures are medians over `--runs`.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

# As tests/conftest.py: throwaway keystores and password hashes at scrypt N=2**10, development data, no node.
os.environ.update({"ZEL_MODE": "development", "ZEL_KDF_N": "1024", "ZEL_SCRYPT_N": "1024"})
# The bench's own data directory, store and embedded chain; shared keystore passwords would override its files.
for _var in ("ZEL_CHAIN_URL", "ZEL_DATA_DIR", "ZEL_DATABASE_URL", "ZEL_CONFIG", "ZEL_KEYSTORE_PASSWORD"):
    os.environ.pop(_var, None)
    os.environ.pop(_var + "_FILE", None)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import coincurve  # noqa: E402
from eth_account import Account  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from api.context import build_context, open_store  # noqa: E402
from api.provisioning import provision_deployment  # noqa: E402
from api.settings import Settings  # noqa: E402
from ledger.client import Ledger  # noqa: E402
from qr.signed import EIP712_TYPES, Content, Domain, digest  # noqa: E402
from store.db import transaction  # noqa: E402
from store.models import Certificate, Person  # noqa: E402
from zero_errand.certificates import CertKind  # noqa: E402
from zero_errand.issuance import Request as IssueRequest  # noqa: E402
from zero_errand.issuance import Subject  # noqa: E402
from zero_errand.seed import months_before, seed_data  # noqa: E402

PG_BASE = os.environ.get("ZEL_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FLOORS = {"sqlite": 2000, "postgresql": 1000}
BATCH = 500  # certificates per transaction: zero_errand.bulk.CHUNK, what a bulk job writes at a time
PERIOD_MONTHS = (1, 3, 6, 12)  # the lengths people ask for: a month, a quarter, a half-year, a year
Request = tuple[CertKind, Subject, str, str]  # kind, subject, period from, period to


class Store:
    """Where each run's fresh store comes from: a seeded template, copied per run and dropped after."""

    def __init__(self, backend: str, root: Path) -> None:
        self.backend, self.root = backend, root
        self.prefix = "zel_bench_" + uuid.uuid4().hex[:8]
        self.admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT") if backend == "postgresql" else None
        self.databases: list[str] = []

    def url(self, name: str) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.root / (name + '.sqlite')}"
        return make_url(PG_BASE).set(database=f"{self.prefix}_{name}").render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        """A new store `name`, empty or a copy of the store `template`; its URL."""
        if self.backend == "sqlite":
            if template:
                shutil.copy2(self.root / f"{template}.sqlite", self.root / f"{name}.sqlite")
            return self.url(name)
        assert self.admin is not None
        database = f"{self.prefix}_{name}"
        clause = f' TEMPLATE "{self.prefix}_{template}"' if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"{clause}'))
        self.databases.append(database)
        return self.url(name)

    def drop(self, name: str) -> None:
        if self.backend == "sqlite":
            (self.root / f"{name}.sqlite").unlink(missing_ok=True)
            return
        assert self.admin is not None
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.prefix}_{name}" WITH (FORCE)'))

    def close(self) -> None:
        if self.admin is not None:
            with self.admin.connect() as conn:
                for database in self.databases:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            self.admin.dispose()


def settings(data: Path, url: str) -> Settings:
    return Settings(data_dir=data, database_url=url)


def seed_template(store: Store, data: Path, people: int, enterprises: int) -> list[Request]:
    """Seed the backend's template store; the requests, one per (subject, kind, period), shuffled."""
    parts = open_store(settings(data, store.create("template")))
    try:
        with transaction(parts.sessions) as session:
            seeded = seed_data(session, parts.pii, people=people, enterprises=enterprises, seed=18)
        with parts.sessions() as session:
            person_ids = list(session.scalars(select(Person.id).order_by(Person.id)))
    finally:
        parts.engine.dispose()
    months = months_before(date.today(), 24)  # what seed_data covered: the 24 months before this one
    periods = [(months[i], months[i + n - 1]) for n in PERIOD_MONTHS for i in range(0, len(months) - n + 1, n)]
    subjects = [
        (k, Subject(person_id=p)) for p in person_ids for k in (CertKind.TAX_INDIVIDUAL, CertKind.SI_INDIVIDUAL)
    ]
    subjects += [
        (k, Subject(uscc=u)) for u in seeded.enterprises for k in (CertKind.TAX_ENTERPRISE, CertKind.SI_ENTERPRISE)
    ]
    requests = [(kind, subject, a, b) for kind, subject in subjects for a, b in periods]
    random.Random(18).shuffle(requests)
    return requests


def issue_run(store: Store, data: Path, run: int, requests: list[Request], batch: int, tag: str = "") -> dict[str, Any]:
    """One timed run on a fresh copy of the template: certificates per second, failures, store growth. `batch` 1:
    one transaction per certificate (`CertificateService.request`); more: `request_many`, a transaction a batch."""
    name = f"run{run}b{batch}{tag}"
    url = store.create(name, template="template")
    before = (store.root / f"{name}.sqlite").stat().st_size if store.backend == "sqlite" else 0
    ctx = build_context(settings(data, url))
    gc.collect()  # as `zel serve` after startup: the chain's and ORM's long-lived objects out of the collector's way
    gc.freeze()
    failures: dict[str, int] = {}
    try:
        service, sessions = ctx.require_certificates(), ctx.sessions
        started, cpu = time.perf_counter(), time.process_time()
        asked = [
            IssueRequest(
                kind,
                subject,
                period_from,
                period_to,
                actor=f"user:bench{subject.person_id}" if subject.person_id else f"client:bench-{subject.uscc}",
                actor_role="enterprise" if kind.for_enterprise else "citizen",
            )
            for kind, subject, period_from, period_to in requests
        ]
        for start in range(0, len(asked), batch):
            chunk = asked[start : start + batch]
            try:
                with sessions() as session, session.begin():  # one session, one transaction per batch
                    if batch == 1:
                        service.request(
                            session,
                            kind=chunk[0].kind,
                            subject=chunk[0].subject,
                            period_from=chunk[0].period_from,
                            period_to=chunk[0].period_to,
                            actor=chunk[0].actor,
                            actor_role=chunk[0].actor_role,
                        )
                        refused = []
                    else:
                        refused = [o.error for o in service.request_many(session, chunk) if o.error is not None]
                for error in refused:
                    failures[error.code] = failures.get(error.code, 0) + 1
            except Exception as exc:  # no records, a conflict: counted, not timed apart
                failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + len(chunk)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        with sessions() as session:
            stored = session.scalar(select(func.count()).select_from(Certificate).where(Certificate.state == "ISSUED"))
        if store.backend == "sqlite":
            with ctx.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        ctx.close()
        ctx.engine.dispose()
    issued = len(requests) - sum(failures.values())
    assert stored == issued, (stored, issued)
    out: dict[str, Any] = {
        "per_second": round(issued / elapsed),
        "seconds": round(elapsed, 3),
        "cpu_seconds": round(cpu, 3),  # this process's; PostgreSQL's server time is not in it
        "issued": issued,
    }
    if failures:
        out["failures"] = failures
    if store.backend == "sqlite":
        out["store_bytes_per_certificate"] = round(((store.root / f"{name}.sqlite").stat().st_size - before) / issued)
    store.drop(name)
    return out


def reference_contents(count: int) -> list[Content]:
    """`count` certificate contents of all four kinds, as the service signs them."""
    rng = random.Random(7)
    return [
        Content(
            kind=1 + i % 4,
            version=1,
            number=f"{1 + i % 4}2026120{rng.randrange(10**9):09d}",
            subject="4406**********123X" if i % 2 else "91440604MA4UABCD1X",
            subjectName="" if i % 2 else "佛山市禅城区明发陶瓷有限公司",
            periodFrom=20089,
            periodTo=20453,
            totalFen=rng.randrange(10**9),
            monthsPaid=12,
            monthsInArrears=0,
            detailHash="0x" + rng.randbytes(32).hex(),
            issuedAt=1_795_400_000 + i,
            expiresOn=20600,
            department="tax.440604" if i % 4 in (0, 1) else "si.440604",
        )
        for i in range(count)
    ]


def reference_rates(contents: list[Content], domain: Domain) -> tuple[float, float]:
    """(eth-account `sign_typed_data` per second, coincurve over the struct digest per second)."""
    account = Account.create()
    started = time.perf_counter()
    for c in contents:
        Account.sign_typed_data(
            account.key,
            full_message={
                "types": EIP712_TYPES,
                "primaryType": "Certificate",
                "domain": domain.as_dict(),
                "message": c.message(),
            },
        )
    eth = len(contents) / (time.perf_counter() - started)
    key = coincurve.PrivateKey(bytes(account.key))
    started = time.perf_counter()
    for c in contents:
        key.sign_recoverable(digest(c, domain), hasher=None)
    return eth, len(contents) / (time.perf_counter() - started)


def code_version() -> dict[str, Any]:
    """The checkout measured: its commit, and whether tracked files differ from it."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {"commit": git("rev-parse", "--short", "HEAD"), "modified": bool(git("status", "--porcelain", "-uno"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000, help="certificates issued per run and backend")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--batch", type=int, default=BATCH, help="certificates per transaction (the bulk job's)")
    parser.add_argument(
        "--per-request", action=argparse.BooleanOptionalAction, default=True, help="also time one per transaction"
    )
    args = parser.parse_args()
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if not set(backends) <= set(FLOORS):
        parser.error(f"backends are {', '.join(FLOORS)}")
    # Enough subjects for every request to differ: 38 periods (4 lengths over 24 months) x 2 kinds per subject.
    people = max(50, args.count // 60)
    enterprises = max(10, people // 4)
    load = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="zel-bench-issuance-"))
    stores = {b: Store(b, tmp) for b in backends}
    try:
        data = tmp / "data"
        provision_deployment(settings(data, f"sqlite:///{tmp / 'provisioning.sqlite'}"), development=True)
        requests = {b: seed_template(stores[b], data, people, enterprises)[: args.count] for b in backends}
        assert all(len(r) == args.count for r in requests.values()), "too few subjects for --count"
        # The demo gives the social-insurance bureau an SM2 key (issue 20). The floors are issue 18's, for EIP-712
        # signing: they are timed on a copy of the deployment without that key (every department secp256k1), and
        # the demo's own mix beside them.
        sm2_data, data = data, tmp / "data-secp256k1"
        shutil.copytree(sm2_data, data)
        shutil.copy(tmp / f"{sm2_data.name}.pii-keys", tmp / f"{data.name}.pii-keys")
        (data / "keys" / "si-sm2.json").unlink()
        with Ledger.open(settings(data, "sqlite://").chain()) as ledger:  # the deployment's EIP-712 domain
            domain = Domain(ledger.sender.chain_id, ledger.attestations.address)
        contents = reference_contents(min(args.count, 2000))
        runs: list[dict[str, Any]] = []
        for run in range(args.runs):
            figures: dict[str, Any] = {b: issue_run(stores[b], data, run, requests[b], args.batch) for b in backends}
            figures["sm2_social_insurance"] = {
                b: issue_run(stores[b], sm2_data, run, requests[b], args.batch, "sm2") for b in backends
            }
            if args.per_request:
                figures["per_request"] = {b: issue_run(stores[b], data, run, requests[b], 1) for b in backends}
            eth, secp = reference_rates(contents, domain)
            figures["reference_eth_account_per_second"] = round(eth)
            figures["reference_coincurve_per_second"] = round(secp)
            runs.append(figures)
            print(f"run {run + 1}/{args.runs}: {json.dumps(figures)}", file=sys.stderr)
    finally:
        for store in stores.values():
            store.close()
        shutil.rmtree(tmp, ignore_errors=True)
    rates = {b: round(statistics.median(r[b]["per_second"] for r in runs)) for b in backends}
    per_request = (
        {b: round(statistics.median(r["per_request"][b]["per_second"] for r in runs)) for b in backends}
        if args.per_request
        else None
    )
    result: dict[str, Any] = {
        "benchmark": "certificate issuance: CertificateService.request_many, a transaction per batch",
        "certificates": args.count,
        "batch": args.batch,
        "issued_per_second": rates,
        "issued_per_second_one_per_transaction": per_request,
        # the demo's deployment: the social-insurance kinds (half the requests) signed with SM2 (OpenSSL, ~0.4 ms each)
        "issued_per_second_sm2_social_insurance": {
            b: round(statistics.median(r["sm2_social_insurance"][b]["per_second"] for r in runs)) for b in backends
        },
        "reference_eth_account_per_second": round(
            statistics.median(r["reference_eth_account_per_second"] for r in runs)
        ),
        "reference_coincurve_per_second": round(statistics.median(r["reference_coincurve_per_second"] for r in runs)),
        "floors": {b: FLOORS[b] for b in backends},
        "ok": all(rates[b] >= FLOORS[b] for b in backends),
        "runs": runs,
        "subjects": {"people": people, "enterprises": enterprises, "kinds": 4, "period_lengths_months": PERIOD_MONTHS},
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "load_average_at_start": load},
        "code": code_version(),
        "notes": [
            "issued_per_second: median over runs of certificates stored ISSUED / wall time of the loop, one thread, "
            "a new session and transaction per batch of `batch` requests (CertificateService.request_many); "
            "issued_per_second_one_per_transaction: the same requests one transaction each, as one HTTP request "
            "does (CertificateService.request).",
            "Each run starts from a fresh copy of the seeded template store; setup is not timed. cpu_seconds is "
            "this process's CPU time in the loop: well under seconds means waiting (fsync, the server, other load).",
            "reference_eth_account_per_second: Account.sign_typed_data over the Certificate struct (qr.signed types); "
            "reference_coincurve_per_second: coincurve sign_recoverable over qr.signed.digest (hash included).",
        ],
    }
    if "sqlite" in backends:
        result["store_bytes_per_certificate"] = round(
            statistics.median(r["sqlite"]["store_bytes_per_certificate"] for r in runs)
        )
        result["notes"].append(
            "store_bytes_per_certificate (SQLite): growth of the database file over the run, after "
            "PRAGMA wal_checkpoint(TRUNCATE), divided by the certificates issued: rows, one audit entry each, "
            "webhook outbox, indexes. Proofs are never stored (ledger.proofs derives them from a batch's leaves); "
            "bench/anchor_million.py gives the bulk path's figure, anchoring included."
        )
    print(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
