"""On-site inspections (一码检查): one visit is one record, however many departments took part (joint inspection,
联合检查). Each inspection is batch-anchored like certificates (its digest in a Merkle root of kind INSPECTION)
and feeds the enterprise's credit chain as an inspection result; the risk-based frequency says when the next
routine inspection is due (class A least often: 无事不扰).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

from eth_utils import keccak
from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.grading import inspection_due, load_policy
from credit.ledger import CreditError, CreditLedger
from ledger.departments import for_kind, with_kind
from ledger.kinds import Kind
from qr.signed import canonical
from store.models import Inspection

ANCHORING_DEPARTMENT = for_kind(Kind.INSPECTION).id  # market supervision coordinates joint inspections, anchors them
# Who may take part in a visit: every department that keeps credit records (registry order)
DEPARTMENTS = tuple(d.id for d in with_kind(Kind.CREDIT_RECORD))
RESULTS = {"pass": "inspection_pass", "issues": "inspection_issues", "fail": "inspection_fail"}
DIGEST = re.compile(r"^0x[0-9a-f]{64}$")


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
    visited_on: date | None = None,
    draw_id: int | None = None,
    actor: str,
) -> Inspection:
    """Store one inspection (ISSUED, waiting for its batch) and its credit record."""
    visited_on = visited_on or date.today()
    departments = sorted(set(departments))
    if not departments or not set(departments) <= set(DEPARTMENTS):
        raise CreditError("invalid", f"departments must be among {', '.join(DEPARTMENTS)}", "departments")
    if result not in RESULTS:
        raise CreditError("invalid", "result must be pass, issues or fail", "result")
    evidence = sorted({e.lower() for e in evidence})
    if not all(DIGEST.match(e) for e in evidence):
        raise CreditError(
            "invalid", "evidence is a list of 0x-prefixed SHA-256 or keccak digests of the files", "evidence"
        )
    if visited_on > date.today():
        raise CreditError("invalid", "an inspection cannot be dated in the future", "visited_on")
    uid = str(uuid.uuid4())
    content = {
        "v": 1,
        "uid": uid,
        "subject": "0x" + credit.subject(uscc).hex(),
        "visited_on": visited_on.isoformat(),
        "departments": departments,
        "inspectors": sorted(inspectors),
        "items": items,
        "findings": findings,
        "result": result,
        "evidence": evidence,
        "draw": draw_id,
    }
    row = Inspection(
        uid=uid,
        uscc=uscc,
        visited_on=visited_on,
        kind="inspection",
        department=ANCHORING_DEPARTMENT,
        departments=departments,
        inspectors=sorted(inspectors),
        items=items,
        findings=findings,
        result=result,
        evidence=evidence,
        draw_id=draw_id,
        content=content,
        digest="0x" + keccak(canonical(content)).hex(),
        issued_at=datetime.now(UTC),
        state="ISSUED",
        created_by=actor,
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
    credit.regrade(session, uscc)
    return row


def due(last: date | None, grade: str, on: date | None = None) -> dict[str, Any]:
    """Whether a routine inspection is due under the risk-based frequency of the grade's class, given the last
    visit (None: never inspected)."""
    policy, on = load_policy(), on or date.today()
    is_due, due_on = inspection_due(policy, grade, last, on)
    return {
        "due": is_due,
        "due_on": due_on.isoformat(),
        "last_inspected": last.isoformat() if last else None,
        "every_months": policy.inspection_every_months[grade],
    }


def published(session: Session, uscc: str, limit: int = 10) -> list[dict[str, Any]]:
    """The enterprise's inspections, newest first, as published (双随机、一公开): who, when, what was found."""
    rows = session.scalars(
        select(Inspection)
        .where(Inspection.uscc == uscc)
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
