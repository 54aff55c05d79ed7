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
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import errors
from credit.grading import RECORD_TYPES, Fact, Grade, grade, load_policy
from ledger.anchor import Anchorer
from ledger.client import Grade as ChainGrade
from ledger.client import Ledger
from ledger.departments import for_scope
from ledger.errors import LedgerError, StaleChainHead
from ledger.kinds import CreditScope, Kind
from qr.signed import canonical
from store import audit
from store.models import CreditGrade, CreditRecord, Enterprise, Inspection, ListEntry
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
        self._refreshed: date | None = None  # the day of the last `refresh`

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

    def sync(self, *, force: bool = False, on: date | None = None) -> dict[str, int]:
        """Append pending records, write changed grades and list flags (as in force on `on`, default today), anchor
        due inspection batches (all waiting inspections with `force`). Safe to call again after any failure."""
        with self._lock:
            if self._inspections is None:
                self._inspections = self.inspection_anchorer()
            return {
                "records": self._append_pending(),
                "grades": self._write_grades(),
                "lists": self._write_lists(on or date.today()),
                "inspections": self._inspections.run_once(force=force),
            }

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

    def _write_grades(self) -> int:
        done = 0
        with self.sessions() as s:
            pending = list(
                s.scalars(select(CreditGrade.id).where(CreditGrade.state == "PENDING").order_by(CreditGrade.id))
            )
        for grade_id in pending:
            with self.sessions() as s, s.begin():
                row = s.get_one(CreditGrade, grade_id)
                latest = s.scalar(select(func.max(CreditGrade.id)).where(CreditGrade.uscc == row.uscc))
                if latest != row.id:  # superseded before it reached the chain
                    row.state = "SUPERSEDED"
                    continue
                subject = self.subject(row.uscc)
                if self.ledger.standing(subject).grade != ChainGrade[row.grade]:
                    row.tx_hash = self.ledger.set_grade(
                        self.keys[GRADE_DEPARTMENT], subject, ChainGrade[row.grade], bytes.fromhex(row.basis[2:])
                    ).tx_hash
                row.state = "WRITTEN"
                done += 1
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

    def refresh(self, on: date | None = None, *, chunk: int = 200) -> dict[str, int]:
        """The day's pass: regrade every enterprise as of `on` (records leave public display and list entries
        start and end by date, with no write to say so) and queue red-list entries that started or ended for
        their on-chain flag. Grade changes reach the chain with the next `sync`."""
        on = on or date.today()
        regraded = 0
        with self.sessions() as s:
            usccs = list(s.scalars(select(Enterprise.uscc).order_by(Enterprise.uscc)))
        for i in range(0, len(usccs), chunk):
            with self.sessions() as s, s.begin():
                for uscc in usccs[i : i + chunk]:
                    before = self.current_grade(s, uscc)
                    regraded += self.regrade(s, uscc, on) is not before
        with self.sessions() as s, s.begin():
            due = s.scalars(
                select(ListEntry).where(
                    ListEntry.list == "red",
                    ((ListEntry.state == "WAITING") & (ListEntry.start_on <= on))
                    | ((ListEntry.state == "WRITTEN") & (ListEntry.end_on <= on)),
                )
            ).all()
            for entry in due:
                entry.state = "PENDING"
        self._refreshed = on
        return {"regraded": regraded, "lists": len(due)}

    def run_forever(self, stop: threading.Event, interval: float = 2.0) -> None:
        """Sync every `interval` seconds, with the day's refresh first on each new day."""
        while not stop.is_set():
            try:
                if self._refreshed != date.today():
                    self.refresh()
                self.sync()
            except LedgerError as exc:
                log.warning("credit sync deferred: %s", exc)
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
