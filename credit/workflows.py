"""Department and enterprise actions on the credit ledger: records, red and black lists, credit repair.

Each action stores its step as a record in the enterprise's credit chain (so every step is on the ledger),
recomputes the grade, and leaves the chain writes to `CreditLedger.sync`, which the caller runs after commit.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.grading import RECORD_TYPES, Fact, load_policy, repair_opens
from credit.ledger import CreditError, CreditLedger
from ledger.store.models import CreditRecord, ListEntry, RepairApplication

NOT_REPAIRABLE_ZH = "该类记录不适用信用修复（由作出决定的机关依法移除）"


def record(credit: CreditLedger, session: Session, *, uscc: str, type: str, department: str, decided_on: date,
           summary: str, reference: str, amount_fen: int | None = None, evidence: list[str] | None = None,
           actor: str) -> CreditRecord:
    """A department's credit record (arrears, penalty, court entry, commendation, inspection result)."""
    if type not in RECORD_TYPES:
        raise CreditError("invalid", f"type must be one of {', '.join(RECORD_TYPES)}", "type")
    if decided_on > date.today():
        raise CreditError("invalid", "a decision cannot be dated in the future", "decided_on")
    row = credit.add(session, uscc=uscc, type=type, department=department, decided_on=decided_on, summary=summary,
                     reference=reference, amount_fen=amount_fen, evidence=evidence, actor=actor)
    credit.regrade(session, uscc)
    return row


def list_entry(credit: CreditLedger, session: Session, *, uscc: str, list_name: str, department: str,
               start_on: date, end_on: date | None, reason: str, reference: str, actor: str) -> ListEntry:
    """Put an enterprise on the red list (守信激励) or the black list (严重失信; joint punishment for all)."""
    if list_name not in ("red", "black"):
        raise CreditError("invalid", "list must be red or black", "list")
    if end_on is not None and end_on <= start_on:
        raise CreditError("invalid", "the end date must come after the start date", "end_on")
    step = credit.add(session, uscc=uscc, type=f"list_{list_name}", department=department, decided_on=start_on,
                      summary=reason, reference=reference, actor=actor,
                      extra={"end_on": end_on.isoformat() if end_on else None})
    entry = ListEntry(uscc=uscc, list=list_name, start_on=start_on, end_on=end_on, reason=reason, reference=reference,
                      department=department, joint_punishment=list_name == "black", record_id=step.id,
                      state="PENDING")
    session.add(entry)
    session.flush()
    credit.regrade(session, uscc)
    return entry


def _target(session: Session, uscc: str, record_uid: str) -> CreditRecord:
    target = session.scalars(select(CreditRecord).where(CreditRecord.uid == record_uid)).first()
    if target is None or target.uscc != uscc:
        raise CreditError("not-found", f"no record {record_uid} of {uscc}", "record")
    return target


def apply_repair(credit: CreditLedger, session: Session, *, uscc: str, record_uid: str, statement: str,
                 on: date | None = None, actor: str) -> RepairApplication:
    """The enterprise applies to repair one record; refused before the minimum display period is over."""
    on = on or date.today()
    target = _target(session, uscc, record_uid)
    opens = repair_opens(load_policy(), Fact(target.uid, target.type, target.decided_on))
    if target.type not in RECORD_TYPES or opens is None:
        raise CreditError("not-repairable", f"{NOT_REPAIRABLE_ZH} / records of type {target.type} cannot be "
                          "repaired by the department", "record")
    if target.repaired_on is not None:
        raise CreditError("conflict", f"the record was already repaired on {target.repaired_on}", "record")
    if on < opens:
        raise CreditError("too-early", f"最短公示期未满，{opens} 起可申请 / the minimum display period runs until "
                          f"{opens}: apply from then", "record")
    if session.scalars(select(RepairApplication).where(RepairApplication.record_id == target.id,
                                                       RepairApplication.state == "APPLIED")).first():
        raise CreditError("conflict", "an application for this record is already under review", "record")
    app = RepairApplication(record_id=target.id, uscc=uscc, statement=statement, state="APPLIED", applied_on=on)
    session.add(app)
    credit.add(session, uscc=uscc, type="repair_applied", department=target.department, decided_on=on,
               summary=statement, target=target, actor=actor)
    session.flush()
    return app


def review_repair(credit: CreditLedger, session: Session, *, application_id: int, approve: bool, department: str,
                  note: str, on: date | None = None, actor: str) -> RepairApplication:
    """The department that made the record decides; approval marks the record repaired and regrades."""
    on = on or date.today()
    app = session.get(RepairApplication, application_id)
    if app is None:
        raise CreditError("not-found", f"no repair application {application_id}", "application")
    target = session.get(CreditRecord, app.record_id)
    if target.department != department:
        raise CreditError("forbidden", "only the department that made the record may review its repair")
    if app.state != "APPLIED":
        raise CreditError("conflict", f"the application was already {app.state.lower()}")
    if approve:
        opens = repair_opens(load_policy(), Fact(target.uid, target.type, target.decided_on))
        if opens is None or on < opens:
            raise CreditError("too-early", f"the minimum display period runs until {opens}")
        target.repaired_on = on
    app.state, app.reviewer, app.reviewed_on, app.decision_note = \
        ("APPROVED" if approve else "REJECTED"), actor, on, note
    credit.add(session, uscc=app.uscc, type="repair_approved" if approve else "repair_rejected",
               department=department, decided_on=on, summary=note, target=target, actor=actor)
    credit.regrade(session, app.uscc, on)
    return app
