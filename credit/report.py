"""Credit reports (企业信用报告) in the shape that replaces compliance certificates (信用代证): an enterprise's
records over a span it chooses (up to 5 years) by category (administrative penalties, coercive measures,
serious-dishonesty list entries, dishonest-debtor entries, arrears, inspections, commendations), repaired items
marked 已修复, the list entries that held during the span (ended ones included), and the grades as they stood at the
span's end: market supervision's risk class (`CreditLedger.grade_on(period_to)`) and beside it the tax bureau's
纳税缴费信用 grade (credit.tax_credit), not the grades of the day the report is made.

It is a signed certificate of kind 5 (market supervision's key) that verifies by QR code like every other
certificate: same builder (zero_errand.builder, handed in by the caller), same payload, same pipeline, same
anchoring, same revocation. It is issued under the latest version of its kind's schema (kinds/standard/
credit-report.v2.json; zero_errand.standard_kinds maps this draft to its fields). The QR code carries the span, the
risk class, the score, the number of records and the tax credit grade (a "none" value when the tax bureau has not
graded the enterprise), all as of the span's end; the fields outside it are the certificate's salted detail, whose
hash is signed: the lists at the span's end, the categories with their counts (and whether the district keeps
them), the records each with its category and its 已修复 marker, the list entries that held during the span, the
risk class's basis. Reports issued under version 1 (credit-report.json: no categories, tax grade or list entries)
keep verifying under it.

An inspection is one record: its credit record (检查合格 …) carries the visit (departments, items, findings) under
`inspection`, so the number of records is the number of lines on the report. Issuing one tells the enterprise's
webhooks (`certificate.issued`), as every other certificate does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.grading import (
    CLASSES,
    RECORD_TYPES,
    TYPE_EN,
    TYPE_ZH,
    Fact,
    Policy,
    add_months,
    displayed_until,
    load_policy,
    on_display,
)
from credit.inspections import RESULTS
from credit.ledger import CreditError, CreditLedger
from credit.tax_credit import tax_grade_on
from qr.signed import day_number
from store.models import Certificate, CreditRecord, Enterprise, Inspection, ListEntry

KIND = "credit-report"  # the certificate kind (zero_errand.certificates.CertKind.CREDIT_REPORT)
MAX_SPAN_MONTHS = 60
VALIDITY_DAYS = 30
EARLIEST = date(2000, 1, 1)  # before the credit system existed; also keeps day numbers positive
INSPECTION_REFERENCE = "inspection:"  # an inspection's credit record refers to it (credit.inspections)
ITEM_ZH = {True: "合格", False: "不合格"}  # one checked item of an inspection
REPAIRED_ZH = "已修复"
LIST_ZH = {"red": "红名单", "black": "严重失信主体名单（黑名单）"}
# The report's sections (信用代证): key, Chinese, English. Each record type belongs to exactly one.
CATEGORIES = (
    ("administrative_penalties", "行政处罚信息", "Administrative penalties"),
    ("coercive_measures", "行政强制措施信息", "Administrative coercive measures"),
    ("serious_dishonesty", "严重失信主体名单信息", "Serious-dishonesty list entries"),
    ("dishonest_debtor", "失信被执行人信息", "Dishonest judgment debtor entries"),
    ("arrears", "欠缴税费信息", "Tax and social-insurance arrears"),
    ("inspections", "检查结果信息", "Inspection results"),
    ("commendations", "表彰奖励信息", "Commendations"),
)
CATEGORY_OF = {
    "penalty_minor": "administrative_penalties",
    "penalty_general": "administrative_penalties",
    "penalty_serious": "administrative_penalties",
    "dishonest_debtor": "dishonest_debtor",
    "coercive_measure": "coercive_measures",
    "tax_arrears": "arrears",
    "si_arrears": "arrears",
    "inspection_pass": "inspections",
    "inspection_issues": "inspections",
    "inspection_fail": "inspections",
    "commendation": "commendations",
}
assert set(CATEGORY_OF) == set(RECORD_TYPES) and set(CATEGORY_OF.values()) <= {k for k, _, _ in CATEGORIES}


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
    """The enterprise's credit report over the span, made on `today`: its records in the span by category, the list
    entries that held during it, and its grades as they stood at the span's end (`period_to`), not on `today`."""
    if period_from < EARLIEST:
        raise CreditError("invalid", f"the span cannot start before {EARLIEST}", "period_from")
    if period_from > period_to:
        raise CreditError("invalid", "the span must start before it ends", "period_from")
    if period_to > today:
        raise CreditError("invalid", "the span cannot end in the future", "period_to")
    if period_from < add_months(period_to, -MAX_SPAN_MONTHS):
        raise CreditError("invalid", "a credit report covers at most 5 years", "period_from")
    enterprise = session.get(Enterprise, uscc)
    if enterprise is None:
        raise CreditError("not-found", f"no enterprise {uscc}", "uscc")
    policy = load_policy()
    rows = session.scalars(
        select(CreditRecord)
        .where(
            CreditRecord.uscc == uscc,
            CreditRecord.type.in_(RECORD_TYPES),
            CreditRecord.decided_on >= period_from,
            CreditRecord.decided_on <= period_to,
        )
        .order_by(CreditRecord.decided_on.desc(), CreditRecord.seq.desc())
    ).all()
    records = [_line(policy, r, period_to) for r in rows]
    _attach_inspections(session, records)
    at_end = credit.grade_on(session, uscc, period_to)
    grade = {
        "grade": at_end.grade,
        "score": at_end.score,
        "rules": at_end.rules_version,
        "as_of": period_to.isoformat(),
        "explanation": at_end.explanation,
    }
    lists = _lists_in_span(session, uscc, period_from, period_to)
    detail = {
        "uscc": uscc,
        "name": enterprise.name,
        "period": [period_from.isoformat(), period_to.isoformat()],
        "made_on": today.isoformat(),
        "grade": grade,  # market supervision's risk class at the span's end
        "tax_credit": tax_grade_on(session, uscc, period_to),  # the tax bureau's own grade at the span's end
        "flags": credit.flags(session, uscc, period_to),
        "lists": lists,
        "records": records,
        "categories": _categories(records, lists),
    }
    return ReportDraft(
        owner=f"uscc:{uscc}",
        subject=uscc,
        subject_name=enterprise.name,
        period_from=day_number(period_from),
        period_to=day_number(period_to),
        total_fen=max(0, at_end.score),
        months_paid=min(len(records), 255),
        months_in_arrears=CLASSES.index(at_end.grade) + 1,
        detail=detail,
    )


def _line(policy: Policy, r: CreditRecord, end: date) -> dict[str, Any]:
    """One record on the report: what the enterprise's own view shows of it (credit.profile), whether it was in
    force at the span's end, and 已修复 with its day when it has been repaired (by the day the report is made)."""
    fact = Fact(r.uid, r.type, r.decided_on, r.repaired_on)
    until = displayed_until(policy, fact)
    return {
        "uid": r.uid,
        "type": r.type,
        "type_zh": TYPE_ZH[r.type],
        "type_en": TYPE_EN[r.type],
        "category": CATEGORY_OF[r.type],
        "department": r.department,
        "decided_on": r.decided_on.isoformat(),
        "summary": r.public.get("summary", ""),
        "reference": r.public.get("reference", ""),
        "amount_fen": r.public.get("amount_fen"),
        "displayed_until": until.isoformat() if until else None,
        "on_display": on_display(policy, fact, end),
        "repaired": r.repaired_on is not None,
        "repaired_on": r.repaired_on.isoformat() if r.repaired_on else None,
        "status_zh": REPAIRED_ZH if r.repaired_on else "",
        "digest": r.digest,
        "on_chain": r.state == "APPENDED",
    }


def _lists_in_span(session: Session, uscc: str, start: date, end: date) -> list[dict[str, Any]]:
    """Every red and black list entry that held on some day of the span, ended ones included, oldest first (an
    entry holds from its start day until the day before its end day: credit.ledger.active_entries)."""
    entries = session.scalars(
        select(ListEntry).where(ListEntry.uscc == uscc, ListEntry.start_on <= end).order_by(ListEntry.start_on)
    ).all()
    return [
        {
            "list": e.list,
            "list_zh": LIST_ZH[e.list],
            "start_on": e.start_on.isoformat(),
            "end_on": e.end_on.isoformat() if e.end_on else None,
            "in_force_at_end": e.end_on is None or end < e.end_on,
            "reason": e.reason,
            "reference": e.reference,
            "joint_punishment": e.joint_punishment,
            "department": e.department,
        }
        for e in entries
        if e.end_on is None or (start < e.end_on and e.start_on < e.end_on)  # ended before it started: cleared
    ]


def _categories(records: list[dict[str, Any]], lists: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The report's sections, as a credit report in place of compliance certificates (信用代证) reads: each with its
    Chinese and English title and its items (a category the district does not keep says so)."""
    out = []
    for key, zh, en in CATEGORIES:
        section: dict[str, Any] = {"key": key, "zh": zh, "en": en}
        if key == "serious_dishonesty":
            section["items"] = [e for e in lists if e["list"] == "black"]
        else:
            section["items"] = [r for r in records if r["category"] == key]
        out.append(section)
    return out


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
    """The report as the API gives it: its fields by the schema it was issued under (kinds/standard/: the span, the
    grades, score and record count, and under version 2 the categories, the records with their category and 已修复,
    and the span's list entries) and the detail's salt; a report issued before the kinds were schemas gives its
    detail as it was."""
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
