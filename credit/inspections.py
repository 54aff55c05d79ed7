"""On-site inspections (一码检查) and the scans that open them (扫码入企).

Every scan of an enterprise's one code by an inspector is a scan event: a row of kind "scan" in the inspection
table, signed by market supervision's key (time, inspector, department) and batch-anchored with the inspections.
An inspection needs a scan by one of its inspectors before its start (purpose "enter", at most the rule file's
`scan_before_minutes` earlier), or, in an emergency, a scan between its start and end. One visit is one record,
however many departments took part (joint inspection, 联合检查): anchored in a Merkle root of kind INSPECTION and
fed to the enterprise's credit chain as an inspection result. The risk-based frequency says when the next routine
inspection is due (class A least often: 无事不扰); a complaint, alert or referral (credit.visits) makes one due at
once; a visit outside the schedule gives a reason from the rule file, and one visit too many raises an alert.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from eth_utils import keccak
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from credit.grading import Policy, add_months, inspection_due, load_policy
from credit.ledger import CreditError, CreditLedger, record_digest
from ledger.departments import for_kind, with_kind
from ledger.kinds import Kind
from qr.signed import sign_digest
from store.db import begin_write
from store.models import Enterprise, Inspection, InspectionTrigger, RandomDraw, VisitAlert

ANCHORING_DEPARTMENT = for_kind(Kind.INSPECTION).id  # market supervision coordinates joint inspections, anchors them
# Who may take part in a visit: every department that keeps credit records (registry order)
DEPARTMENTS = tuple(d.id for d in with_kind(Kind.CREDIT_RECORD))
RESULTS = {"pass": "inspection_pass", "issues": "inspection_issues", "fail": "inspection_fail"}
DIGEST = re.compile(r"^0x[0-9a-f]{64}$")
VISIT, SCAN = "inspection", "scan"  # the two kinds of row in the inspection table
PURPOSES = ("enter", "leave")  # a scan's: before entering, or (in an emergency) before leaving
RECORDED_REASONS = ("complaint", "alert")  # reasons that must be open triggers a department recorded
SCHEDULE = "schedule"  # the reason of a visit the risk-based frequency made due
EIP191_PREFIX = b"\x19Ethereum Signed Message:\n32"  # a scan's signature is EIP-191 over its 32-byte digest
CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of the server's clock a phone may say a visit ended


def local_day(at: datetime) -> date:
    """The server's calendar day of `at` (as `date.today()` counts days)."""
    return at.astimezone().date()


def scan_event(
    credit: CreditLedger,
    *,
    uscc: str,
    inspector: str,
    department: str,
    purpose: str = "enter",
    at: datetime | None = None,
    actor: str,
) -> Inspection:
    """An inspector's scan of the enterprise's one code, not yet stored: its digest covers the time, inspector and
    department, and market supervision's key signs it (EIP-191). `store_scans` stores it."""
    if purpose not in PURPOSES:
        raise CreditError("invalid", "a scan's purpose is enter or leave", "purpose")
    if department not in DEPARTMENTS:
        raise CreditError(
            "invalid", f"inspectors of {', '.join(DEPARTMENTS)} scan codes, not of {department or 'no department'}"
        )
    at = (at or datetime.now(UTC)).astimezone(UTC)
    uid = str(uuid.uuid4())
    content = {
        "v": 1,
        "uid": uid,
        "subject": "0x" + credit.subject(uscc).hex(),
        "kind": SCAN,
        "purpose": purpose,
        "at": at.isoformat(),
        "inspector": inspector,
        "department": department,
    }
    digest = record_digest(content)
    # EIP-191 over the 32-byte digest (what eth-account's sign_message signs), by libsecp256k1 with the key's handle
    # cached: a scan is on the inspector's request path
    signature = sign_digest(keccak(EIP191_PREFIX + bytes.fromhex(digest[2:])), credit.keys[ANCHORING_DEPARTMENT])
    return Inspection(
        uid=uid,
        uscc=uscc,
        visited_on=local_day(at),
        kind=SCAN,
        department=ANCHORING_DEPARTMENT,
        departments=[department],
        inspectors=[inspector],
        items=[],
        findings="",
        result="",
        evidence=[],
        content=content,
        digest=digest,
        issued_at=datetime.now(UTC),
        state="ISSUED",
        created_by=actor,
        purpose=purpose,
        started_at=at,
        signature="0x" + signature.hex(),
    )


def store_scans(session: Session, scans: list[Inspection]) -> list[Inspection]:
    """Store scans (ISSUED, waiting for their anchoring batch) inside the caller's transaction: one query checks
    their enterprises. A scan of an unknown enterprise refuses the whole call (`not-found`); a group commit
    (store.group) then stores each scan alone, so that only its caller sees the refusal."""
    known = set(session.scalars(select(Enterprise.uscc).where(Enterprise.uscc.in_({s.uscc for s in scans}))))
    for row in scans:
        if row.uscc not in known:
            raise CreditError("not-found", f"no enterprise {row.uscc}", "uscc")
    session.add_all(scans)
    session.flush()
    return scans


def insert_scans(session: Session, scans: list[Inspection]) -> list[None]:
    """Store scans built by `scan_event` of enterprises known to exist (the caller read their standing) with one
    INSERT for all of them, inside the caller's transaction: the inspector's request path (a group commit, store.group)
    waits for this, and every statement more is a wait for the interpreter while the embedded chain computes in
    another thread."""
    columns = [c.key for c in Inspection.__table__.columns if c.key != "id"]
    session.execute(insert(Inspection), [{k: getattr(row, k) for k in columns} for row in scans])
    return [None] * len(scans)


def record_scan(
    credit: CreditLedger,
    session: Session,
    *,
    uscc: str,
    inspector: str,
    department: str,
    purpose: str = "enter",
    at: datetime | None = None,
    actor: str,
) -> Inspection:
    """Store an inspector's scan of the enterprise's one code inside the caller's transaction (`scan_event`)."""
    row = scan_event(credit, uscc=uscc, inspector=inspector, department=department, purpose=purpose, at=at, actor=actor)
    return store_scans(session, [row])[0]


def record_inspection(
    credit: CreditLedger,
    session: Session,
    *,
    uscc: str,
    departments: list[str],
    inspectors: list[str],
    items: list[dict[str, Any]],
    findings: str,
    result: str,
    evidence: list[str],
    started_at: datetime,
    ended_at: datetime | None = None,
    scan: str | None = None,
    emergency: str | None = None,
    reason: str | None = None,
    draw_id: int | None = None,
    actor: str,
) -> Inspection:
    """Store one inspection (ISSUED, waiting for its batch) and its credit record; close the enterprise's open
    triggers and raise a visit alert if the visit is one too many. Refused (409) without a scan that opens it
    (`scan` names one, else the latest that fits is taken), and (422) outside the schedule without a reason."""
    policy, now = load_policy(), datetime.now(UTC)
    departments = sorted(set(departments))
    inspectors = sorted(set(inspectors))
    if not departments or not set(departments) <= set(DEPARTMENTS):
        raise CreditError("invalid", f"departments must be among {', '.join(DEPARTMENTS)}", "departments")
    if result not in RESULTS:
        raise CreditError("invalid", "result must be pass, issues or fail", "result")
    evidence = sorted({e.lower() for e in evidence})
    if not all(DIGEST.match(e) for e in evidence):
        raise CreditError(
            "invalid", "evidence is a list of 0x-prefixed SHA-256 or keccak digests of the files", "evidence"
        )
    if started_at.tzinfo is None or (ended_at is not None and ended_at.tzinfo is None):
        raise CreditError("invalid", "give the visit's start and end with their time zone", "started_at")
    started_at, ended_at = started_at.astimezone(UTC), (ended_at or now).astimezone(UTC)
    if ended_at < started_at:
        raise CreditError("invalid", "a visit ends after it starts", "ended_at")
    if ended_at > now + CLOCK_SKEW:
        raise CreditError("invalid", "an inspection cannot end in the future", "ended_at")
    emergency = (emergency or "").strip() or None
    # The write lock (SQLite) and the enterprise's row (PostgreSQL; credit.add locks it too) first: visits of one
    # enterprise are recorded one at a time, so a scan opens one visit only and the visits counted for an alert are
    # all there.
    begin_write(session)
    if session.scalars(select(Enterprise).where(Enterprise.uscc == uscc).with_for_update()).first() is None:
        raise CreditError("not-found", f"no enterprise {uscc}", "uscc")
    opening = _opening_scan(session, policy, uscc, inspectors, started_at, ended_at, emergency, scan)
    visited_on = local_day(started_at)
    grade = (credit.current_grade(session, uscc) or credit.grade_on(session, uscc, visited_on)).grade
    triggers = open_triggers(session, uscc, before=ended_at)
    reason = _reason(session, policy, uscc, grade, visited_on, reason, emergency, draw_id, triggers)
    uid = str(uuid.uuid4())
    content = {
        "v": 2,
        "uid": uid,
        "subject": "0x" + credit.subject(uscc).hex(),
        "visited_on": visited_on.isoformat(),
        "started_at": started_at.isoformat(),
        "ended_at": ended_at.isoformat(),
        "scan": opening.digest,
        "departments": departments,
        "inspectors": inspectors,
        "items": items,
        "findings": findings,
        "result": result,
        "evidence": evidence,
        "draw": draw_id,
        "reason": reason,
        "emergency": emergency,
    }
    row = Inspection(
        uid=uid,
        uscc=uscc,
        visited_on=visited_on,
        kind=VISIT,
        department=ANCHORING_DEPARTMENT,
        departments=departments,
        inspectors=inspectors,
        items=items,
        findings=findings,
        result=result,
        evidence=evidence,
        draw_id=draw_id,
        content=content,
        digest=record_digest(content),
        issued_at=now,
        state="ISSUED",
        created_by=actor,
        started_at=started_at,
        ended_at=ended_at,
        reason=reason,
        emergency=emergency,
        scan_id=opening.id,
    )
    session.add(row)
    session.flush()
    # One visit, one credit record, whichever departments took part.
    record = credit.add(
        session,
        uscc=uscc,
        type=RESULTS[result],
        department=ANCHORING_DEPARTMENT,
        decided_on=visited_on,
        summary=findings or result,
        reference=f"inspection:{uid}",
        evidence=evidence + [row.digest],
        actor=actor,
        extra={"departments": departments},
    )
    row.record_id = record.id
    for trigger in triggers:
        trigger.closed_by, trigger.closed_at = row.id, now
    _count_visits(session, policy, row, grade)
    credit.regrade(session, uscc)
    return row


def _opening_scan(
    session: Session,
    policy: Policy,
    uscc: str,
    inspectors: list[str],
    started_at: datetime,
    ended_at: datetime,
    emergency: str | None,
    uid: str | None,
) -> Inspection:
    """The scan that opens the visit: `uid`'s, checked, or the latest unused one that fits."""
    before = timedelta(minutes=policy.scan_before_minutes)
    low, high = (started_at, ended_at) if emergency else (started_at - before, started_at)
    purposes = PURPOSES if emergency else ("enter",)
    rule = (
        f"an emergency visit needs a scan of the enterprise's code by one of its inspectors ({', '.join(inspectors)})"
        f" between its start {started_at:%Y-%m-%d %H:%M:%S} and end {ended_at:%Y-%m-%d %H:%M:%S} UTC"
        if emergency
        else f"an inspection needs a scan (purpose enter) of the enterprise's code by one of its inspectors "
        f"({', '.join(inspectors)}) at most {policy.scan_before_minutes} minutes before its start "
        f"{started_at:%Y-%m-%d %H:%M:%S} UTC and not after it, or an emergency reason"
    )
    if uid is not None:
        found = session.scalars(select(Inspection).where(Inspection.uid == uid, Inspection.kind == SCAN)).first()
        if found is None:
            raise CreditError("conflict", f"no scan {uid} was recorded: {rule}", "scan")
        if found.uscc != uscc:
            raise CreditError("conflict", f"scan {uid} is of another enterprise's code, not {uscc}'s: {rule}", "scan")
        if found.inspectors[0] not in inspectors:
            raise CreditError(
                "conflict",
                f"scan {uid} was made by {found.inspectors[0]}, not an inspector of this visit: {rule}",
                "scan",
            )
        if found.purpose not in purposes:
            raise CreditError("conflict", f"scan {uid} is a {found.purpose} scan: {rule}", "scan")
        at = found.started_at
        assert at is not None  # every scan has its time
        if at < low:
            raise CreditError("conflict", f"scan {uid} at {at:%Y-%m-%d %H:%M:%S} UTC is too early: {rule}", "scan")
        if at > high:
            raise CreditError("conflict", f"scan {uid} at {at:%Y-%m-%d %H:%M:%S} UTC is too late: {rule}", "scan")
        opened = session.scalars(select(Inspection.uid).where(Inspection.scan_id == found.id)).first()
        if opened is not None:
            raise CreditError("conflict", f"scan {uid} already opened inspection {opened}: {rule}", "scan")
        return found
    candidates = session.scalars(
        select(Inspection)
        .where(
            Inspection.uscc == uscc,
            Inspection.kind == SCAN,
            Inspection.purpose.in_(purposes),
            Inspection.started_at >= low,
            Inspection.started_at <= high,
        )
        .order_by(Inspection.started_at.desc(), Inspection.id.desc())
    ).all()
    mine = [c for c in candidates if c.inspectors[0] in inspectors]
    used = set(session.scalars(select(Inspection.scan_id).where(Inspection.scan_id.in_([c.id for c in mine]))))
    for candidate in mine:
        if candidate.id not in used:
            return candidate
    raise CreditError("conflict", f"no scan opens this visit: {rule}", "scan")


def _reason(
    session: Session,
    policy: Policy,
    uscc: str,
    grade: str,
    visited_on: date,
    reason: str | None,
    emergency: str | None,
    draw_id: int | None,
    triggers: Sequence[InspectionTrigger],
) -> str:
    """Why the visit takes place: the schedule when it is due, else a reason from the rule file's list."""
    scheduled, due_on = inspection_due(policy, grade, last_visit(session, uscc, visited_on), visited_on)
    allowed = ", ".join(policy.unscheduled_reasons)
    if reason is None:
        reason = (
            SCHEDULE
            if scheduled
            else triggers[0].kind
            if triggers
            else "random_draw"
            if draw_id is not None
            else "emergency"
            if emergency
            else None
        )
    if reason is None or (reason == SCHEDULE and not scheduled):
        raise CreditError(
            "invalid",
            f"no routine inspection of {uscc} (class {grade}) is due until {due_on} and no complaint, alert or "
            f"referral is open: give the reason of this visit, one of {allowed}",
            "reason",
        )
    if reason != SCHEDULE and reason not in policy.unscheduled_reasons:
        raise CreditError("invalid", f"a visit's reason is {SCHEDULE} (when due) or one of {allowed}", "reason")
    if reason == "random_draw" and draw_id is None:
        raise CreditError("invalid", "a random_draw visit names the draw (draw_id) that drew the enterprise", "draw_id")
    if reason == "emergency" and not emergency:
        raise CreditError("invalid", "an emergency visit says what the emergency was (emergency)", "emergency")
    if reason in RECORDED_REASONS and not any(t.kind == reason for t in triggers):
        # a complaint or an alert is a department's record (credit.visits.add_trigger), not the inspector's word
        raise CreditError(
            "invalid", f"no open {reason} about {uscc}: a department records it first, then it is a reason", "reason"
        )
    if draw_id is not None:
        draw = session.get(RandomDraw, draw_id)
        if draw is None or draw.state != "DRAWN" or uscc not in {t["uscc"] for t in draw.result or []}:
            raise CreditError("invalid", f"draw {draw_id} did not draw {uscc}", "draw_id")
    return reason


def _count_visits(session: Session, policy: Policy, row: Inspection, grade: str) -> VisitAlert | None:
    """无事不扰: raise an alert when this visit takes the enterprise over its class's visits in the window. Visits on
    the same day count once (a joint visit), so a second record of a day adds no visit and no alert."""
    if not policy.visits_allowed:
        return None
    since = add_months(row.visited_on, -policy.visit_window_months)
    days = set(
        session.scalars(
            select(Inspection.visited_on).where(
                Inspection.uscc == row.uscc,
                Inspection.kind == VISIT,
                Inspection.id != row.id,
                Inspection.visited_on >= since,
                Inspection.visited_on <= row.visited_on,
            )
        )
    )
    allowed = policy.visits_allowed[grade]
    if row.visited_on in days or len(days) + 1 <= allowed:
        return None
    alert = VisitAlert(
        uscc=row.uscc,
        inspection_id=row.id,
        grade=grade,
        visits=len(days) + 1,
        allowed=allowed,
        window_from=since,
        rules_version=policy.version,
    )
    session.add(alert)
    session.flush()
    return alert


def last_visit(session: Session, uscc: str, on: date | None = None) -> date | None:
    """The day of the enterprise's last inspection (on or before `on`), None if it was never inspected."""
    query = select(Inspection.visited_on).where(Inspection.uscc == uscc, Inspection.kind == VISIT)
    if on is not None:
        query = query.where(Inspection.visited_on <= on)
    return session.scalars(query.order_by(Inspection.visited_on.desc()).limit(1)).first()


def open_triggers(session: Session, uscc: str, before: datetime | None = None) -> list[InspectionTrigger]:
    """The enterprise's complaints, alerts and referrals no visit has closed yet, oldest first."""
    query = select(InspectionTrigger).where(InspectionTrigger.uscc == uscc, InspectionTrigger.closed_by.is_(None))
    if before is not None:
        query = query.where(InspectionTrigger.recorded_at <= before)
    return list(session.scalars(query.order_by(InspectionTrigger.id)))


def due(
    last: date | None, grade: str, on: date | None = None, triggers: Sequence[InspectionTrigger] = ()
) -> dict[str, Any]:
    """Whether an inspection is due: under the risk-based frequency of the grade's class, given the last visit
    (None: never inspected), or whatever the class because of an open complaint, alert or referral."""
    policy, on = load_policy(), on or date.today()
    is_due, due_on = inspection_due(policy, grade, last, on)
    reasons: list[dict[str, Any]] = [{"kind": SCHEDULE, "due_on": due_on.isoformat()}] if is_due else []
    reasons += [
        {
            "kind": t.kind,
            "uid": t.uid,
            "reason": t.reason,
            "department": t.department,
            "recorded_on": local_day(t.recorded_at).isoformat(),
        }
        for t in triggers
    ]
    return {
        "due": bool(reasons),
        "due_on": due_on.isoformat(),
        "last_inspected": last.isoformat() if last else None,
        "every_months": policy.inspection_every_months[grade],
        "reasons": reasons,
        "open_triggers": len(triggers),
    }


def published(session: Session, uscc: str, limit: int = 10) -> list[dict[str, Any]]:
    """The enterprise's inspections (not its scans), newest first, as published (双随机、一公开): who, when, what
    was found."""
    rows = session.scalars(
        select(Inspection)
        .where(Inspection.uscc == uscc, Inspection.kind == VISIT)
        .order_by(Inspection.visited_on.desc(), Inspection.id.desc())
        .limit(limit)
    )
    return [
        {
            "uid": r.uid,
            "visited_on": r.visited_on.isoformat(),
            "departments": r.departments,
            "result": r.result,
            "findings": r.findings,
            "items": r.items,
            "digest": r.digest,
            "anchored": r.state == "ANCHORED",
            "random_draw": r.draw_id is not None,
        }
        for r in rows
    ]
