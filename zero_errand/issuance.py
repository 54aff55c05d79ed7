"""Issuing certificates: department data in, a signed certificate out (zero_errand.builder), queued for anchoring.

Arrears policy: a certificate states the months in arrears (a per-month status in its breakdown and a
count in the signed content) instead of being refused. That is what tax and social-insurance bureaus print
on payment and contribution certificates: the certificate attests what was paid, and the reader sees the
gaps. Only a period with no records at all is refused (there is nothing to certify).
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from eth_account.signers.local import LocalAccount
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import errors
from qr.payload import mask_id_number  # the QR subject shows the first 4 digits only
from qr.signed import not_earlier
from store.models import Certificate, Enterprise, Person, SiContribution, TaxRecord
from store.pii import Pii
from zero_errand.builder import Fields, build_certificate
from zero_errand.certificates import CertKind, Domain, day_number, salted_detail

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MAX_MONTHS = 60


class IssuanceError(errors.ZelError):
    """A certificate request that cannot be met; `kind` (its `code`) picks the problem type."""

    def __init__(self, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message, code=kind, field=field)
        self.kind = kind


@dataclass(frozen=True)
class Subject:
    """Who a certificate is about: a person (store id) or an enterprise (USCC)."""

    person_id: int | None = None
    uscc: str | None = None

    @property
    def owner(self) -> str:
        return f"person:{self.person_id}" if self.person_id is not None else f"uscc:{self.uscc}"


class TaxSource(Protocol):
    """Reads tax records from the tax bureau (the built-in adapter reads our store)."""

    def records(self, session: Session, subject: Subject, months: list[str]) -> list[dict[str, Any]]: ...


class SocialInsuranceSource(Protocol):
    """Reads social-insurance contributions from the social-insurance bureau."""

    def by_person(self, session: Session, person_id: int, months: list[str]) -> list[dict[str, Any]]: ...

    def by_employer(self, session: Session, uscc: str, months: list[str]) -> list[dict[str, Any]]: ...


class StoreTaxSource:
    def records(self, session: Session, subject: Subject, months: list[str]) -> list[dict[str, Any]]:
        q = select(TaxRecord).where(TaxRecord.period.in_(months))
        q = (
            q.where(TaxRecord.person_id == subject.person_id)
            if subject.person_id is not None
            else q.where(TaxRecord.uscc == subject.uscc)
        )
        return [
            {"period": r.period, "tax_type": r.tax_type, "amount_fen": r.amount_fen, "status": r.status}
            for r in session.scalars(q.order_by(TaxRecord.period, TaxRecord.tax_type, TaxRecord.id))
        ]


class StoreSocialInsuranceSource:
    def by_person(self, session: Session, person_id: int, months: list[str]) -> list[dict[str, Any]]:
        q = select(SiContribution).where(SiContribution.person_id == person_id, SiContribution.month.in_(months))
        return [_si_row(r) for r in session.scalars(q.order_by(SiContribution.month, SiContribution.insurance))]

    def by_employer(self, session: Session, uscc: str, months: list[str]) -> list[dict[str, Any]]:
        q = select(SiContribution).where(SiContribution.employer_uscc == uscc, SiContribution.month.in_(months))
        return [_si_row(r) | {"person": r.person_id} for r in session.scalars(q.order_by(SiContribution.month))]


def _si_row(r: SiContribution) -> dict[str, Any]:
    return {
        "month": r.month,
        "insurance": r.insurance,
        "employer": r.employer_uscc,
        "base_fen": r.base_fen,
        "amount_fen": r.amount_fen,
        "status": r.status,
    }


def month_range(start: str, end: str) -> list[str]:
    """Every month from `start` to `end` inclusive (YYYY-MM), at most five years."""
    for name, value in (("period_from", start), ("period_to", end)):
        if not MONTH.match(value):
            raise IssuanceError("invalid", f"{value!r} is not a month (YYYY-MM)", name)
    y, m = int(start[:4]), int(start[5:])
    months = []
    while f"{y:04d}-{m:02d}" <= end:
        months.append(f"{y:04d}-{m:02d}")
        m += 1
        if m == 13:
            y, m = y + 1, 1
        if len(months) > MAX_MONTHS:
            raise IssuanceError("invalid", f"a certificate covers at most {MAX_MONTHS} months", "period_to")
    if not months:
        raise IssuanceError("invalid", "period_to precedes period_from", "period_to")
    return months


def _employer_lines(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per month: people insured, the amount actually paid, and arrears if any contribution is unpaid."""
    per_month: dict[str, dict[str, Any]] = {}
    for r in rows:
        line = per_month.setdefault(
            r["month"], {"month": r["month"], "insured": set(), "amount_fen": 0, "status": "paid"}
        )
        line["insured"].add(r["person"])
        if r["status"] == "paid":
            line["amount_fen"] += r["amount_fen"]
        else:
            line["status"] = "arrears"
    return [{**v, "insured": len(v["insured"])} for _, v in sorted(per_month.items())]


def _summarise(
    kind: CertKind, session: Session, subject: Subject, months: list[str], tax: TaxSource, si: SocialInsuranceSource
) -> tuple[list[dict[str, Any]], int, int, int]:
    """(detail lines, total paid in fen, months fully paid, months in arrears)."""
    if kind in (CertKind.TAX_INDIVIDUAL, CertKind.TAX_ENTERPRISE):
        detail, key = tax.records(session, subject, months), "period"
    elif kind is CertKind.SI_INDIVIDUAL:
        detail, key = si.by_person(session, subject.person_id or 0, months), "month"
    else:
        detail, key = _employer_lines(si.by_employer(session, subject.uscc or "", months)), "month"
    status_of: defaultdict[str, set[str]] = defaultdict(set)
    for line in detail:
        status_of[line[key]].add(line["status"])
    # Employer lines already hold only what was paid, including the paid part of a month in arrears.
    total = sum(line["amount_fen"] for line in detail if kind is CertKind.SI_ENTERPRISE or line["status"] == "paid")
    arrears = sum(1 for statuses in status_of.values() if "arrears" in statuses)
    return detail, total, len(status_of) - arrears, arrears


def _period_days(months: list[str]) -> tuple[int, int]:
    """The signed period of `months` (YYYY-MM, in order): day numbers of the first day and of the last."""
    y1, m1 = int(months[0][:4]), int(months[0][5:])
    y2, m2 = int(months[-1][:4]), int(months[-1][5:])
    return day_number(date(y1, m1, 1)), day_number(date(y2, m2, calendar.monthrange(y2, m2)[1]))


def _replayed(existing: Certificate, key: str, kind: CertKind, period_from: str, period_to: str) -> Certificate:
    """The certificate issued earlier for this subject's `key`, if the request is the same one (kind and period);
    a different request under a used key is refused, never answered with the earlier certificate."""
    start, end = _period_days(month_range(period_from, period_to))
    content = existing.content or {}
    if existing.kind == kind.slug and content.get("periodFrom") == start and content.get("periodTo") == end:
        return existing
    raise IssuanceError(
        "idempotency-key-reused",
        f"Idempotency-Key {key!r} was already used for another request ({existing.kind}, a different "
        "kind or period): a new request needs a new key, and repeating a request needs the same body",
        "Idempotency-Key",
    )


def issue(
    session: Session,
    pii: Pii,
    *,
    kind: CertKind,
    subject: Subject,
    period_from: str,
    period_to: str,
    key: LocalAccount,
    domain: Domain,
    actor: str,
    actor_role: str,
    idempotency_key: str | None = None,
    tax: TaxSource | None = None,
    si: SocialInsuranceSource | None = None,
    now: datetime | None = None,
    not_before: int = 0,
) -> tuple[Certificate, bool]:
    """Issue (or, for a repeated idempotency key, return) a certificate; returns (certificate, created).

    `not_before` is the signing key's on-chain validFrom: a certificate is never stamped before it (a chain's
    block time may run a few seconds ahead of this clock right after the key was registered)."""
    if idempotency_key:  # keys are per subject: another subject's key is a different request
        existing = session.scalars(
            select(Certificate).where(
                Certificate.owner == subject.owner, Certificate.idempotency_key == idempotency_key
            )
        ).first()
        if existing:
            return _replayed(existing, idempotency_key, kind, period_from, period_to), False
    if kind is CertKind.CREDIT_REPORT:
        raise IssuanceError(
            "invalid", "credit reports are made from the credit ledger (POST /v1/enterprise/credit/report)", "kind"
        )
    if kind.for_enterprise != (subject.uscc is not None):
        raise IssuanceError(
            "invalid", f"{kind.slug} is for {'enterprises' if kind.for_enterprise else 'people'}", "kind"
        )
    months = month_range(period_from, period_to)
    now = not_earlier(now or datetime.now(UTC), not_before)
    if months[-1] >= f"{now:%Y-%m}":
        raise IssuanceError("invalid", "the period must end before the current month", "period_to")
    detail, total, paid, arrears = _summarise(
        kind, session, subject, months, tax or StoreTaxSource(), si or StoreSocialInsuranceSource()
    )
    if not detail:
        raise IssuanceError("no-records", f"no {kind.slug} records for {period_from}..{period_to}")
    if subject.uscc is not None:
        enterprise = session.get(Enterprise, subject.uscc)
        if enterprise is None:
            raise IssuanceError("not-found", f"no enterprise {subject.uscc}")
        shown, shown_name = enterprise.uscc, enterprise.name
    else:
        person = session.get(Person, subject.person_id)
        if person is None:
            raise IssuanceError("not-found", "no such person")
        shown, shown_name = mask_id_number(pii.decrypt(person.id_number_enc, "person.id_number")), ""
    period_start, period_end = _period_days(months)
    # salted: the breakdown's hash must not be guessable from employers' USCCs
    fields = Fields(
        owner=subject.owner,
        subject=shown,
        subject_name=shown_name,
        period_from=period_start,
        period_to=period_end,
        total_fen=total,
        months_paid=paid,
        months_in_arrears=arrears,
        detail=salted_detail(detail),
    )
    try:
        cert = build_certificate(
            session,
            kind,
            fields,
            key=key,
            domain=domain,
            now=now,
            actor=actor,
            role=actor_role,
            action="certificate.issue",
            audit_detail={"kind": kind.slug},
            idempotency_key=idempotency_key,
        )
    except IntegrityError:  # a concurrent request with the same idempotency key won
        if idempotency_key:
            won = session.scalars(
                select(Certificate).where(
                    Certificate.owner == subject.owner, Certificate.idempotency_key == idempotency_key
                )
            ).one()
            return _replayed(won, idempotency_key, kind, period_from, period_to), False
        raise
    return cert, True
