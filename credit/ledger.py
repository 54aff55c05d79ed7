"""The credit ledger: records in the store, their digests on CreditRegistry's per-subject hash chain, grades and
list flags on chain, and the audit that compares the two.

Writing is an outbox, as for certificates: a record is stored PENDING with its digest and its position in the
subject's chain fixed, then appended on chain with the head it expects. A retry after a crash finds either the
chain at the expected head (and appends) or already one step further by exactly this record (and only marks
it APPENDED): no record is lost or appended twice. Subjects on chain are keyed commitments of the USCC.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

import errors
from credit.grading import RECORD_TYPES, Fact, Grade, Policy, grade, load_policy
from ledger.anchor import Anchorer
from ledger.client import Grade as ChainGrade
from ledger.client import Ledger
from ledger.departments import for_scope
from ledger.errors import LedgerError, StaleChainHead
from ledger.kinds import CreditScope, Kind
from qr.signed import canonical
from store import audit
from store.db import begin_write
from store.lease import Lease
from store.models import CreditGrade, CreditPass, CreditRecord, Enterprise, Inspection, ListEntry
from store.pii import Pii

log = logging.getLogger(__name__)
ZERO = b"\0" * 32
STEP_TYPES = (
    "repair_applied",
    "repair_approved",
    "repair_rejected",
    "list_red",
    "list_black",
    "list_red_end",
    "list_black_end",
    "objection_filed",
    "objection_answered",
    "tax_credit_grade",
)
PACED_GRADES_PER_TX = 25  # the worker's, paced: a short hold of the interpreter per transaction (see `sync`)
GRADES_PER_TX = 150  # grades in one setGrades transaction: under 5 million gas (tests/contracts), inside any block
GRADE_DEPARTMENT = for_scope(CreditScope.GRADE).id  # market supervision keeps the grades
# The CreditRegistry scope each record type is written under. A department writes only the scopes it was admitted
# for: the table passed to `CreditLedger` (ledger.departments, what provisioning admits on chain), checked
# before anything is stored, so the store never holds a record the chain would refuse.
SCOPE_OF = {
    "commendation": CreditScope.COMMENDATION,
    "inspection_pass": CreditScope.INSPECTION,
    "inspection_issues": CreditScope.INSPECTION,
    "inspection_fail": CreditScope.INSPECTION,
    "tax_arrears": CreditScope.TAX,
    "si_arrears": CreditScope.SOCIAL_INSURANCE,
    "penalty_minor": CreditScope.PENALTY,
    "penalty_general": CreditScope.PENALTY,
    "penalty_serious": CreditScope.PENALTY,
    "dishonest_debtor": CreditScope.JUDICIAL,
    "coercive_measure": CreditScope.PENALTY,  # 行政强制措施 (sealing, seizure, freezing): market supervision's
    "repair_applied": CreditScope.REPAIR,
    "repair_approved": CreditScope.REPAIR,
    "repair_rejected": CreditScope.REPAIR,
    "list_red": CreditScope.RED_LIST,
    "list_black": CreditScope.BLACK_LIST,
    "list_red_end": CreditScope.RED_LIST,
    "list_black_end": CreditScope.BLACK_LIST,
    # an objection (异议) and its answer: steps of the record or visit objected to, by the department that answers
    "objection_filed": CreditScope.REPAIR,
    "objection_answered": CreditScope.REPAIR,
    "tax_credit_grade": CreditScope.TAX,  # the tax bureau's 纳税缴费信用 grade: its own, beside the risk class
}
if set(SCOPE_OF) != set(RECORD_TYPES + STEP_TYPES):  # every type written has exactly one scope
    raise RuntimeError("SCOPE_OF must name the scope of every record and step type")


class CreditError(errors.ZelError, ValueError):
    """A credit request that cannot be done: `code` is stable, `message` says why."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message, code=code, field=field)


PASS_LEASE = "credit:pass"  # the store lease whose holder runs the daily pass (one process at a time)
GRADED = frozenset(RECORD_TYPES)
PASS_CHUNK = 500  # enterprises per chunk of the daily pass: read in three queries, written in one short transaction


@dataclass
class PassProgress:
    """What one call of `CreditLedger.daily_pass` did, and where the day's pass stands.

    `state`: finished (this call finished the day), done (finished before: nothing redone), busy (another process
    holds the pass), paused (its time budget or `stop` ran out: it continues from the cursor), lost (another
    process moved the cursor: it carries on)."""

    day: date
    state: str
    regraded: int = 0  # enterprises graded by this call
    changed: int = 0  # of them, grades that changed: stored PENDING for the chain
    lists: int = 0  # red-list entries queued for their on-chain flag
    chunks: int = 0
    resumed: bool = False  # continued a pass an earlier call started (killed, stopped or paused)
    cursor: str | None = None  # the last enterprise done (USCC order)
    total_regraded: int = 0  # the day's pass in all, over every call
    total_changed: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "day": self.day.isoformat()}


@dataclass
class _Chunk:
    """One chunk's grades, computed outside any write transaction."""

    last: str  # its last USCC: the cursor once written
    size: int
    changed: list[tuple[str, Grade, int | None]]  # (USCC, new grade, id of the current grade it replaces)


def chain_head(previous: bytes, digest: bytes) -> bytes:
    """CreditRegistry.chainHead: keccak256(abi.encode(previousHead, recordDigest))."""
    return keccak(previous + digest)


def record_digest(public: dict[str, Any]) -> str:
    return "0x" + keccak(canonical(public)).hex()


class CreditLedger:
    """Records, grades and lists of enterprises, in the store and on CreditRegistry."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        pii: Pii,
        ledger: Ledger,
        keys: dict[str, LocalAccount],
        scopes: Mapping[str, Iterable[CreditScope]],
    ) -> None:
        """`scopes`: per department id, the CreditRegistry scopes it was admitted for (a department absent from it
        writes nothing)."""
        self.sessions, self.pii, self.ledger, self.keys = sessions, pii, ledger, keys
        self.scopes = {dept: frozenset(granted) for dept, granted in scopes.items()}
        self._lock = threading.Lock()  # one appender per process: heads are taken in order
        self._inspections: Anchorer | None = None  # the inspections' anchoring outbox, made on first sync
        self._refreshed: date | None = None  # the last day whose pass this process saw finished
        self.pass_lease = Lease(sessions, PASS_LEASE, ttl=120.0)
        # In the service (`run_forever`) the pass takes small chunks and sleeps `pass_pause` times as long as each
        # took, so that the request threads hold the interpreter (the GIL) most of the time and never wait long for
        # it, and hands over to `sync` (which then writes the grades changed so far) every `pass_budget` seconds.
        self.pass_chunk, self.pass_pause, self.pass_budget = 100, 3.0, 300.0

    def subject(self, uscc: str) -> bytes:
        """The enterprise's keyed commitment: what CreditRegistry knows it by."""
        return bytes.fromhex(self.pii.index("uscc:" + uscc))

    # -- writing to the store ------------------------------------------------------------------------------

    def writers(self, type: str) -> list[str]:
        """The departments that may write records of `type`."""
        return sorted(dept for dept, granted in self.scopes.items() if SCOPE_OF[type] in granted)

    def check_scope(self, department: str, type: str) -> None:
        """Refuse (`forbidden`) a record of `type` from a department not admitted for its scope."""
        if type not in SCOPE_OF:
            raise CreditError("invalid", f"unknown record type {type!r}", "type")
        scope = SCOPE_OF[type]
        if scope not in self.scopes.get(department, frozenset()):
            owners = ", ".join(self.writers(type)) or "no department"
            raise CreditError(
                "forbidden",
                f"{department or 'this official'} may not write {type} records: it is not "
                f"admitted for the credit scope {scope.name}, which {owners} holds",
                "type",
            )

    def add(
        self,
        session: Session,
        *,
        uscc: str,
        type: str,
        department: str,
        decided_on: date,
        summary: str,
        reference: str = "",
        amount_fen: int | None = None,
        evidence: list[str] | None = None,
        target: CreditRecord | None = None,
        actor: str,
        extra: dict[str, Any] | None = None,
    ) -> CreditRecord:
        """Store a record PENDING at the next position of the subject's chain (inside the caller's transaction).
        Refused (`forbidden`, nothing stored) when the department is not admitted for the type's scope."""
        self.check_scope(department, type)
        if session.scalars(select(Enterprise).where(Enterprise.uscc == uscc).with_for_update()).first() is None:
            raise CreditError("not-found", f"no enterprise {uscc}", "uscc")
        if department not in self.keys:
            raise CreditError("invalid", f"department {department!r} has no credit-record key here", "department")
        seq = session.scalar(select(func.count()).select_from(CreditRecord).where(CreditRecord.uscc == uscc)) or 0
        uid = str(uuid.uuid4())
        public = {
            "v": 1,
            "uid": uid,
            "subject": "0x" + self.subject(uscc).hex(),
            "seq": seq,
            "type": type,
            "department": department,
            "decided_on": decided_on.isoformat(),
            "summary": summary,
            "reference": reference,
            "amount_fen": amount_fen,
            "evidence": sorted(evidence or []),
            "target": target.uid if target is not None else None,
            **(extra or {}),
        }
        record = CreditRecord(
            uid=uid,
            uscc=uscc,
            seq=seq,
            type=type,
            department=department,
            decided_on=decided_on,
            public=public,
            target_id=target.id if target is not None else None,
            digest=record_digest(public),
            state="PENDING",
            created_by=actor,
        )
        session.add(record)
        session.flush()
        audit.append(
            session,
            actor=actor,
            role="official",
            action=f"credit.{type}",
            target=uscc,
            detail={"record": uid, "digest": record.digest},
        )
        return record

    # -- writing to the chain ----------------------------------------------------------------------------

    def sync(
        self, *, force: bool = False, on: date | None = None, wait: bool = True, pace: float = 0.0
    ) -> dict[str, int]:
        """Append pending records, write changed grades and list flags (as in force on `on`, default today), anchor
        due inspection batches (all waiting inspections with `force`). Safe to call again after any failure.

        One sync at a time per process: with `wait=False` a sync already running (the worker writing a day's grade
        changes) is left to do the work and this returns `{}` at once. `pace` > 0 writes grades in smaller
        transactions and rests `pace` times each one's duration after it (the worker does: on the embedded chain a
        transaction's EVM work holds the interpreter, and requests wait for it)."""
        if not self._lock.acquire(blocking=wait):
            return {}
        try:
            if self._inspections is None:
                self._inspections = self.inspection_anchorer()
            return {
                "records": self._append_pending(),
                "grades": self._write_grades(PACED_GRADES_PER_TX if pace else GRADES_PER_TX, pace),
                "lists": self._write_lists(on or date.today()),
                "inspections": self._inspections.run_once(force=force),
            }
        finally:
            self._lock.release()

    def inspection_anchorer(self, max_wait: float = 10.0) -> Anchorer:
        """The anchoring outbox for inspections (credit.inspections; the certificates' one, over the inspection
        table)."""
        return Anchorer(
            self.sessions,
            self.ledger,
            self.keys,
            {"inspection": Kind.INSPECTION, "scan": Kind.INSPECTION}.__getitem__,  # scans ride with inspections
            max_wait=max_wait,
            model=Inspection,
            batch_kinds=(Kind.INSPECTION,),
        )

    def _append_pending(self) -> int:
        done = 0
        with self.sessions() as s:
            usccs = list(s.scalars(select(CreditRecord.uscc).where(CreditRecord.state == "PENDING").distinct()))
        for uscc in usccs:
            with self.sessions() as s, s.begin():
                records = s.scalars(
                    select(CreditRecord).where(CreditRecord.uscc == uscc).order_by(CreditRecord.seq)
                ).all()
                head = ZERO
                for record in records:
                    digest = bytes.fromhex(record.digest[2:])
                    if record.state == "PENDING":
                        record.tx_hash = self._append(record, uscc, head, digest)
                        record.state = "APPENDED"
                        done += 1
                    head = chain_head(head, digest)
                    record.head = "0x" + head.hex()
        return done

    def _append(self, record: CreditRecord, uscc: str, head: bytes, digest: bytes) -> str | None:
        subject, key = self.subject(uscc), self.keys[record.department]
        try:
            return self.ledger.append_credit_record(key, subject, digest, SCOPE_OF[record.type], head).tx_hash
        except StaleChainHead:
            # A previous run may have appended this very record and died before recording it.
            standing = self.ledger.standing(subject)
            if bytes(standing.head) == chain_head(head, digest) and standing.length == record.seq + 1:
                return None
            raise

    def _write_grades(self, batch: int = GRADES_PER_TX, pace: float = 0.0) -> int:
        """Write pending grades on chain, up to `batch` in one transaction (CreditRegistry.setGrades): a day's pass
        changes thousands. A grade superseded before it reached the chain is skipped. Safe to repeat after a crash:
        setting a subject's grade again to the same value changes nothing but the log."""
        done = 0
        with self.sessions() as s:
            pending = list(
                s.scalars(select(CreditGrade.id).where(CreditGrade.state == "PENDING").order_by(CreditGrade.id))
            )
        if not self.ledger.batch_grades:  # contracts deployed before setGrades: one transaction each
            batch = 1
        took = 0.0
        for start in range(0, len(pending), batch):
            if pace and start:
                time.sleep(pace * took)
            began = time.perf_counter()
            with self.sessions() as s, s.begin():
                rows = s.scalars(select(CreditGrade).where(CreditGrade.id.in_(pending[start : start + batch]))).all()
                latest = dict(
                    s.execute(
                        select(CreditGrade.uscc, func.max(CreditGrade.id))
                        .where(CreditGrade.uscc.in_({r.uscc for r in rows}))
                        .group_by(CreditGrade.uscc)
                    )
                    .tuples()
                    .all()
                )
                current = []
                for row in sorted(rows, key=lambda r: r.id):
                    if latest[row.uscc] != row.id:  # superseded before it reached the chain
                        row.state = "SUPERSEDED"
                    else:
                        current.append(row)
                if not current:
                    continue
                key, subjects = self.keys[GRADE_DEPARTMENT], [self.subject(r.uscc) for r in current]
                grades, bases = [ChainGrade[r.grade] for r in current], [bytes.fromhex(r.basis[2:]) for r in current]
                result = (
                    self.ledger.set_grades(key, subjects, grades, bases)
                    if batch > 1
                    else self.ledger.set_grade(key, subjects[0], grades[0], bases[0])
                )
                for row in current:
                    row.tx_hash, row.state = result.tx_hash, "WRITTEN"
                done += len(current)
            took = time.perf_counter() - began
        return done

    def _write_lists(self, today: date) -> int:
        done = 0
        with self.sessions() as s:
            pending = list(s.scalars(select(ListEntry.id).where(ListEntry.state == "PENDING").order_by(ListEntry.id)))
        for entry_id in pending:
            with self.sessions() as s, s.begin():
                entry = s.get_one(ListEntry, entry_id)
                subject, key = self.subject(entry.uscc), self.keys[entry.department]
                basis = bytes.fromhex(s.get_one(CreditRecord, entry.record_id).digest[2:])  # the list_* record
                if entry.list == "red":
                    # The registry keeps one red flag per subject, owned by the department that set it: it says
                    # whether a red entry of this department is in force (only one department's can be: workflows).
                    listed = any(
                        e.list == "red" and e.department == entry.department
                        for e in active_entries(s, entry.uscc, today)
                    )
                    result = self.ledger.set_red_list(key, subject, listed, basis)
                    entry.state = (
                        "WAITING"
                        if entry.start_on > today
                        else "ENDED"
                        if entry.end_on is not None and entry.end_on <= today
                        else "WRITTEN"
                    )
                else:  # the registry keeps the black list's dates and ends it by itself
                    start = _epoch(entry.start_on)
                    end = _epoch(entry.end_on) if entry.end_on else 2**63
                    if end <= start:  # ended before it started: cleared
                        start = end = 0
                    result = self.ledger.set_black_list(key, subject, start, end, basis)
                    entry.state = "WRITTEN"
                entry.tx_hash = result.tx_hash
                done += 1
        return done

    def refresh(self, on: date | None = None, *, chunk: int = PASS_CHUNK) -> dict[str, int]:
        """The day's pass (`daily_pass`) run to its end here: regrade every enterprise as of `on` (default today) and
        queue red-list entries that started or ended for their on-chain flag; a day already finished is not redone.
        Returns what this call changed: `regraded` grades and `lists` entries. Grades reach the chain with `sync`."""
        done = self.daily_pass(on, chunk=chunk)
        return {"regraded": done.changed, "lists": done.lists}

    def daily_pass(
        self,
        on: date | None = None,
        *,
        chunk: int = PASS_CHUNK,
        pause: float = 0.0,
        budget: float | None = None,
        stop: threading.Event | None = None,
        after_chunk: Callable[[PassProgress], None] | None = None,
    ) -> PassProgress:
        """Regrade every enterprise as of `on` (records leave public display and list entries start and end by date,
        with no write to say so), in USCC order, `chunk` enterprises at a time, storing only the grades that changed
        (PENDING, as `regrade` does); then queue the red-list entries that started or ended.

        Resumable: the day's `CreditPass` row keeps the cursor (the last enterprise done), advanced in the same short
        transaction as each chunk's grades, so a pass killed midway continues where it stopped, and a finished day
        is not redone. One process at a time: the holder of the store lease `credit:pass` (another gets `busy`), and
        each chunk is written only if the cursor is still where it was read. `pause`: sleep that many times as long
        as each chunk took; `budget` (seconds) or `stop`: return `paused` between chunks, to continue later.
        `after_chunk` is called after each chunk is written."""
        on = on or date.today()
        started = time.monotonic()
        progress = PassProgress(on, "busy")
        if self._pass_finished(on, progress) or not self.pass_lease.acquire():
            return self._passed(progress, started)
        try:
            if not self._open_pass(on, progress):
                return self._passed(progress, started)
            policy = load_policy()
            while True:
                if (stop is not None and stop.is_set()) or (budget is not None and time.monotonic() - started > budget):
                    progress.state = "paused"
                    return self._passed(progress, started)
                if not self.pass_lease.acquire():  # renewed before each chunk; lost only to a stall beyond its TTL
                    progress.state = "busy"
                    return self._passed(progress, started)
                began = time.monotonic()
                step = self._grade_chunk(on, progress.cursor, chunk, policy)
                if step is None:
                    break
                written = self._write_chunk(on, progress.cursor, step)
                if written is None:
                    progress.state = "lost"
                    return self._passed(progress, started)
                progress.chunks += 1
                progress.regraded += step.size
                progress.changed += written
                progress.total_regraded += step.size
                progress.total_changed += written
                progress.cursor = step.last
                if after_chunk is not None:
                    after_chunk(progress)
                if pause > 0:
                    time.sleep(pause * (time.monotonic() - began))
            lists = self._finish_pass(on, progress.cursor)
            if lists is None:
                progress.state = "lost"
            else:
                progress.state, progress.lists = "finished", lists
                self._refreshed = on
            return self._passed(progress, started)
        finally:
            self.pass_lease.release()

    def _pass_finished(self, on: date, progress: PassProgress) -> bool:
        """Whether the day's pass is finished (as the store says): then `progress` says so."""
        with self.sessions() as s:
            row = s.get(CreditPass, on)
            if row is None or row.finished_at is None:
                return False
            progress.state, progress.cursor = "done", row.cursor
            progress.total_regraded, progress.total_changed = row.regraded, row.changed
        self._refreshed = on
        return True

    def _open_pass(self, on: date, progress: PassProgress) -> bool:
        """Start the day's pass, or take up an unfinished one at its cursor; False when it finished meanwhile."""
        try:
            with self.sessions() as s, s.begin():
                row = s.get(CreditPass, on)
                if row is None:
                    s.add(CreditPass(day=on, cursor=None, regraded=0, changed=0, started_at=datetime.now(UTC)))
                elif row.finished_at is not None:
                    return self._pass_finished(on, progress)
                else:
                    progress.resumed = True
                    progress.cursor, progress.total_regraded, progress.total_changed = (
                        row.cursor,
                        row.regraded,
                        row.changed,
                    )
        except IntegrityError:  # another process started it at this moment (its lease expired under it)
            progress.state = "lost"
            return False
        progress.state = "running"
        return True

    def _grade_chunk(self, on: date, after: str | None, size: int, policy: Policy) -> _Chunk | None:
        """The next `size` enterprises after `after`, graded as of `on`: their records, list entries and current
        grades read in one query each (a range of USCCs), the grades computed here. None when none are left."""
        with self.sessions() as s:
            query = select(Enterprise.uscc).order_by(Enterprise.uscc).limit(size)
            usccs = list(s.scalars(query if after is None else query.where(Enterprise.uscc > after)))
            if not usccs:
                return None
            last = usccs[-1]

            def span(column: InstrumentedAttribute[str]) -> ColumnElement[bool]:
                return (true() if after is None else column > after) & (column <= last)

            facts: defaultdict[str, list[Fact]] = defaultdict(list)
            # Every record of the chunk, steps too, filtered here: a condition on the type would lead SQLite's
            # planner (no statistics) to the type index, a scan of all records of those types for every chunk.
            for uscc, uid, type, decided_on, repaired_on in s.execute(
                select(
                    CreditRecord.uscc,
                    CreditRecord.uid,
                    CreditRecord.type,
                    CreditRecord.decided_on,
                    CreditRecord.repaired_on,
                ).where(span(CreditRecord.uscc))
            ):
                if type in GRADED:
                    facts[uscc].append(Fact(uid, type, decided_on, repaired_on))
            listed: defaultdict[str, set[str]] = defaultdict(set)
            for uscc, name in s.execute(
                select(ListEntry.uscc, ListEntry.list).where(
                    span(ListEntry.uscc),
                    ListEntry.start_on <= on,
                    or_(ListEntry.end_on.is_(None), ListEntry.end_on > on),
                )
            ):
                listed[uscc].add(name)
            latest = select(func.max(CreditGrade.id)).where(span(CreditGrade.uscc)).group_by(CreditGrade.uscc)
            current = {
                uscc: (grade_id, basis)
                for grade_id, uscc, basis in s.execute(
                    select(CreditGrade.id, CreditGrade.uscc, CreditGrade.basis).where(CreditGrade.id.in_(latest))
                )
            }
        changed = []
        for uscc in usccs:
            flags = listed.get(uscc, set())
            result = grade(
                facts.get(uscc, []), on, black_listed="black" in flags, red_listed="red" in flags, policy=policy
            )
            grade_id, basis = current.get(uscc, (None, None))
            if result.basis != basis:
                changed.append((uscc, result, grade_id))
        return _Chunk(last, len(usccs), changed)

    def _write_chunk(self, on: date, after: str | None, step: _Chunk) -> int | None:
        """Store the chunk's changed grades and advance the cursor past it, in one short transaction; the number
        stored, or None (nothing written) when the cursor is no longer at `after` (another process moved it)."""
        with self.sessions() as s, s.begin():
            begin_write(s)  # SQLite: the write lock first, so that what is read next is what is written against
            row = s.get(CreditPass, on, with_for_update=True, populate_existing=True)
            if row is None or row.finished_at is not None or row.cursor != after:
                return None
            rows = []
            if step.changed:
                usccs = [uscc for uscc, _, _ in step.changed]
                # A record written meanwhile regraded its enterprise from fresher facts: that grade stands. Locking
                # the enterprise rows (as `add` does) makes one being written now finish first, or wait for this.
                s.execute(select(Enterprise.uscc).where(Enterprise.uscc.in_(usccs)).with_for_update())
                now = {
                    uscc: grade_id
                    for uscc, grade_id in s.execute(
                        select(CreditGrade.uscc, func.max(CreditGrade.id))
                        .where(CreditGrade.uscc.in_(usccs))
                        .group_by(CreditGrade.uscc)
                    )
                }
                rows = [grade_row(uscc, result) for uscc, result, seen in step.changed if now.get(uscc) == seen]
                s.add_all(rows)
            row.cursor = step.last
            row.regraded += step.size
            row.changed += len(rows)
        return len(rows)

    def _finish_pass(self, on: date, after: str | None) -> int | None:
        """Queue the red-list entries that started or ended by `on` for their on-chain flag and mark the day
        finished, in one transaction; the number queued, or None when another process moved the cursor."""
        with self.sessions() as s, s.begin():
            begin_write(s)
            row = s.get(CreditPass, on, with_for_update=True, populate_existing=True)
            if row is None or row.finished_at is not None or row.cursor != after:
                return None
            due = s.scalars(
                select(ListEntry).where(
                    ListEntry.list == "red",
                    ((ListEntry.state == "WAITING") & (ListEntry.start_on <= on))
                    | ((ListEntry.state == "WRITTEN") & (ListEntry.end_on <= on)),
                )
            ).all()
            for entry in due:
                entry.state = "PENDING"
            row.finished_at = datetime.now(UTC)
            return len(due)

    @staticmethod
    def _passed(progress: PassProgress, started: float) -> PassProgress:
        progress.seconds = round(time.monotonic() - started, 3)
        return progress

    def run_forever(self, stop: threading.Event, interval: float = 2.0) -> None:
        """Sync every `interval` seconds, with the day's pass first until it is finished: in steps of `pass_budget`
        seconds with a `sync` between them, paced by `pass_pause` so that requests are not held up. A store or
        chain that fails is retried at the next turn; a pass continues from its cursor."""
        while not stop.is_set():
            try:
                if self._refreshed != date.today():
                    done = self.daily_pass(
                        chunk=self.pass_chunk, pause=self.pass_pause, budget=self.pass_budget, stop=stop
                    )
                    if done.state == "finished":
                        log.info(
                            "credit pass of %s finished: %d enterprises, %d grades changed, %d list entries queued",
                            done.day,
                            done.total_regraded,
                            done.total_changed,
                            done.lists,
                        )
                self.sync(pace=self.pass_pause)
            except LedgerError as exc:
                log.warning("credit sync deferred: %s", exc)
            except SQLAlchemyError as exc:
                log.warning("credit pass or sync deferred (store): %s", exc)
            stop.wait(interval)

    # -- grading -----------------------------------------------------------------------------------------

    def facts(self, session: Session, uscc: str) -> list[Fact]:
        return [
            Fact(r.uid, r.type, r.decided_on, r.repaired_on)
            for r in session.scalars(
                select(CreditRecord).where(CreditRecord.uscc == uscc, CreditRecord.type.in_(RECORD_TYPES))
            )
        ]

    def flags(self, session: Session, uscc: str, on: date) -> dict[str, bool]:
        return list_flags(active_entries(session, uscc, on))

    def grade_on(self, session: Session, uscc: str, on: date | None = None) -> CreditGrade:
        """The grade the rules give on `on`, as a row that is not stored (reads use it for an enterprise never
        graded, without writing)."""
        on = on or date.today()
        flags = self.flags(session, uscc, on)
        result: Grade = grade(
            self.facts(session, uscc),
            on,
            black_listed=flags["black_list"],
            red_listed=flags["red_list"],
            policy=load_policy(),
        )
        return grade_row(uscc, result)

    def regrade(self, session: Session, uscc: str, on: date | None = None) -> CreditGrade:
        """Recompute the grade; store it (PENDING for the chain) when it differs from the current one."""
        row = self.grade_on(session, uscc, on)
        current = self.current_grade(session, uscc)
        if current is not None and current.basis == row.basis:
            return current
        session.add(row)
        session.flush()
        return row

    @staticmethod
    def current_grade(session: Session, uscc: str) -> CreditGrade | None:
        return session.scalars(
            select(CreditGrade).where(CreditGrade.uscc == uscc).order_by(CreditGrade.id.desc()).limit(1)
        ).first()

    # -- audit -------------------------------------------------------------------------------------------

    def audit(self, uscc: str) -> dict[str, Any]:
        """Recompute the subject's chain from the store and compare it with CreditRegistry."""
        problems: list[str] = []
        with self.sessions() as s:
            records = s.scalars(select(CreditRecord).where(CreditRecord.uscc == uscc).order_by(CreditRecord.seq)).all()
            head, appended_head, appended = ZERO, ZERO, 0
            for i, record in enumerate(records):
                if record.seq != i:
                    problems.append(f"position {i} holds record {record.uid} numbered {record.seq}")
                if record_digest(record.public) != record.digest:
                    problems.append(
                        f"record {record.uid} was altered in the store: its content no longer hashes to its digest"
                    )
                head = chain_head(head, bytes.fromhex(record.digest[2:]))
                if record.state == "APPENDED":
                    if appended != i:
                        problems.append(f"record {record.uid} is marked appended after a pending one")
                    appended, appended_head = appended + 1, head
        standing = self.ledger.standing(self.subject(uscc))
        if standing.length != appended:
            problems.append(f"the chain holds {standing.length} records, the store {appended} appended ones")
        if bytes(standing.head) != appended_head:
            problems.append("the chain head differs from the head recomputed from the store")
        return {
            "uscc": uscc,
            "records": len(records),
            "appended": appended,
            "pending": len(records) - appended,
            "store_head": "0x" + appended_head.hex(),
            "chain_head": "0x" + bytes(standing.head).hex(),
            "chain_length": standing.length,
            "chain_grade": standing.grade.name if standing.grade else None,
            "ok": not problems,
            "problems": problems,
        }


def grade_row(uscc: str, result: Grade) -> CreditGrade:
    """A computed grade as a new row, PENDING for the chain."""
    return CreditGrade(
        uscc=uscc,
        grade=result.grade,
        score=result.score,
        rules_version=result.rules_version,
        explanation=result.explanation,
        basis=result.basis,
        state="PENDING",
        computed_at=datetime.now(UTC),
    )


def active_entries(session: Session, uscc: str, on: date) -> list[ListEntry]:
    """The enterprise's red and black list entries in force on `on`, oldest first."""
    entries = session.scalars(select(ListEntry).where(ListEntry.uscc == uscc).order_by(ListEntry.start_on)).all()
    return [e for e in entries if e.start_on <= on and (e.end_on is None or on < e.end_on)]


def list_flags(active: list[ListEntry]) -> dict[str, bool]:
    """The flags every department sees, from the entries in force."""
    return {
        "red_list": any(e.list == "red" for e in active),
        "black_list": any(e.list == "black" for e in active),
        "joint_punishment": any(e.joint_punishment for e in active),
    }


def _epoch(day: date) -> int:
    return (day - date(1970, 1, 1)).days * 86400
