"""Credit reports (企业信用报告): an enterprise's records over a span it chooses (up to 5 years), its grade, list
flags and inspections, as a signed certificate of kind 5 (market supervision's key) that verifies by QR code
like every other certificate: same builder (zero_errand.builder, handed in by the caller), same payload, same
pipeline, same anchoring, same revocation.

The signed struct carries the span, the score, the number of records and the class; the full report (every
record with its digest on the enterprise's credit chain, the grade's explanation, lists) is the certificate's
detail, whose hash is signed. An inspection is one record: its credit record (检查合格 …) carries the visit
(departments, items, findings) under `inspection`, so the number of records is the number of lines on the report.
Issuing one tells the enterprise's webhooks (`certificate.issued`), as every other certificate does. The detail
carries a random 256-bit salt (as every certificate's does: zero_errand.certificates), so its hash says nothing to
someone guessing at its content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.grading import CLASSES, TYPE_ZH, add_months
from credit.inspections import RESULTS
from credit.ledger import CreditError, CreditLedger
from credit.profile import standing
from qr.signed import day_number
from store.models import Certificate, Enterprise, Inspection

KIND = "credit-report"  # the certificate kind (zero_errand.certificates.CertKind.CREDIT_REPORT)
MAX_SPAN_MONTHS = 60
VALIDITY_DAYS = 30
EARLIEST = date(2000, 1, 1)  # before the credit system existed; also keeps day numbers positive
INSPECTION_REFERENCE = "inspection:"  # an inspection's credit record refers to it (credit.inspections)
ITEM_ZH = {True: "合格", False: "不合格"}  # one checked item of an inspection


@dataclass(frozen=True)
class ReportDraft:
    """A credit report as the certificate builder takes any certificate (zero_errand.builder.Draft): the score,
    the number of records and the class travel where payment certificates carry money and months."""

    owner: str
    subject: str  # the USCC
    subject_name: str
    period_from: int  # day numbers
    period_to: int
    total_fen: int  # the score (never below 0)
    months_paid: int  # the number of records on the report (at most 255)
    months_in_arrears: int  # the class: 1 A, 2 B, 3 C, 4 D
    detail: dict[str, Any]  # the full report, salted
    valid_days: int = VALIDITY_DAYS


class Builder(Protocol):
    """The one certificate builder (zero_errand.builder.CertificateBuilder), handed in by the caller: credit may
    not import zero_errand (DESIGN.md §3), so the report is computed here and numbered, signed with its kind's
    department key, stored, anchored and announced there, like every certificate."""

    def issue_time(self, kind: str, now: datetime | None = None) -> datetime: ...

    def build(
        self,
        session: Session,
        kind: str,
        draft: ReportDraft,
        *,
        now: datetime,
        actor: str,
        role: str,
        action: str,
        audit_detail: dict[str, Any],
    ) -> Certificate: ...


def make_report(
    credit: CreditLedger,
    session: Session,
    *,
    uscc: str,
    period_from: date,
    period_to: date,
    builder: Builder,
    actor: str,
    now: datetime | None = None,
) -> Certificate:
    """Sign and store (ISSUED, waiting for its anchoring batch) the enterprise's credit report for the span."""
    now = builder.issue_time(KIND, now)
    draft = draft_report(credit, session, uscc=uscc, period_from=period_from, period_to=period_to, today=now.date())
    return builder.build(
        session,
        KIND,
        draft,
        now=now,
        actor=actor,
        role="enterprise",
        action="credit.report",
        audit_detail={"uscc": uscc},
    )


def draft_report(
    credit: CreditLedger, session: Session, *, uscc: str, period_from: date, period_to: date, today: date
) -> ReportDraft:
    """The enterprise's credit report over the span, as of `today`: its records, grade, flags and lists."""
    if period_from < EARLIEST:
        raise CreditError("invalid", f"the span cannot start before {EARLIEST}", "period_from")
    if period_from > period_to:
        raise CreditError("invalid", "the span must start before it ends", "period_from")
    if period_to > today:
        raise CreditError("invalid", "the span cannot end in the future", "period_to")
    if period_from < add_months(period_to, -MAX_SPAN_MONTHS):
        raise CreditError("invalid", "a credit report covers at most 5 years", "period_from")
    enterprise = session.get(Enterprise, uscc)
    profile = standing(credit, session, uscc, "owner", today) if enterprise is not None else None
    if enterprise is None or profile is None:
        raise CreditError("not-found", f"no enterprise {uscc}", "uscc")
    records = [r for r in profile["records"] if period_from.isoformat() <= r["decided_on"] <= period_to.isoformat()]
    _attach_inspections(session, records)
    detail = {
        "uscc": uscc,
        "name": enterprise.name,
        "period": [period_from.isoformat(), period_to.isoformat()],
        "grade": profile["grade"],
        "flags": profile["flags"],
        "lists": profile["lists"],
        "records": records,
    }
    grade = profile["grade"]
    return ReportDraft(
        owner=f"uscc:{uscc}",
        subject=uscc,
        subject_name=enterprise.name,
        period_from=day_number(period_from),
        period_to=day_number(period_to),
        total_fen=max(0, grade["score"]),
        months_paid=min(len(records), 255),
        months_in_arrears=CLASSES.index(grade["grade"]) + 1,
        detail=detail,
    )


def _attach_inspections(session: Session, records: list[dict[str, Any]]) -> None:
    """Give each inspection's credit record the visit it stands for, in Chinese: one line per visit."""
    uids = {
        r["reference"][len(INSPECTION_REFERENCE) :]: r
        for r in records
        if r["reference"].startswith(INSPECTION_REFERENCE)
    }
    if not uids:
        return
    for visit in session.scalars(select(Inspection).where(Inspection.uid.in_(uids))):
        uids[visit.uid]["inspection"] = {
            "uid": visit.uid,
            "departments": visit.departments,
            "result": visit.result,
            "result_zh": TYPE_ZH[RESULTS[visit.result]],
            "findings": visit.findings,
            "items": [{**item, "result_zh": ITEM_ZH[bool(item.get("ok"))]} for item in visit.items],
            "digest": visit.digest,
            "random_draw": visit.draw_id is not None,
        }


def summary(cert: Certificate, verify_url: str) -> dict[str, Any]:
    """The report as the API gives it: its fields by the kind's schema (kinds/standard/credit-report.json: the span,
    grade, score, record count and lists, then the records and the grade's basis) and the detail's salt; a report
    issued before the kinds were schemas gives its detail as it was."""
    report = cert.detail
    if "schema" in cert.content:
        report = {**cert.content["values"], **cert.detail["fields"], "salt": cert.detail["salt"]}
    return {
        "number": cert.number,
        "state": cert.state,
        "digest": cert.digest,
        "verify_url": verify_url,
        "issued_at": cert.issued_at.isoformat(),
        "expires_at": cert.expires_at.isoformat(),
        "report": report,
    }
