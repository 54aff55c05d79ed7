"""The tax bureau's 纳税缴费信用 grade (tax and fee payment credit, social-insurance fees included; STA notice 2025
No. 12, in force 2025-07-01): A, B, M, C or D per enterprise and year, M for an enterprise newly set up or without
business income in the year.

It is the tax bureau's own grade, kept beside market supervision's risk class A–D (credit.grading): only the tax
department records it (the credit scope TAX, checked before anything is stored), it is a step on the enterprise's
credit chain (`tax_credit_grade`, its grade and year in the record), and it is never an input of the risk class,
nor does the risk class change it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.ledger import CreditError, CreditLedger
from store.models import TaxCreditGrade

STEP = "tax_credit_grade"  # its record type on the credit chain (credit.ledger.STEP_TYPES)
GRADES = ("A", "B", "M", "C", "D")
LABEL_ZH = {g: f"纳税缴费信用 {g} 级" for g in GRADES} | {"M": "纳税缴费信用 M 级（新设立或无生产经营收入）"}
LABEL_EN = {g: f"Tax and fee payment credit grade {g}" for g in GRADES} | {
    "M": "Tax and fee payment credit grade M (newly set up, or no business income)"
}
FIRST_YEAR = 2000  # before the credit system existed (credit.report.EARLIEST): an earlier year is a typo


def record_tax_grade(
    credit: CreditLedger,
    session: Session,
    *,
    uscc: str,
    year: int,
    grade: str,
    department: str,
    decided_on: date,
    actor: str,
) -> TaxCreditGrade:
    """The tax bureau's grade of `uscc` for `year`, decided on `decided_on`: stored, and its record added to the
    enterprise's credit chain. Refused (`forbidden`, nothing stored) for a department not admitted for the tax
    scope. A later decision for the same year (a re-assessment) supersedes the earlier one in `tax_grade_on`."""
    credit.check_scope(department, STEP)
    grade = grade.strip().upper()
    if grade not in GRADES:
        raise CreditError("invalid", f"the tax credit grade is one of {', '.join(GRADES)}", "grade")
    if decided_on > date.today():
        raise CreditError("invalid", "a decision cannot be dated in the future", "decided_on")
    if not FIRST_YEAR <= year <= decided_on.year:
        raise CreditError(
            "invalid", f"the year graded runs from {FIRST_YEAR} to the year of the decision ({decided_on.year})", "year"
        )
    step = credit.add(
        session,
        uscc=uscc,
        type=STEP,
        department=department,
        decided_on=decided_on,
        summary=f"{year} 年度{LABEL_ZH[grade]}",
        actor=actor,
        extra={"grade": grade, "year": year},
    )
    row = TaxCreditGrade(
        uscc=uscc,
        year=year,
        grade=grade,
        decided_on=decided_on,
        department=department,
        record_id=step.id,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return row


def tax_grade_on(session: Session, uscc: str, on: date) -> dict[str, Any] | None:
    """The tax credit grade in force on `on`: the latest decided on or before it (None if there is none)."""
    row = session.scalars(
        select(TaxCreditGrade)
        .where(TaxCreditGrade.uscc == uscc, TaxCreditGrade.decided_on <= on)
        .order_by(TaxCreditGrade.decided_on.desc(), TaxCreditGrade.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return {
        "grade": row.grade,
        "year": row.year,
        "decided_on": row.decided_on.isoformat(),
        "department": row.department,
        "label": {"zh": LABEL_ZH[row.grade], "en": LABEL_EN[row.grade]},
    }
