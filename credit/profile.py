"""An enterprise's standing as each audience may see it: the public (grade, list flags, records on display,
published inspections), the enterprise itself (every record, repaired ones marked, with the grade's explanation),
and inspectors (the public view plus whether an inspection is due: by the schedule, or because a complaint, alert or
referral is open, with the reasons). Scans (扫码入企) are not inspections: no audience sees them here (the enterprise
sees its own through credit.visits)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit import inspections
from credit.grading import RECORD_TYPES, TYPE_ZH, Fact, displayed_until, load_policy, on_display, published
from credit.ledger import CreditLedger, active_entries, list_flags
from credit.tax_credit import tax_grade_on
from store.models import CreditRecord, Enterprise, RepairApplication

Audience = Literal["public", "owner", "inspector", "department"]


def _record(r: CreditRecord, on: date) -> dict[str, Any]:
    policy = load_policy()
    fact = Fact(r.uid, r.type, r.decided_on, r.repaired_on)
    until = displayed_until(policy, fact)
    return {
        "uid": r.uid,
        "type": r.type,
        "type_zh": TYPE_ZH[r.type],
        "department": r.department,
        "decided_on": r.decided_on.isoformat(),
        "summary": r.public.get("summary", ""),
        "reference": r.public.get("reference", ""),
        "amount_fen": r.public.get("amount_fen"),
        "displayed_until": until.isoformat() if until else None,
        "on_display": on_display(policy, fact, on),
        # a minor record (NDRC Order No. 36) counts and departments see it, but it is in principle not published
        "published": published(policy, fact, on),
        "tier": policy.tiers.get(r.type),  # minor | general | serious, None when untiered
        "repaired_on": r.repaired_on.isoformat() if r.repaired_on else None,
        "status_zh": "已修复" if r.repaired_on else None,
        "digest": r.digest,
        "on_chain": r.state == "APPENDED",
    }


def standing(
    credit: CreditLedger,
    session: Session,
    uscc: str,
    audience: Audience,
    on: date | None = None,
    department: str | None = None,
) -> dict[str, Any] | None:
    """None when there is no such enterprise. The public sees records published (a minor record never is);
    inspectors see records on display; a department sees every record except another department's repaired ones
    (a repaired record is withdrawn from what is shared: only `department`, the one that recorded it, still sees
    it); the enterprise sees all of its own, repaired ones marked 已修复."""
    on = on or date.today()
    enterprise = session.get(Enterprise, uscc)
    if enterprise is None:
        return None
    # never graded (nothing recorded yet): the grade the rules give, shown without writing it
    grade = credit.current_grade(session, uscc) or credit.grade_on(session, uscc, on)
    records = session.scalars(
        select(CreditRecord)
        .where(CreditRecord.uscc == uscc, CreditRecord.type.in_(RECORD_TYPES))
        .order_by(CreditRecord.decided_on.desc(), CreditRecord.seq.desc())
    ).all()
    shown = [_record(r, on) for r in records]
    if audience == "public":
        shown = [r for r in shown if r["published"]]
    elif audience == "inspector":
        shown = [r for r in shown if r["on_display"]]
    elif audience == "department":
        shown = [r for r in shown if r["repaired_on"] is None or r["department"] == department]
    active = active_entries(session, uscc, on)
    lists = [
        {
            "list": e.list,
            "start_on": e.start_on.isoformat(),
            "end_on": e.end_on.isoformat() if e.end_on else None,
            "reason": e.reason,
            "joint_punishment": e.joint_punishment,
            "department": e.department,
        }
        for e in active
    ]
    visits = inspections.published(session, uscc)
    out: dict[str, Any] = {
        "uscc": enterprise.uscc,
        "name": enterprise.name,
        "region": enterprise.region,
        "grade": {
            "grade": grade.grade,
            "score": grade.score,
            "rules": grade.rules_version,
            "as_of": grade.computed_at.date().isoformat(),
            "on_chain": grade.state in ("WRITTEN",),
        },
        "flags": list_flags(active),
        "lists": lists,
        "records": shown,
        "inspections": visits,
    }
    if audience != "public":
        out["grade"]["explanation"] = grade.explanation
        # the tax bureau's 纳税缴费信用 grade, its own beside the risk class (None: not graded)
        out["tax_credit"] = tax_grade_on(session, uscc, on)
    if audience in ("inspector", "department"):
        # `visits` is newest first (inspections only, never scans); an enterprise never visited has none
        last = date.fromisoformat(visits[0]["visited_on"]) if visits else None
        out["inspection"] = inspections.due(last, grade.grade, on, inspections.open_triggers(session, uscc))
    if audience in ("owner", "department"):
        # the enterprise sees all its applications; a department only those about its own records (who reviews
        # them): another department's repaired record is withdrawn from what it is shown, applications included
        query = (
            select(RepairApplication, CreditRecord.uid)
            .join(CreditRecord, CreditRecord.id == RepairApplication.record_id)
            .where(RepairApplication.uscc == uscc)
            .order_by(RepairApplication.id)
        )
        if audience == "department":
            query = query.where(CreditRecord.department == department)
        out["repairs"] = [
            {
                "id": a.id,
                "record": record_uid,
                "state": a.state,
                "applied_on": a.applied_on.isoformat(),
                "statement": a.statement,
                "reviewed_on": a.reviewed_on.isoformat() if a.reviewed_on else None,
                "decision_note": a.decision_note,
            }
            for a, record_uid in session.execute(query).tuples()
        ]
    return out
