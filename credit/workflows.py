"""Department and enterprise actions on the credit ledger: records, red and black lists, credit repair.

Each action stores its step as a record in the enterprise's credit chain (so every step is on the ledger),
recomputes the grade, and leaves the chain writes to `CreditLedger.sync`, which the caller runs after commit.

Who may do what is settled here, before anything is stored, as CreditRegistry will settle it on chain: a department
writes only the record kinds it was admitted for (`CreditLedger.check_scope`), a list entry is changed or ended only
by the department that made it, and a record's repair is decided by the department that recorded it (谁认定、谁修复).
An approved repair withdraws the record from what is published and shared from its repair day on
(credit.grading.on_display), and reports mark it 已修复.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.grading import RECORD_TYPES, Fact, load_policy, repair_opens
from credit.ledger import CreditError, CreditLedger
from store.models import CreditRecord, Enterprise, ListEntry, RepairApplication

NOT_REPAIRABLE_ZH = "该类记录不适用信用修复（由作出决定的机关依法移除）"
# The credit promise (信用承诺) an applicant makes (NDRC Order No. 36): the material is true, and it answers for a
# broken promise. Recorded on the application's chain step.
PROMISE_ZH = "本主体承诺所提交材料真实有效，已纠正失信行为、履行相关义务，愿意承担违反承诺的相应责任。"
PROMISE_EN = (
    "We promise that the material we submit is true and complete, that we have corrected the wrong and met our "
    "obligations, and that we will bear the consequences of breaking this promise."
)


def record(
    credit: CreditLedger,
    session: Session,
    *,
    uscc: str,
    type: str,
    department: str,
    decided_on: date,
    summary: str,
    reference: str,
    amount_fen: int | None = None,
    evidence: list[str] | None = None,
    actor: str,
) -> CreditRecord:
    """A department's credit record (arrears, penalty, court entry, commendation, inspection result)."""
    if type not in RECORD_TYPES:
        raise CreditError("invalid", f"type must be one of {', '.join(RECORD_TYPES)}", "type")
    if decided_on > date.today():
        raise CreditError("invalid", "a decision cannot be dated in the future", "decided_on")
    row = credit.add(
        session,
        uscc=uscc,
        type=type,
        department=department,
        decided_on=decided_on,
        summary=summary,
        reference=reference,
        amount_fen=amount_fen,
        evidence=evidence,
        actor=actor,
    )
    credit.regrade(session, uscc)
    return row


def _holds(entry: ListEntry, today: date) -> bool:
    """Whether the entry still holds its list on chain. The registry ends a black-list window at midnight UTC of
    its end day, which in China is 08:00 of that day, so the end day itself still counts."""
    return entry.end_on is None or entry.end_on >= today


def list_entry(
    credit: CreditLedger,
    session: Session,
    *,
    uscc: str,
    list_name: str,
    department: str,
    start_on: date,
    end_on: date | None,
    reason: str,
    reference: str,
    actor: str,
) -> ListEntry:
    """Put an enterprise on the red list (守信激励) or the black list (严重失信; joint punishment for all).

    CreditRegistry keeps one entry per list and subject, owned by the department that made it: while another
    department's entry of the same list has not ended, a new one would change it, and is refused."""
    if list_name not in ("red", "black"):
        raise CreditError("invalid", "list must be red or black", "list")
    if end_on is not None and end_on <= start_on:
        raise CreditError("invalid", "the end date must come after the start date", "end_on")
    credit.check_scope(department, f"list_{list_name}")
    # The enterprise's row is locked first, so two departments listing it at once are checked one after the other.
    if session.scalars(select(Enterprise).where(Enterprise.uscc == uscc).with_for_update()).first() is None:
        raise CreditError("not-found", f"no enterprise {uscc}", "uscc")
    today = date.today()
    others = session.scalars(
        select(ListEntry)
        .where(ListEntry.uscc == uscc, ListEntry.list == list_name, ListEntry.department != department)
        .order_by(ListEntry.id)
    ).all()
    for other in others:
        if _holds(other, today):
            raise CreditError(
                "forbidden",
                f"the {list_name} list entry {other.id} of {uscc} was made by "
                f"{other.department} and has not ended: only {other.department} changes or ends it",
                "list",
            )
        if list_name == "red" and other.state != "ENDED":
            other.state = "PENDING"  # its department clears the red flag on chain before this one sets it
    step = credit.add(
        session,
        uscc=uscc,
        type=f"list_{list_name}",
        department=department,
        decided_on=start_on,
        summary=reason,
        reference=reference,
        actor=actor,
        extra={"end_on": end_on.isoformat() if end_on else None},
    )
    entry = ListEntry(
        uscc=uscc,
        list=list_name,
        start_on=start_on,
        end_on=end_on,
        reason=reason,
        reference=reference,
        department=department,
        joint_punishment=list_name == "black",
        record_id=step.id,
        state="PENDING",
    )
    session.add(entry)
    session.flush()
    credit.regrade(session, uscc)
    return entry


def end_list_entry(
    credit: CreditLedger,
    session: Session,
    *,
    entry_id: int,
    department: str,
    end_on: date | None = None,
    reason: str,
    reference: str = "",
    actor: str,
) -> ListEntry:
    """End a list entry on `end_on` (default today; an entry not yet started can be ended on its first day, so
    it never holds). Only the department that made the entry ends it; the step is a record on the chain."""
    today = date.today()
    end_on = end_on or today
    found = session.get(ListEntry, entry_id)
    if found is None:
        raise CreditError("not-found", f"no list entry {entry_id}", "entry")
    # The enterprise's row first, as list_entry locks it: one lock order, so the two never deadlock.
    session.scalars(select(Enterprise).where(Enterprise.uscc == found.uscc).with_for_update()).first()
    entry = session.get(ListEntry, entry_id, with_for_update=True, populate_existing=True)
    assert entry is not None
    if entry.department != department:
        raise CreditError(
            "forbidden",
            f"the {entry.list} list entry {entry.id} of {entry.uscc} was made by "
            f"{entry.department}: only {entry.department} changes or ends it (谁认定、谁修复)",
            "entry",
        )
    if entry.end_on is not None and entry.end_on <= today:
        raise CreditError("conflict", f"the entry already ended on {entry.end_on}", "entry")
    if end_on < max(today, entry.start_on):
        raise CreditError("invalid", "an entry ends today or later, and not before it starts", "end_on")
    if entry.end_on is not None and end_on >= entry.end_on:
        raise CreditError(
            "invalid", f"the entry already ends on {entry.end_on}: ending it moves that earlier", "end_on"
        )
    made = session.get(CreditRecord, entry.record_id) if entry.record_id is not None else None
    step = credit.add(
        session,
        uscc=entry.uscc,
        type=f"list_{entry.list}_end",
        department=department,
        decided_on=today,
        summary=reason,
        reference=reference,
        target=made,
        actor=actor,
        extra={"end_on": end_on.isoformat()},
    )
    entry.end_on, entry.record_id = end_on, step.id  # the end decision is now the basis of its chain write
    if entry.list == "black" or end_on <= today:
        entry.state = "PENDING"  # a red entry ending later is queued by the day's refresh
    session.flush()
    credit.regrade(session, entry.uscc)
    return entry


def _target(session: Session, uscc: str, record_uid: str) -> CreditRecord:
    target = session.scalars(select(CreditRecord).where(CreditRecord.uid == record_uid)).first()
    if target is None or target.uscc != uscc:
        raise CreditError("not-found", f"no record {record_uid} of {uscc}", "record")
    return target


def apply_repair(
    credit: CreditLedger,
    session: Session,
    *,
    uscc: str,
    record_uid: str,
    statement: str,
    corrected: str,
    promise: bool,
    on: date | None = None,
    actor: str,
) -> RepairApplication:
    """The enterprise applies to repair one record (《信用修复管理办法》, NDRC Order No. 36): only once the record's
    minimum display period is over (`too-early`), saying how the wrong was corrected and its obligations met
    (`corrected`, else `not-corrected`), and making the credit promise (信用承诺, `PROMISE_ZH`: `promise` true, else
    `no-promise`). The correction and the promise are on the application's chain step; the department that made
    the record reviews it (谁认定、谁修复)."""
    on = on or date.today()
    target = _target(session, uscc, record_uid)
    opens = repair_opens(load_policy(), Fact(target.uid, target.type, target.decided_on))
    if target.type not in RECORD_TYPES or opens is None:
        raise CreditError(
            "not-repairable",
            f"{NOT_REPAIRABLE_ZH} / records of type {target.type} cannot be repaired by the department",
            "record",
        )
    if target.repaired_on is not None:
        raise CreditError("conflict", f"the record was already repaired on {target.repaired_on}", "record")
    if on < opens:
        raise CreditError(
            "too-early",
            f"最短公示期未满，{opens} 起可申请 / the minimum display period runs until {opens}: apply from then",
            "record",
        )
    if not corrected.strip():
        raise CreditError(
            "not-corrected",
            "须说明失信行为已纠正、相关义务已履行 / say how the wrong was corrected and the obligations met",
            "corrected",
        )
    if promise is not True:
        raise CreditError(
            "no-promise",
            f"须作出信用承诺 / the credit promise is required: {PROMISE_ZH} / {PROMISE_EN}",
            "promise",
        )
    if session.scalars(
        select(RepairApplication).where(RepairApplication.record_id == target.id, RepairApplication.state == "APPLIED")
    ).first():
        raise CreditError("conflict", "an application for this record is already under review", "record")
    app = RepairApplication(record_id=target.id, uscc=uscc, statement=statement, state="APPLIED", applied_on=on)
    session.add(app)
    credit.add(
        session,
        uscc=uscc,
        type="repair_applied",
        department=target.department,
        decided_on=on,
        summary=statement,
        target=target,
        actor=actor,
        extra={"corrected": corrected.strip(), "promise": PROMISE_ZH},
    )
    session.flush()
    return app


def review_repair(
    credit: CreditLedger,
    session: Session,
    *,
    application_id: int,
    approve: bool,
    department: str,
    note: str,
    on: date | None = None,
    actor: str,
) -> RepairApplication:
    """The department that made the record decides; approval marks the record repaired and regrades."""
    on = on or date.today()
    app = session.get(RepairApplication, application_id)
    if app is None:
        raise CreditError("not-found", f"no repair application {application_id}", "application")
    target = session.get_one(CreditRecord, app.record_id)
    if target.department != department:
        raise CreditError("forbidden", "only the department that made the record may review its repair")
    if app.state != "APPLIED":
        raise CreditError("conflict", f"the application was already {app.state.lower()}")
    if approve:
        opens = repair_opens(load_policy(), Fact(target.uid, target.type, target.decided_on))
        if opens is None or on < opens:
            raise CreditError("too-early", f"the minimum display period runs until {opens}")
        target.repaired_on = on
    app.state, app.reviewer, app.reviewed_on, app.decision_note = (
        ("APPROVED" if approve else "REJECTED"),
        actor,
        on,
        note,
    )
    credit.add(
        session,
        uscc=app.uscc,
        type="repair_approved" if approve else "repair_rejected",
        department=department,
        decided_on=on,
        summary=note,
        target=target,
        actor=actor,
    )
    credit.regrade(session, app.uscc, on)
    return app
