"""Bulk issuance (零申请推送): a department pushes one kind to every eligible subject of a period, nobody applying.

A job is made in one transaction: its subjects (every subject with the department's records for the period, or a
list the official gives) are cut into chunks of `CHUNK`. Workers (`JobWorker`: a thread of `zel serve`, or
`zel cert bulk` itself, in as many processes as asked) claim a chunk with a lease and issue it in one
transaction (`issuance.issue_many`), the chunk's outcome written in the same transaction. So:

- a worker killed at any point (`kill -9` included) loses nothing: its chunk's certificates and its DONE commit
  together or not at all, and the chunk is claimed again once its lease runs out;
- nothing is issued twice: every certificate of a job carries the idempotency key `bulk:<kind code>:<from>..<to>`
  under its subject, which the store keeps unique, so a chunk run twice (a worker thought dead that was only
  slow) or a second job for the same kind and period answers with the certificates already issued (`existing`);
- a subject without records for the period is `skipped` with the reason, as is one the store does not know;
  `failed` is left for what should not happen (a certificate number taken by a concurrent batch: the chunk's
  next run issues it).

A department pushes an attestation of a kind registered from a schema file (issue 19) the same way, from a list of
entries (a subject and its field values each, checked against the schema when the job is made: a bad line refuses
the whole list, naming the line, the field and the rule). Each attestation carries the idempotency key of its kind
and values (`attestations.bulk_key`), so the same attestation is not issued twice to the same subject either.

Enterprises hear of their certificates through their webhooks (`certificate.issued`, queued with each
certificate), citizens find them in their account.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import errors
from identifiers import is_valid_id_number, is_valid_uscc, mask_id_number
from kinds.schema import KindSchema
from kinds.values import FieldValueError, check
from store import audit
from store.db import begin_write
from store.models import Certificate, Enterprise, IssuanceChunk, IssuanceJob, Person, SiContribution, TaxRecord
from store.pii import Pii
from zero_errand.attestations import bulk_key, is_attestation
from zero_errand.builder import CertificateBuilder
from zero_errand.certificates import CertKind
from zero_errand.issuance import IssuanceError, Outcome, Request, Subject, issue_many, month_range

log = logging.getLogger(__name__)

CHUNK = 500  # subjects a worker issues in one transaction
LEASE_SECONDS = 120.0  # a claimed chunk not finished by then is another worker's to take
MAX_LISTED = 1_000_000  # subjects a list may name
MAX_ENTRIES = 100_000  # attestations an attestation job may name (each with its values)
SKIPPED = {"no-records": "no records for the period", "not-found": "not registered in the district's store"}


class JobError(errors.ZelError):
    """A bulk job the ledger refuses; `code` picks the problem (invalid, forbidden, not-found)."""

    def __init__(self, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message, code=kind, field=field)


def idempotency_key(kind: CertKind, period_from: str, period_to: str) -> str:
    """The key every certificate of a bulk issuance of `kind` for the period carries (unique per subject; short:
    it is in every such row and in the unique index)."""
    return f"bulk:{kind.code}:{period_from}..{period_to}"


# -- making a job ------------------------------------------------------------------------------------------


def create_job(
    session: Session,
    pii: Pii,
    *,
    kind: str,
    period_from: str,
    period_to: str,
    department: str | None,
    actor: str,
    subjects: list[str] | None = None,
    now: datetime | None = None,
    chunk: int = CHUNK,
) -> IssuanceJob:
    """Make a job (QUEUED) and its chunks in the caller's transaction.

    `department` is the caller's (None: the district admin, who may push any kind); an official may push only
    their own department's kinds. `subjects`: citizen ID numbers and USCCs (None: every subject with records for
    the period). A malformed entry refuses the whole list, naming its line; one the store does not know becomes
    a `skipped` outcome when its chunk runs."""
    try:
        cert_kind = CertKind.parse(kind)
    except ValueError as exc:
        raise JobError("invalid", str(exc), "kind") from exc
    if cert_kind is CertKind.CREDIT_REPORT:
        raise JobError("invalid", "credit reports are made on an enterprise's request, not pushed", "kind")
    if department is not None and department != cert_kind.department:
        raise JobError("forbidden", f"{cert_kind.slug} is issued by {cert_kind.department}, not {department}")
    try:
        months = month_range(period_from, period_to)
    except IssuanceError as exc:
        raise JobError("invalid", exc.message, exc.field) from exc
    now = now or datetime.now(UTC)
    if months[-1] >= f"{now:%Y-%m}":
        raise JobError("invalid", "the period must end before the current month", "period_to")
    if subjects is None:
        owners, source = eligible(session, cert_kind, months), "eligible"
    else:
        owners, source = _listed(session, pii, cert_kind, subjects), "list"
    job = IssuanceJob(
        uid=str(uuid.uuid4()),
        kind=cert_kind.slug,
        department=cert_kind.department,
        period_from=period_from,
        period_to=period_to,
        source=source,
        subjects=len(owners),
        state="QUEUED" if owners else "DONE",
        created_by=actor,
        created_at=now,
        finished_at=None if owners else now,
    )
    detail = {"kind": cert_kind.slug, "period": f"{period_from}..{period_to}", "subjects": len(owners)}
    return _queued(session, job, owners, None, chunk=chunk, actor=actor, department=department, detail=detail)


def _queued(
    session: Session,
    job: IssuanceJob,
    owners: list[str],
    fields: list[dict[str, Any]] | None,
    *,
    chunk: int,
    actor: str,
    department: str | None,
    detail: dict[str, Any],
) -> IssuanceJob:
    """Store a new job, its subjects cut into chunks (with each one's field values, for an attestation kind's job)
    and its audit entry, in the caller's transaction."""
    session.add(job)
    session.flush()
    session.add_all(
        IssuanceChunk(
            job_id=job.id,
            seq=seq,
            subjects=owners[start : start + chunk],
            fields=None if fields is None else fields[start : start + chunk],
            state="PENDING",
            attempts=0,
            issued=0,
            existing=0,
            skipped=0,
            failed=0,
            problems=[],
        )
        for seq, start in enumerate(range(0, len(owners), chunk))
    )
    audit.append(
        session,
        actor=actor,
        role="official" if department else "admin",
        action="certificate.bulk",
        target=job.uid,
        detail=detail,
    )
    return job


def eligible(session: Session, kind: CertKind, months: list[str]) -> list[str]:
    """Every subject with records of `kind`'s source in `months`, as owners, in a stable order."""
    column: Any = {
        CertKind.TAX_INDIVIDUAL: TaxRecord.person_id,
        CertKind.TAX_ENTERPRISE: TaxRecord.uscc,
        CertKind.SI_INDIVIDUAL: SiContribution.person_id,
        CertKind.SI_ENTERPRISE: SiContribution.employer_uscc,
    }[kind]
    month = TaxRecord.period if column.class_ is TaxRecord else SiContribution.month
    prefix = "uscc" if kind.for_enterprise else "person"
    q = select(column).where(column.is_not(None), month.in_(months)).distinct().order_by(column)
    return [f"{prefix}:{value}" for value in session.scalars(q)]


def _listed(session: Session, pii: Pii, kind: CertKind, subjects: list[str]) -> list[str]:
    """The owners of a list of ID numbers (people's kinds) or USCCs (enterprises'), in the list's order, without
    repeats. Unknown people are kept as `unknown:<masked ID>` (skipped when their chunk runs)."""
    if len(subjects) > MAX_LISTED:
        raise JobError("invalid", f"a list names at most {MAX_LISTED:,} subjects", "subjects")
    wanted = [_checked_subject(raw, kind.for_enterprise, kind.slug, line) for line, raw in enumerate(subjects, 1)]
    return list(dict.fromkeys(_owners(session, pii, kind.for_enterprise, wanted)))


def _checked_subject(raw: str, enterprise: bool, kind: str, line: int) -> str:
    value = raw.strip().upper()
    valid = is_valid_uscc(value) if enterprise else is_valid_id_number(value)
    if not valid:
        what = "a unified social credit code" if enterprise else "a citizen ID number"
        shown = value if enterprise else mask_id_number(value) if len(value) == 18 else value[:4] + "…"
        raise JobError("invalid", f"line {line}: {shown!r} is not {what} ({kind})", "subjects")
    return value


def _owners(session: Session, pii: Pii, enterprise: bool, wanted: list[str]) -> list[str]:
    """The owner of each of `wanted` (valid USCCs or ID numbers), in order: `uscc:<USCC>` or `person:<id>`, or
    `unknown:<USCC or masked ID>` for one the store does not know."""
    out: list[str] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        if enterprise:
            known = set(session.scalars(select(Enterprise.uscc).where(Enterprise.uscc.in_(chunk))))
            out += [f"uscc:{v}" if v in known else f"unknown:{v}" for v in chunk]
            continue
        index = {pii.index(v): v for v in chunk}
        q = select(Person.id_index, Person.id).where(Person.id_index.in_(index))
        found = dict(session.execute(q).tuples().all())
        for value in chunk:
            person = found.get(pii.index(value))
            out.append(f"person:{person}" if person is not None else f"unknown:{mask_id_number(value)}")
    return out


def create_attestation_job(
    session: Session,
    pii: Pii,
    kind: KindSchema,
    kind_tag: str,
    *,
    entries: list[Any],
    department: str | None,
    actor: str,
    now: datetime | None = None,
    chunk: int = CHUNK,
) -> IssuanceJob:
    """Make a job (QUEUED) pushing attestations of the registered `kind` (`kind_tag`: its `<slug>.v<version>`) in the
    caller's transaction. `entries`: `{"subject": ID number or USCC, "fields": {name: value}}` each; every value is
    checked against the schema now, and a bad entry refuses the whole list, naming its line, the field and the rule.
    The same subject with the same values twice is one attestation; a subject the store does not know is `skipped`
    when its chunk runs. `department`: the caller's (None: the district admin); only the kind's own may push it."""
    if department is not None and department != kind.department:
        raise JobError("forbidden", f"{kind.slug} is issued by {kind.department}, not {department}")
    if not 1 <= len(entries) <= MAX_ENTRIES:
        raise JobError("invalid", f"a job names 1 to {MAX_ENTRIES:,} entries, not {len(entries):,}", "entries")
    enterprise = kind.subject == "enterprise"
    wanted, values = [], []
    for line, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or set(entry) != {"subject", "fields"} or not isinstance(entry["fields"], dict):
            raise JobError("invalid", f'line {line}: an entry is {{"subject": …, "fields": {{…}}}}', "entries")
        wanted.append(_checked_subject(str(entry["subject"]), enterprise, kind.slug, line))
        try:
            values.append(check(kind, entry["fields"]))
        except FieldValueError as exc:
            raise JobError("invalid", f"line {line}: {exc.message}", exc.field or "entries") from exc
    pairs: list[tuple[str, dict[str, Any]]] = []
    seen: set[tuple[str, str]] = set()
    for owner, v in zip(_owners(session, pii, enterprise, wanted), values, strict=True):
        same = (owner, bulk_key(kind_tag, v))  # unknown subjects are not merged: two may share a masked number
        if owner.startswith("unknown:") or same not in seen:
            seen.add(same)
            pairs.append((owner, v))
    now = now or datetime.now(UTC)
    job = IssuanceJob(
        uid=str(uuid.uuid4()),
        kind=kind_tag,
        department=kind.department,
        period_from="",
        period_to="",
        source="list",
        subjects=len(pairs),
        state="QUEUED",
        created_by=actor,
        created_at=now,
    )
    owners, fields = [owner for owner, _ in pairs], [v for _, v in pairs]
    detail = {"kind": kind_tag, "subjects": len(pairs)}
    return _queued(session, job, owners, fields, chunk=chunk, actor=actor, department=department, detail=detail)


# -- running it --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkResult:
    job_id: int
    seq: int
    issued: int
    existing: int
    skipped: int
    failed: int


class Attester(Protocol):
    """What a worker needs to issue an attestation job's entries (`CertificateService` is one)."""

    def kind_of_tag(self, kind_tag: str) -> KindSchema: ...

    def attest_owned(
        self, session: Session, kind: KindSchema, owner: str, values: dict[str, Any], idempotency_key: str, actor: str
    ) -> Certificate: ...


class JobWorker:
    """Claims chunks of queued jobs and issues them, one transaction a chunk. Any number of workers, in any number
    of processes, may run against one store: a chunk is claimed with a lease (`lease_seconds`)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        pii: Pii,
        builder: CertificateBuilder,
        *,
        attester: Attester | None = None,
        name: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        job_id: int | None = None,
    ) -> None:
        """`job_id`: work on that job only (the CLI's own job); None: any job whose department key `builder`
        holds. `attester` issues the attestations of an attestation kind's job (without one, such a job's chunks
        fail)."""
        self.sessions, self.pii, self.builder, self.attester = sessions, pii, builder, attester
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease = timedelta(seconds=lease_seconds)
        self.job_id = job_id

    def run_once(self, on_chunk: Callable[[ChunkResult], None] | None = None) -> int:
        """Issue chunks until none is left to claim; returns the chunks this worker finished."""
        done = 0
        while (claimed := self.claim()) is not None:
            result = self.run_chunk(claimed)
            if result is not None:
                done += 1
                if on_chunk is not None:
                    on_chunk(result)
        return done

    def run_forever(self, stop: threading.Event, poll: float = 1.0) -> None:
        """Work until `stop` is set (a thread of `zel serve`); a store error is logged and retried."""
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - logged; the chunk's lease lets another worker take it over
                log.exception("bulk issuance worker %s failed; retrying", self.name)
            stop.wait(poll)

    def claim(self) -> int | None:
        """Claim the next chunk that is pending and not leased to a live worker; its id, or None. Looking costs a
        read; only a chunk to take costs a write (SQLite has one writer at a time)."""
        if self._candidate(datetime.now(UTC), lock=False) is None:
            return None
        with self.sessions() as session, session.begin():
            begin_write(session)
            now = datetime.now(UTC)
            chunk_id = self._candidate(now, lock=True, session=session)
            if chunk_id is None:
                return None
            free = (IssuanceChunk.lease_until.is_(None)) | (IssuanceChunk.lease_until < now)
            taken = session.execute(
                update(IssuanceChunk)
                .where(IssuanceChunk.id == chunk_id, IssuanceChunk.state == "PENDING", free)
                .values(worker=self.name, lease_until=now + self.lease, attempts=IssuanceChunk.attempts + 1)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return None
            job_id = session.scalar(select(IssuanceChunk.job_id).where(IssuanceChunk.id == chunk_id))
            session.execute(
                update(IssuanceJob)
                .where(IssuanceJob.id == job_id, IssuanceJob.state == "QUEUED")
                .values(state="RUNNING", started_at=now)
            )
            return chunk_id

    def _candidate(self, now: datetime, *, lock: bool, session: Session | None = None) -> int | None:
        """The first claimable chunk of a job this worker may issue (its department key is here)."""
        q = (
            select(IssuanceChunk.id)
            .join(IssuanceJob, IssuanceJob.id == IssuanceChunk.job_id)
            .where(
                IssuanceChunk.state == "PENDING",
                IssuanceJob.state.in_(("QUEUED", "RUNNING")),
                IssuanceJob.department.in_(sorted(self.builder.keys)),
                (IssuanceChunk.lease_until.is_(None)) | (IssuanceChunk.lease_until < now),
            )
            .order_by(IssuanceChunk.job_id, IssuanceChunk.seq)
            .limit(1)
        )
        if self.job_id is not None:
            q = q.where(IssuanceChunk.job_id == self.job_id)
        if lock:  # PostgreSQL: workers skip each other's candidates instead of queueing on them
            q = q.with_for_update(skip_locked=True, of=IssuanceChunk)
        if session is not None:
            return session.scalar(q)
        with self.sessions() as own:
            return own.scalar(q)

    def run_chunk(self, chunk_id: int, attempts: int = 3) -> ChunkResult | None:
        """Issue the chunk and mark it DONE in one transaction; None when it is no longer this worker's. A chunk
        one of whose certificate numbers a concurrent batch took between our check and our INSERT is rolled back
        and run again whole (up to `attempts` times; after that the subject is listed as failed)."""
        for attempt in range(attempts):
            try:
                return self._run_chunk(chunk_id, last=attempt == attempts - 1)
            except _TakenOver:
                log.warning("chunk %s was taken over by another worker (this one's lease ran out)", chunk_id)
                return None
            except _Retry:
                log.info("chunk %s: a certificate number was taken by a concurrent batch; running it again", chunk_id)
        return None

    def _run_chunk(self, chunk_id: int, *, last: bool) -> ChunkResult | None:
        with self.sessions() as session, session.begin():
            chunk = session.get_one(IssuanceChunk, chunk_id)
            job = session.get_one(IssuanceJob, chunk.job_id)
            if chunk.state != "PENDING" or chunk.worker != self.name:
                return None  # taken over after our lease ran out, or done by another
            if is_attestation(job.kind):
                counts, problems = self._attest_chunk(session, job, chunk)
                return self._finish(session, job, chunk, counts, problems, last=last)
            kind = CertKind.parse(job.kind)
            key = idempotency_key(kind, job.period_from, job.period_to)
            counts = {"issued": 0, "existing": 0, "skipped": 0, "failed": 0}
            requests, problems = [], []
            for owner in chunk.subjects:
                subject = Subject.of_owner(owner)
                if subject is None:
                    counts["skipped"] += 1
                    problems.append(_problem(owner, "skipped", "not-found", SKIPPED["not-found"]))
                    continue
                actor = f"job:{job.uid}"
                requests.append(Request(kind, subject, job.period_from, job.period_to, actor, "official", key))
            logged = audit.Entry(
                actor=f"job:{job.uid}",
                role="official",
                action="certificate.bulk-issue",
                target=job.uid,
                detail={"kind": kind.slug, "chunk": chunk.seq},
            )
            for outcome in issue_many(session, self.pii, self.builder, requests, logged=logged):
                state, problem = _classify(outcome)
                counts[state] += 1
                if problem is not None:
                    problems.append(problem)
            return self._finish(session, job, chunk, counts, problems, last=last)

    def _attest_chunk(
        self, session: Session, job: IssuanceJob, chunk: IssuanceChunk
    ) -> tuple[dict[str, int], list[dict[str, Any]]]:
        """Issue an attestation job's chunk, entry by entry, each in a savepoint: one the store already holds (the
        same subject, kind and values, by this job's earlier run or another job) is `existing`."""
        counts = {"issued": 0, "existing": 0, "skipped": 0, "failed": 0}
        problems: list[dict[str, Any]] = []
        if self.attester is None:
            raise errors.Unavailable("this worker cannot issue attestations")
        kind = self.attester.kind_of_tag(job.kind)
        for owner, values in zip(chunk.subjects, chunk.fields or [], strict=True):
            if not owner.startswith(("person:", "uscc:")):
                counts["skipped"] += 1
                problems.append(_problem(owner, "skipped", "not-found", SKIPPED["not-found"]))
                continue
            key = bulk_key(job.kind, values)
            try:
                with session.begin_nested():
                    self.attester.attest_owned(session, kind, owner, values, key, f"job:{job.uid}")
                counts["issued"] += 1
            except IntegrityError:
                held = select(Certificate.id).where(Certificate.owner == owner, Certificate.idempotency_key == key)
                if session.scalar(held) is None:  # not ours: a number drawn twice, say; the chunk runs again
                    counts["failed"] += 1
                    problems.append(_problem(owner, "failed", "conflict", "no attestation was stored; retry"))
                else:
                    counts["existing"] += 1
            except errors.NotFound:  # removed from the store since the job was made
                counts["skipped"] += 1
                problems.append(_problem(owner, "skipped", "not-found", SKIPPED["not-found"]))
        return counts, problems

    def _finish(
        self,
        session: Session,
        job: IssuanceJob,
        chunk: IssuanceChunk,
        counts: dict[str, int],
        problems: list[dict[str, Any]],
        *,
        last: bool,
    ) -> ChunkResult:
        """Mark the chunk DONE with its counts (and the job, after its last chunk), if it is still this worker's."""
        chunk_id = chunk.id
        if counts["failed"] and not last:
            raise _Retry(chunk_id)
        now = datetime.now(UTC)
        # Still ours? A worker whose lease ran out while it worked may have been taken over: then the other
        # worker's run counts (this one's certificates roll back; the other's replay or issue them).
        finished = session.execute(
            update(IssuanceChunk)
            .where(IssuanceChunk.id == chunk_id, IssuanceChunk.state == "PENDING", IssuanceChunk.worker == self.name)
            .values(state="DONE", done_at=now, lease_until=None, problems=problems, **counts)
            .execution_options(synchronize_session=False)
        )
        if finished.rowcount != 1:  # type: ignore[attr-defined]
            raise _TakenOver(chunk_id)
        left = session.scalar(
            select(func.count())
            .select_from(IssuanceChunk)
            .where(IssuanceChunk.job_id == job.id, IssuanceChunk.state != "DONE")
        )
        if not left:
            job.state, job.finished_at = "DONE", now
        return ChunkResult(job.id, chunk.seq, **counts)


class _TakenOver(Exception):
    """Roll the chunk's transaction back: another worker holds it now."""


class _Retry(Exception):
    """Roll the chunk's transaction back to run it again."""

    def __init__(self, chunk_id: int) -> None:
        super().__init__(f"chunk {chunk_id}: a certificate number was taken by a concurrent batch")


def _problem(owner: str, outcome: str, code: str, reason: str) -> dict[str, Any]:
    return {"subject": owner, "outcome": outcome, "code": code, "reason": reason}


def _classify(outcome: Outcome) -> tuple[str, dict[str, Any] | None]:
    """("issued" | "existing" | "skipped" | "failed", the problem to list or None)."""
    owner = outcome.request.subject.owner
    if outcome.error is None and outcome.row is None and outcome.replayed is None:  # never silently "existing"
        return "failed", _problem(owner, "failed", "conflict", "no certificate was stored; retry")
    if outcome.error is None:
        return ("issued" if outcome.created else "existing"), None
    code = outcome.error.code
    if code in SKIPPED:
        return "skipped", _problem(owner, "skipped", code, SKIPPED[code])
    return "failed", _problem(owner, "failed", code, outcome.error.message)


# -- reading it --------------------------------------------------------------------------------------------


def describe(session: Session, job: IssuanceJob, *, problems: int = 100) -> dict[str, Any]:
    """The job resource: its state, the counts summed over its chunks, and up to `problems` of the subjects not
    issued, with their reasons."""
    sums = session.execute(
        select(
            func.count(),
            func.sum(case((IssuanceChunk.state == "DONE", 1), else_=0)),
            func.coalesce(func.sum(IssuanceChunk.issued), 0),
            func.coalesce(func.sum(IssuanceChunk.existing), 0),
            func.coalesce(func.sum(IssuanceChunk.skipped), 0),
            func.coalesce(func.sum(IssuanceChunk.failed), 0),
        ).where(IssuanceChunk.job_id == job.id)
    ).one()
    chunks, done, issued, existing, skipped, failed = (int(v or 0) for v in sums)
    listed: list[dict[str, Any]] = []
    if problems:
        q = select(IssuanceChunk.problems).where(IssuanceChunk.job_id == job.id, IssuanceChunk.state == "DONE")
        for chunk_problems in session.scalars(q.order_by(IssuanceChunk.seq)):
            listed.extend(chunk_problems or [])
            if len(listed) >= problems:
                break
    return {
        "id": job.uid,
        "kind": job.kind,
        "department": job.department,
        "period_from": job.period_from,
        "period_to": job.period_to,
        "source": job.source,
        "state": job.state,
        "subjects": job.subjects,
        "chunks": {"total": chunks, "done": done},
        "counts": {
            "issued": issued,
            "existing": existing,
            "skipped": skipped,
            "failed": failed,
            "pending": job.subjects - issued - existing - skipped - failed,
        },
        "problems": listed[:problems],
        "created_by": job.created_by,
        "created_at": job.created_at.isoformat(),
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def results(session: Session, pii: Pii, job: IssuanceJob) -> Iterable[dict[str, Any]]:
    """Every subject of the job with what became of it: the certificate's number, or the reason it was not
    issued. People are shown by their masked ID number (the list leaves the district's systems)."""
    attesting = is_attestation(job.kind)
    key = None if attesting else idempotency_key(CertKind.parse(job.kind), job.period_from, job.period_to)
    q = select(IssuanceChunk).where(IssuanceChunk.job_id == job.id).order_by(IssuanceChunk.seq)
    for chunk in session.scalars(q):
        problems = {p["subject"]: p for p in chunk.problems or []}
        # each entry's idempotency key: the job's, or an attestation's own (its kind and values)
        keys = [bulk_key(job.kind, v) for v in chunk.fields or []] if attesting else [key] * len(chunk.subjects)
        wanted = [(o, k) for o, k in zip(chunk.subjects, keys, strict=True) if o not in problems]
        numbers: dict[tuple[str, str | None], tuple[str, str]] = {}
        if chunk.state == "DONE" and wanted:
            found = session.execute(
                select(Certificate.owner, Certificate.idempotency_key, Certificate.number, Certificate.state).where(
                    Certificate.owner.in_({o for o, _ in wanted}),
                    Certificate.idempotency_key.in_({k for _, k in wanted}),
                )
            ).tuples()
            numbers = {(owner, k): (number, state) for owner, k, number, state in found}
        shown = _people(session, pii, [o for o in chunk.subjects if o.startswith("person:")])
        for owner, k in zip(chunk.subjects, keys, strict=True):
            row: dict[str, Any] = {"subject": shown.get(owner, owner.split(":", 1)[1])}
            if owner in problems:
                row |= {"outcome": problems[owner]["outcome"], "reason": problems[owner]["reason"]}
            elif (owner, k) in numbers:
                row |= {"outcome": "issued", "number": numbers[owner, k][0], "state": numbers[owner, k][1]}
            else:
                row |= {"outcome": "pending"}
            yield row


def _people(session: Session, pii: Pii, owners: list[str]) -> dict[str, str]:
    ids = [int(o[7:]) for o in owners]
    out = {}
    for person_id, enc in session.execute(select(Person.id, Person.id_number_enc).where(Person.id.in_(ids))):
        out[f"person:{person_id}"] = mask_id_number(pii.decrypt(enc, "person.id_number"))
    return out
