"""The enterprise's side of inspections (扫码入企) and what makes one due: every scan and visit recorded about it,
anonymous ratings (departments see them only aggregated), objections (异议) the department concerned answers in
time, complaints, alerts and referrals that make an inspection due, and the alerts of 无事不扰.

Ratings keep no rater and are shown to departments only per department and per inspector, in groups of at least
`MIN_GROUP`, without enterprise, visit or date, so that no rating can be traced to one visit.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.grading import load_policy
from credit.inspections import ANCHORING_DEPARTMENT, SCAN, VISIT
from credit.ledger import CreditError, CreditLedger
from store.db import begin_write
from store.models import (
    CreditRecord,
    Enterprise,
    Inspection,
    InspectionTrigger,
    Objection,
    User,
    VisitAlert,
    VisitRating,
)

MIN_GROUP = 3  # ratings shown to departments only in groups at least this large
TRIGGER_KINDS = ("complaint", "alert", "referral")


def _visit(session: Session, uscc: str, uid: str, kinds: tuple[str, ...] = (VISIT, SCAN)) -> Inspection:
    row = session.scalars(select(Inspection).where(Inspection.uid == uid, Inspection.kind.in_(kinds))).first()
    if row is None or row.uscc != uscc:  # another enterprise's visit: not even its existence is told
        raise CreditError("not-found", f"no visit {uid} of {uscc}", "visit")
    return row


def lead_department(session: Session, visit: Inspection) -> str:
    """The department that answers for a visit: market supervision when it took part (it coordinates joint
    inspections), else the department of the inspector who recorded it; a scan's, the scanning inspector's."""
    if visit.kind == SCAN or ANCHORING_DEPARTMENT not in visit.departments:
        if visit.kind == VISIT and visit.created_by.startswith("user:"):
            name = visit.created_by.removeprefix("user:")
            own = session.scalars(select(User.department).where(User.username == name)).first()
            if own is not None and own in visit.departments:
                return own
        return visit.departments[0]
    return ANCHORING_DEPARTMENT


# -- ratings ------------------------------------------------------------------------------------------------------


def rate(session: Session, *, uscc: str, uid: str, stars: int, comment: str, on: date | None = None) -> VisitRating:
    """The enterprise rates one of its inspections, once (409 on a second); who rated is not kept."""
    if not 1 <= stars <= 5:
        raise CreditError("invalid", "stars are 1 to 5", "stars")
    visit = _visit(session, uscc, uid, (VISIT,))
    begin_write(session)  # one at a time: the write lock (SQLite), the enterprise's row (PostgreSQL)
    session.scalars(select(Enterprise).where(Enterprise.uscc == uscc).with_for_update()).first()
    if session.scalars(select(VisitRating.id).where(VisitRating.inspection_id == visit.id)).first() is not None:
        raise CreditError("conflict", f"visit {uid} was rated already: one rating per visit", "visit")
    rating = VisitRating(
        inspection_id=visit.id, uscc=uscc, stars=stars, comment=comment.strip(), rated_on=on or date.today()
    )
    session.add(rating)
    session.flush()
    return rating


def _group(stars: list[int], comments: list[str]) -> dict[str, Any]:
    if len(stars) < MIN_GROUP:
        return {"suppressed": True, "min_count": MIN_GROUP}
    return {
        "suppressed": False,
        "count": len(stars),
        "mean": round(sum(stars) / len(stars), 2),
        "comments": sorted(c for c in comments if c),  # in no order that could match them to visits
    }


def ratings(session: Session, department: str) -> dict[str, Any]:
    """The ratings of visits `department` took part in, aggregated for the department and per inspector of the
    department; groups smaller than `MIN_GROUP` show no numbers."""
    rows = session.execute(
        select(VisitRating.stars, VisitRating.comment, Inspection.departments, Inspection.inspectors).join(
            Inspection, Inspection.id == VisitRating.inspection_id
        )
    ).all()
    mine = [r for r in rows if department in r.departments]
    staff = set(session.scalars(select(User.username).where(User.department == department)))
    per_inspector: dict[str, tuple[list[int], list[str]]] = defaultdict(lambda: ([], []))
    for r in mine:
        for name in r.inspectors:
            if name in staff:
                per_inspector[name][0].append(r.stars)
                per_inspector[name][1].append(r.comment)
    return {
        "department": department,
        "min_group": MIN_GROUP,
        "overall": _group([r.stars for r in mine], [r.comment for r in mine]),
        "inspectors": [{"inspector": name, **_group(*per_inspector[name])} for name in sorted(per_inspector)],
    }


# -- objections ---------------------------------------------------------------------------------------------------


def file_objection(
    credit: CreditLedger,
    session: Session,
    *,
    uscc: str,
    text: str,
    visit_uid: str | None = None,
    record_uid: str | None = None,
    actor: str,
) -> Objection:
    """The enterprise objects to one of its visits (or scans) or records: the visit's lead department or the
    record's department must answer within the rule file's `objection_answer_days`. Filing is a credit record
    ("objection_filed", written with the answering department's key)."""
    if (visit_uid is None) == (record_uid is None):
        raise CreditError("invalid", "object to one visit or one record: give visit or record", "visit")
    visit, record = None, None
    if visit_uid is not None:
        visit = _visit(session, uscc, visit_uid)
        department, about = lead_department(session, visit), f"visit:{visit.uid}"
        target = session.get(CreditRecord, visit.record_id) if visit.record_id is not None else None
    else:
        record = session.scalars(select(CreditRecord).where(CreditRecord.uid == record_uid)).first()
        if record is None or record.uscc != uscc:
            raise CreditError("not-found", f"no record {record_uid} of {uscc}", "record")
        if record.type in ("objection_filed", "objection_answered"):
            raise CreditError("invalid", "object to the visit or record itself, not to an objection", "record")
        department, about, target = record.department, f"record:{record.uid}", record
    begin_write(session)  # one at a time: the write lock (SQLite), the enterprise's row (PostgreSQL)
    session.scalars(select(Enterprise).where(Enterprise.uscc == uscc).with_for_update()).first()
    if visit is not None:
        same = Objection.inspection_id == visit.id
    else:
        assert record is not None
        same = Objection.record_id == record.id
    if (already := session.scalars(select(Objection.uid).where(same, Objection.state == "OPEN")).first()) is not None:
        raise CreditError("conflict", f"objection {already} to this is still open: it is answered first", "visit")
    now = datetime.now(UTC)
    objection = Objection(
        uid=str(uuid.uuid4()),
        uscc=uscc,
        inspection_id=visit.id if visit is not None else None,
        record_id=record.id if record is not None else None,
        department=department,
        text=text.strip(),
        filed_at=now,
        due_at=now + timedelta(days=load_policy().objection_answer_days),
        state="OPEN",
    )
    session.add(objection)
    session.flush()
    step = credit.add(
        session,
        uscc=uscc,
        type="objection_filed",
        department=department,
        decided_on=date.today(),
        summary=objection.text,
        reference=f"objection:{objection.uid}",
        target=target,
        actor=actor,
        extra={"about": about, "due_at": objection.due_at.isoformat()},
    )
    objection.filed_record_id = step.id
    return objection


def answer_objection(
    credit: CreditLedger, session: Session, *, uid: str, department: str, text: str, actor: str
) -> Objection:
    """The department the objection is for answers it, once; the answer is a credit record too."""
    found = session.scalars(select(Objection).where(Objection.uid == uid)).first()
    if found is None:
        raise CreditError("not-found", f"no objection {uid}", "objection")
    if found.department != department:
        raise CreditError(
            "forbidden", f"objection {uid} is for {found.department} to answer, not {department or 'you'}", "objection"
        )
    begin_write(session)
    session.scalars(select(Enterprise).where(Enterprise.uscc == found.uscc).with_for_update()).first()
    session.refresh(found, with_for_update=True)
    if found.state != "OPEN":
        raise CreditError("conflict", f"objection {uid} was answered on {found.answered_at:%Y-%m-%d}", "objection")
    filed = session.get(CreditRecord, found.filed_record_id) if found.filed_record_id is not None else None
    now = datetime.now(UTC)
    found.answer, found.answered_at, found.answered_by, found.state = text.strip(), now, actor, "ANSWERED"
    step = credit.add(
        session,
        uscc=found.uscc,
        type="objection_answered",
        department=department,
        decided_on=date.today(),
        summary=found.answer,
        reference=f"objection:{found.uid}",
        target=filed,
        actor=actor,
        extra={"late": now > found.due_at},
    )
    found.answer_record_id = step.id
    session.flush()
    return found


def shown_objection(o: Objection, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    return {
        "uid": o.uid,
        "department": o.department,
        "text": o.text,
        "filed_at": o.filed_at.isoformat(),
        "due_at": o.due_at.isoformat(),
        "state": o.state,
        "overdue": o.state == "OPEN" and now > o.due_at,
        "answer": o.answer,
        "answered_at": o.answered_at.isoformat() if o.answered_at else None,
        "answered_late": o.answered_at > o.due_at if o.answered_at else None,
    }


def _uids(session: Session, model: type[Inspection] | type[CreditRecord], ids: list[int | None]) -> dict[int, str]:
    """The uids of these rows, by id."""
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {k: v for k, v in session.execute(select(model.id, model.uid).where(model.id.in_(wanted))).tuples()}


def open_objections(session: Session, department: str) -> list[dict[str, Any]]:
    """The objections `department` has still to answer, the oldest (most urgent) first, overdue ones marked."""
    rows = session.scalars(
        select(Objection)
        .where(Objection.department == department, Objection.state == "OPEN")
        .order_by(Objection.due_at, Objection.id)
    ).all()
    about = _uids(session, Inspection, [r.inspection_id for r in rows])
    records = _uids(session, CreditRecord, [r.record_id for r in rows])
    return [
        {
            **shown_objection(o),
            "uscc": o.uscc,
            "visit": about.get(o.inspection_id) if o.inspection_id is not None else None,
            "record": records.get(o.record_id) if o.record_id is not None else None,
        }
        for o in rows
    ]


# -- triggers and alerts ------------------------------------------------------------------------------------------


def add_trigger(
    session: Session, *, uscc: str, kind: str, reason: str, reference: str, department: str, actor: str
) -> InspectionTrigger:
    """A department records a complaint (投诉举报), a risk alert or a referral: the enterprise is due for inspection
    until a visit closes it."""
    if kind not in TRIGGER_KINDS:
        raise CreditError("invalid", f"a trigger is one of {', '.join(TRIGGER_KINDS)}", "kind")
    if session.get(Enterprise, uscc) is None:
        raise CreditError("not-found", f"no enterprise {uscc}", "uscc")
    trigger = InspectionTrigger(
        uid=str(uuid.uuid4()),
        uscc=uscc,
        kind=kind,
        department=department,
        reason=reason.strip(),
        reference=reference,
        recorded_at=datetime.now(UTC),
        recorded_by=actor,
    )
    session.add(trigger)
    session.flush()
    return trigger


def shown_trigger(t: InspectionTrigger, closed_by: str | None = None) -> dict[str, Any]:
    return {
        "uid": t.uid,
        "uscc": t.uscc,
        "kind": t.kind,
        "department": t.department,
        "reason": t.reason,
        "reference": t.reference,
        "recorded_at": t.recorded_at.isoformat(),
        "closed_by": closed_by,
        "closed_at": t.closed_at.isoformat() if t.closed_at else None,
    }


def _alert(a: VisitAlert, visit: str | None) -> dict[str, Any]:
    return {
        "visit": visit,
        "raised_at": a.raised_at.isoformat(),
        "grade": a.grade,
        "visits": a.visits,
        "allowed": a.allowed,
        "window_from": a.window_from.isoformat(),
        "rules": a.rules_version,
    }


def alerts(session: Session, limit: int = 200) -> list[dict[str, Any]]:
    """The district's view of 无事不扰: every visit alert, newest first, with the enterprise and the visit."""
    rows = session.execute(
        select(VisitAlert, Inspection.uid, Enterprise.name)
        .join(Inspection, Inspection.id == VisitAlert.inspection_id)
        .join(Enterprise, Enterprise.uscc == VisitAlert.uscc)
        .order_by(VisitAlert.id.desc())
        .limit(limit)
    ).all()
    return [{"uscc": a.uscc, "name": name, **_alert(a, uid)} for a, uid, name in rows]


# -- the enterprise's view ----------------------------------------------------------------------------------------


def enterprise_visits(session: Session, uscc: str) -> dict[str, Any]:
    """Every scan and inspection recorded about the enterprise, newest first, with its rating, the objections to it
    and their answers, and the alerts it raised; and the objections to its records."""
    now = datetime.now(UTC)
    rows = session.scalars(
        select(Inspection)
        .where(Inspection.uscc == uscc)
        .order_by(Inspection.visited_on.desc(), Inspection.started_at.desc().nulls_last(), Inspection.id.desc())
    ).all()
    by_id = {r.id: r for r in rows}
    rated = {r.inspection_id: r for r in session.scalars(select(VisitRating).where(VisitRating.uscc == uscc))}
    objections = session.scalars(select(Objection).where(Objection.uscc == uscc).order_by(Objection.id)).all()
    raised = session.scalars(select(VisitAlert).where(VisitAlert.uscc == uscc).order_by(VisitAlert.id)).all()
    visits = []
    for r in rows:
        rating = rated.get(r.id)
        opening = by_id.get(r.scan_id) if r.scan_id is not None else None
        visits.append(
            {
                "uid": r.uid,
                "kind": r.kind,
                "visited_on": r.visited_on.isoformat(),
                "started_at": r.started_at.isoformat() if r.started_at else None,
                "ended_at": r.ended_at.isoformat() if r.ended_at else None,
                "departments": r.departments,
                "inspectors": r.inspectors,
                "purpose": r.purpose,
                "reason": r.reason,
                "emergency": r.emergency,
                "scan": opening.uid if opening is not None else None,
                "items": r.items,
                "findings": r.findings,
                "result": r.result or None,
                "digest": r.digest,
                "signature": r.signature,
                "anchored": r.state == "ANCHORED",
                "rating": {"stars": rating.stars, "comment": rating.comment, "rated_on": rating.rated_on.isoformat()}
                if rating is not None
                else None,
                "objections": [shown_objection(o, now) for o in objections if o.inspection_id == r.id],
                "alerts": [_alert(a, r.uid) for a in raised if a.inspection_id == r.id],
            }
        )
    records = _uids(session, CreditRecord, [o.record_id for o in objections])
    return {
        "uscc": uscc,
        "visits": visits,
        "record_objections": [
            {**shown_objection(o, now), "record": records.get(o.record_id)}
            for o in objections
            if o.record_id is not None
        ],
        "alerts": len(raised),
    }
