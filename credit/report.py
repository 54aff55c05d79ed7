"""Credit reports (企业信用报告): an enterprise's records over a span it chooses (up to 5 years), its grade, list
flags and inspections, as a signed certificate of kind 5 (market supervision's key) that verifies by QR code
like every other certificate: same payload, same pipeline, same anchoring, same revocation.

The signed struct carries the span, the score, the number of records and the class; the full report (every
record with its digest on the enterprise's credit chain, the grade's explanation, lists) is the certificate's
detail, whose hash is signed. An inspection is one record: its credit record (检查合格 …) carries the visit
(departments, items, findings) under `inspection`, so the number of records is the number of lines on the report.
Issuing one tells the enterprise's webhooks (`certificate.issued`), as every other certificate does. The detail
carries a random 256-bit salt (as every certificate's does: zero_errand.certificates), so its hash says nothing to
someone guessing at its content.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.grading import CLASSES, TYPE_ZH, add_months
from credit.inspections import RESULTS
from credit.ledger import CreditError, CreditLedger
from credit.profile import standing
from qr.signed import Content, Domain, day_number, detail_hash, new_salt, not_earlier, sign
from store import audit
from store.models import Certificate, Enterprise, Inspection
from zero_errand import webhooks  # the one outbox every certificate event goes through

KIND, SLUG, DEPARTMENT = 5, "credit-report", "amr.440604"
MAX_SPAN_MONTHS = 60
VALIDITY_DAYS = 30
EARLIEST = date(2000, 1, 1)  # before the credit system existed; also keeps day numbers positive
INSPECTION_REFERENCE = "inspection:"  # an inspection's credit record refers to it (credit.inspections)
ITEM_ZH = {True: "合格", False: "不合格"}  # one checked item of an inspection


def make_report(credit: CreditLedger, session: Session, *, uscc: str, period_from: date, period_to: date,
                key: LocalAccount, domain: Domain, actor: str, now: datetime | None = None) -> Certificate:
    """Sign and store (ISSUED, waiting for its anchoring batch) the enterprise's credit report for the span."""
    now = not_earlier(now or datetime.now(UTC), credit.ledger.key_valid_from(key.address))
    if period_from < EARLIEST:
        raise CreditError("invalid", f"the span cannot start before {EARLIEST}", "period_from")
    if period_from > period_to:
        raise CreditError("invalid", "the span must start before it ends", "period_from")
    if period_to > now.date():
        raise CreditError("invalid", "the span cannot end in the future", "period_to")
    if period_from < add_months(period_to, -MAX_SPAN_MONTHS):
        raise CreditError("invalid", "a credit report covers at most 5 years", "period_from")
    enterprise = session.get(Enterprise, uscc)
    if enterprise is None:
        raise CreditError("not-found", f"no enterprise {uscc}", "uscc")
    profile = standing(credit, session, uscc, "owner", now.date())
    records = [r for r in profile["records"] if period_from.isoformat() <= r["decided_on"] <= period_to.isoformat()]
    _attach_inspections(session, records)
    detail = {"uscc": uscc, "name": enterprise.name, "period": [period_from.isoformat(), period_to.isoformat()],
              "grade": profile["grade"], "flags": profile["flags"], "lists": profile["lists"], "records": records,
              "salt": new_salt()}
    grade = profile["grade"]
    content = Content(kind=KIND, version=1, number=f"{KIND}{now:%Y%m%d}{secrets.randbelow(10**8):08d}", subject=uscc,
                      subjectName=enterprise.name, periodFrom=day_number(period_from), periodTo=day_number(period_to),
                      totalFen=max(0, grade["score"]), monthsPaid=min(len(records), 255),
                      monthsInArrears=CLASSES.index(grade["grade"]) + 1, detailHash=detail_hash(detail),
                      issuedAt=int(now.timestamp()), expiresOn=day_number((now + timedelta(days=VALIDITY_DAYS)).date()),
                      department=DEPARTMENT)
    digest, signature = sign(content, domain, key)
    cert = Certificate(number=content.number, kind=SLUG, version=1, owner=f"uscc:{uscc}", department=DEPARTMENT,
                       content=content.__dict__, detail=detail, digest="0x" + digest.hex(), signer=key.address,
                       signature="0x" + signature.hex(), issued_at=now.replace(microsecond=0),
                       expires_at=now + timedelta(days=VALIDITY_DAYS), state="ISSUED")
    session.add(cert)
    session.flush()
    audit.append(session, actor=actor, role="enterprise", action="credit.report", target=cert.number,
                 detail={"uscc": uscc, "digest": cert.digest})
    webhooks.enqueue(session, cert, "certificate.issued")
    return cert


def _attach_inspections(session: Session, records: list[dict[str, Any]]) -> None:
    """Give each inspection's credit record the visit it stands for, in Chinese: one line per visit."""
    uids = {r["reference"][len(INSPECTION_REFERENCE):]: r for r in records
            if r["reference"].startswith(INSPECTION_REFERENCE)}
    if not uids:
        return
    for visit in session.scalars(select(Inspection).where(Inspection.uid.in_(uids))):
        uids[visit.uid]["inspection"] = {
            "uid": visit.uid, "departments": visit.departments, "result": visit.result,
            "result_zh": TYPE_ZH[RESULTS[visit.result]], "findings": visit.findings,
            "items": [{**item, "result_zh": ITEM_ZH[bool(item.get("ok"))]} for item in visit.items],
            "digest": visit.digest, "random_draw": visit.draw_id is not None}


def summary(cert: Certificate, verify_url: str) -> dict[str, Any]:
    return {"number": cert.number, "state": cert.state, "digest": cert.digest, "verify_url": verify_url,
            "issued_at": cert.issued_at.isoformat(), "expires_at": cert.expires_at.isoformat(), "report": cert.detail}
