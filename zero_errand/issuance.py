"""Issuing certificates: department data in, a signed certificate out (zero_errand.builder), queued for anchoring.

Arrears policy: a certificate states the months in arrears (a per-month status in its breakdown and a
count in the signed content) instead of being refused. That is what tax and social-insurance bureaus print
on payment and contribution certificates: the certificate attests what was paid, and the reader sees the
gaps. Only a period with no records at all is refused (there is nothing to certify).
"""

from __future__ import annotations

import calendar
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import case, func, select, tuple_
from sqlalchemy.orm import Session

import errors
from qr.payload import mask_id_number  # the QR subject shows the first 4 digits only
from store import audit
from store.models import Certificate, Enterprise, Person, SiContribution, TaxRecord
from store.pii import Pii
from zero_errand.builder import CertificateBuilder, Fields, Signed, draft_row, fresh_numbers, store_batch
from zero_errand.certificates import CertKind, day_number

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

    @classmethod
    def of_owner(cls, owner: str) -> Subject | None:
        """The subject an `owner` column names (`person:<id>` or `uscc:<USCC>`); None for anything else."""
        if owner.startswith("person:"):
            return cls(person_id=int(owner[7:]))
        if owner.startswith("uscc:"):
            return cls(uscc=owner[5:])
        return None


class TaxSource(Protocol):
    """Reads tax records from the tax bureau (the built-in adapter reads our store): for many (subject, month)
    pairs at once, each subject's lines ordered by month."""

    def records(self, session: Session, wanted: list[tuple[Subject, str]]) -> dict[Subject, list[Row]]: ...


class SocialInsuranceSource(Protocol):
    """Reads social-insurance contributions from the social-insurance bureau, for many (subject, month) pairs."""

    def by_person(self, session: Session, wanted: list[tuple[int, str]]) -> dict[int, list[Row]]: ...

    def by_employer(self, session: Session, wanted: list[tuple[str, str]]) -> dict[str, list[Row]]: ...


Row = dict[str, Any]
CHUNK = 500  # values per IN (...) list: well inside SQLite's and PostgreSQL's parameter limits


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


class StoreTaxSource:
    """The built-in tax adapter: the store's `tax_record` table (plain rows, not ORM objects: a batch reads tens of
    thousands)."""

    def records(self, session: Session, wanted: list[tuple[Subject, str]]) -> dict[Subject, list[Row]]:
        out: dict[Subject, list[tuple[Any, ...]]] = {s: [] for s, _ in wanted}
        t = TaxRecord
        people = [(s.person_id, m) for s, m in wanted if s.person_id is not None]
        usccs = [(s.uscc, m) for s, m in wanted if s.person_id is None and s.uscc is not None]
        for column, pairs, person in ((t.person_id, people, True), (t.uscc, usccs, False)):
            q = select(column, t.period, t.tax_type, t.id, t.amount_fen, t.status)
            for where in _pairs_in(column, t.period, pairs):
                for who, *line in session.connection().execute(q.where(where)):
                    out[Subject(person_id=who) if person else Subject(uscc=who)].append(tuple(line))
        return {
            subject: [
                {"period": period, "tax_type": tax_type, "amount_fen": amount, "status": status}
                for period, tax_type, _, amount, status in sorted(lines)
            ]
            for subject, lines in out.items()
        }


def _pairs_in(subject: Any, month: Any, pairs: list[tuple[Any, str]]) -> list[Any]:
    """WHERE clauses selecting exactly the (subject, month) `pairs`, at most CHUNK values each. A bulk job's batch
    asks every subject for the same months: then `subject IN (...) AND month IN (...)`, which every database
    answers from the subject's index; a mixed batch lists the pairs as row values."""
    if not pairs:
        return []
    subjects = list(dict.fromkeys(s for s, _ in pairs))
    months = list(dict.fromkeys(m for _, m in pairs))
    if len(pairs) == len(subjects) * len(months) and len(set(pairs)) == len(pairs):  # every subject, every month
        return [subject.in_(chunk) & month.in_(months) for chunk in _chunks(subjects)]
    return [tuple_(subject, month).in_(chunk) for chunk in _chunks(pairs)]


class StoreSocialInsuranceSource:
    """The built-in social-insurance adapter: the store's `si_contribution` table."""

    def by_person(self, session: Session, wanted: list[tuple[int, str]]) -> dict[int, list[Row]]:
        out: dict[int, list[tuple[Any, ...]]] = {p: [] for p, _ in wanted}
        c = SiContribution
        q = select(c.person_id, c.month, c.insurance, c.id, c.employer_uscc, c.base_fen, c.amount_fen, c.status)
        for where in _pairs_in(c.person_id, c.month, wanted):
            for person, *line in session.connection().execute(q.where(where)):
                out[person].append(tuple(line))
        return {
            person: [
                {
                    "month": month,
                    "insurance": insurance,
                    "employer": employer,
                    "base_fen": base,
                    "amount_fen": amount,
                    "status": status,
                }
                for month, insurance, _, employer, base, amount, status in sorted(lines)
            ]
            for person, lines in out.items()
        }

    def by_employer(self, session: Session, wanted: list[tuple[str, str]]) -> dict[str, list[Row]]:
        """Per employer and month: the people insured, the amount paid, and "arrears" if any contribution is
        unpaid (summed by the database: an employer's month is hundreds of contributions)."""
        out: dict[str, list[Row]] = {u: [] for u, _ in wanted}
        c = SiContribution
        paid = func.sum(case((c.status == "paid", c.amount_fen), else_=0))
        unpaid = func.sum(case((c.status == "paid", 0), else_=1))
        for where in _pairs_in(c.employer_uscc, c.month, wanted):
            q = (
                select(c.employer_uscc, c.month, func.count(c.person_id.distinct()), paid, unpaid)
                .where(where)
                .group_by(c.employer_uscc, c.month)
            )
            for employer, month, insured, amount, arrears in session.connection().execute(q):
                out[employer].append(
                    {
                        "month": month,
                        "insured": insured,
                        "amount_fen": int(amount or 0),
                        "status": "arrears" if arrears else "paid",
                    }
                )
        return {employer: sorted(lines, key=lambda line: line["month"]) for employer, lines in out.items()}


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


def _summarise(kind: CertKind, detail: list[Row]) -> tuple[int, int, int]:
    """(total paid in fen, months fully paid, months in arrears) of a subject's detail lines for `kind`."""
    key = "period" if kind in (CertKind.TAX_INDIVIDUAL, CertKind.TAX_ENTERPRISE) else "month"
    status_of: defaultdict[str, set[str]] = defaultdict(set)
    for line in detail:
        status_of[line[key]].add(line["status"])
    # Employer lines already hold only what was paid, including the paid part of a month in arrears.
    total = sum(line["amount_fen"] for line in detail if kind is CertKind.SI_ENTERPRISE or line["status"] == "paid")
    arrears = sum(1 for statuses in status_of.values() if "arrears" in statuses)
    return total, len(status_of) - arrears, arrears


def _period_days(months: list[str]) -> tuple[int, int]:
    """The signed period of `months` (YYYY-MM, in order): day numbers of the first day and of the last."""
    y1, m1 = int(months[0][:4]), int(months[0][5:])
    y2, m2 = int(months[-1][:4]), int(months[-1][5:])
    return day_number(date(y1, m1, 1)), day_number(date(y2, m2, calendar.monthrange(y2, m2)[1]))


def _replayed(existing: Certificate, key: str, kind: CertKind, period_from: str, period_to: str) -> Certificate:
    """The certificate issued earlier for this subject's `key`, if the request is the same one (kind and period);
    a different request under a used key is refused, never answered with the earlier certificate."""
    content = existing.content or {}
    if "schema" in content:  # issued under its kind's schema: the period is in its fields
        values = content.get("values", {})
        same = (values.get("period_from"), values.get("period_to")) == (period_from, period_to)
    else:  # format 1: the period as day numbers
        start, end = _period_days(month_range(period_from, period_to))
        same = (content.get("periodFrom"), content.get("periodTo")) == (start, end)
    if existing.kind == kind.slug and same:
        return existing
    raise IssuanceError(
        "idempotency-key-reused",
        f"Idempotency-Key {key!r} was already used for another request ({existing.kind}, a different "
        "kind or period): a new request needs a new key, and repeating a request needs the same body",
        "Idempotency-Key",
    )


@dataclass(frozen=True)
class Request:
    """One certificate asked for: by a citizen or an enterprise for itself, or pushed by a department (bulk)."""

    kind: CertKind
    subject: Subject
    period_from: str
    period_to: str
    actor: str
    actor_role: str
    idempotency_key: str | None = None


@dataclass
class Outcome:
    """What became of a `Request`: its certificate (`created` False when an idempotency key replayed an earlier
    one) or the error that refused it. A new certificate is kept as the row written (`number`, `digest`, ...);
    `certificate` makes the object when asked (a bulk job never asks)."""

    request: Request
    row: dict[str, Any] | None = None
    created: bool = False
    error: IssuanceError | None = None
    replayed: Certificate | None = None
    _made: Certificate | None = field(default=None, repr=False, compare=False)

    @property
    def certificate(self) -> Certificate | None:
        """The certificate answered: the one replayed, or the new row made into an object (once)."""
        if self.replayed is not None:
            return self.replayed
        if self._made is None and self.row is not None:
            self._made = Certificate(**self.row)
        return self._made

    def answer(self) -> tuple[Certificate, bool]:
        """(certificate, created), or raise the `IssuanceError` that refused the request."""
        if self.error is not None:
            raise self.error
        assert self.certificate is not None
        return self.certificate, self.created


def issue(
    session: Session,
    pii: Pii,
    builder: CertificateBuilder,
    request: Request,
    *,
    tax: TaxSource | None = None,
    si: SocialInsuranceSource | None = None,
    now: datetime | None = None,
) -> tuple[Certificate, bool]:
    """Issue (or, for a repeated idempotency key, return) one certificate; returns (certificate, created), or raises
    the `IssuanceError` that refused it."""
    return issue_many(session, pii, builder, [request], tax=tax, si=si, now=now)[0].answer()


def issue_many(
    session: Session,
    pii: Pii,
    builder: CertificateBuilder,
    requests: list[Request],
    *,
    tax: TaxSource | None = None,
    si: SocialInsuranceSource | None = None,
    now: datetime | None = None,
    logged: audit.Entry | None = None,
) -> list[Outcome]:
    """Issue a batch of certificates in the caller's transaction: one outcome per request, in order.

    Each request is checked on its own (a refused one does not stop the others). The departments' records are
    read for the whole batch at once (one query per kind and source), each certificate is signed with its
    department's key (`builder`), and the batch is stored, audited and announced together
    (`zero_errand.builder.store_batch`; `logged`: one audit entry for the batch instead of one a certificate). A
    certificate is never stamped before its key's on-chain validFrom (a chain's block time may run a few seconds
    ahead of this clock right after the key was registered)."""
    tax, si = tax or StoreTaxSource(), si or StoreSocialInsuranceSource()
    clock = now or datetime.now(UTC)
    outcomes = [Outcome(r) for r in requests]
    _replay(session, outcomes)
    todo: list[tuple[Outcome, list[str], datetime]] = []
    for o in outcomes:
        if o.replayed is not None or o.error is not None:
            continue
        try:
            months, when = _checked(o.request, builder, clock)
        except IssuanceError as exc:
            o.error = exc
            continue
        todo.append((o, months, when))
    details = _details(session, [(o.request, months) for o, months, _ in todo], tax, si)
    subjects = shown(session, pii, [o.request.subject for o, _, _ in todo])
    ready: list[tuple[Outcome, Fields, datetime]] = []
    for (o, months, when), detail in zip(todo, details, strict=True):
        r = o.request
        if not detail:
            o.error = IssuanceError("no-records", f"no {r.kind.slug} records for {r.period_from}..{r.period_to}")
            continue
        if r.subject not in subjects:
            who = f"enterprise {r.subject.uscc}" if r.subject.uscc is not None else "such person"
            o.error = IssuanceError("not-found", f"no {who}")
            continue
        period_start, period_end = _period_days(months)
        total, paid, arrears = _summarise(r.kind, detail)
        subject, subject_name = subjects[r.subject]
        fields = Fields(
            owner=r.subject.owner,
            subject=subject,
            subject_name=subject_name,
            period_from=period_start,
            period_to=period_end,
            total_fen=total,
            months_paid=paid,
            months_in_arrears=arrears,
            detail={"lines": detail},  # the kind's `lines` table; the builder salts the detail it signs
        )
        ready.append((o, fields, when))
    numbers = fresh_numbers(session, [o.request.kind for o, _, _ in ready], clock)
    signed = [
        Signed(
            draft_row(
                o.request.kind,
                fields,
                key=builder.key(o.request.kind),
                domain=builder.domain,
                now=when,
                idempotency_key=o.request.idempotency_key,
                numbered=numbered,
            ),
            actor=o.request.actor,
            role=o.request.actor_role,
            audit_detail={"kind": o.request.kind.slug},
        )
        for (o, fields, when), numbered in zip(ready, numbers, strict=True)
    ]
    for (o, _, _), s, row in zip(ready, signed, store_batch(session, signed, logged=logged), strict=True):
        if row is not None:
            o.row, o.created = row, True
            continue
        if o.request.idempotency_key:  # a concurrent request with the same idempotency key won?
            _replay(session, [o])
        if o.replayed is None and o.error is None:  # no: a concurrent batch drew the number after our check
            o.error = IssuanceError("conflict", f"certificate number {s.row['number']} was taken; retry")
    return outcomes


def _replay(session: Session, outcomes: list[Outcome]) -> None:
    """Answer the requests whose subject already used their idempotency key with the certificate issued then (or
    the error for a different request under a used key). Keys are per subject: another subject's key is another
    request."""
    keyed = [o for o in outcomes if o.request.idempotency_key]
    if not keyed:
        return
    owners = sorted({o.request.subject.owner for o in keyed})
    keys = {o.request.idempotency_key for o in keyed}
    found: dict[tuple[str, str | None], Certificate] = {}
    for owner_chunk in _chunks(owners):
        q = select(Certificate).where(Certificate.owner.in_(owner_chunk), Certificate.idempotency_key.in_(keys))
        for cert in session.scalars(q):
            found[(cert.owner, cert.idempotency_key)] = cert
    for o in keyed:
        r = o.request
        existing = found.get((r.subject.owner, r.idempotency_key))
        if existing is None:
            continue
        try:
            o.replayed = _replayed(existing, r.idempotency_key or "", r.kind, r.period_from, r.period_to)
            o.error = None
        except IssuanceError as exc:
            o.error = exc


def _checked(r: Request, builder: CertificateBuilder, clock: datetime) -> tuple[list[str], datetime]:
    """The request's months and its issue time, or the `IssuanceError` that refuses it before any data is read."""
    if r.kind is CertKind.CREDIT_REPORT:
        raise IssuanceError(
            "invalid", "credit reports are made from the credit ledger (POST /v1/enterprise/credit/report)", "kind"
        )
    if r.kind.for_enterprise != (r.subject.uscc is not None):
        who = "enterprises" if r.kind.for_enterprise else "people"
        raise IssuanceError("invalid", f"{r.kind.slug} is for {who}", "kind")
    months = month_range(r.period_from, r.period_to)
    when = builder.issue_time(r.kind, clock)
    if months[-1] >= f"{when:%Y-%m}":
        raise IssuanceError("invalid", "the period must end before the current month", "period_to")
    return months, when


def _details(
    session: Session, wanted: list[tuple[Request, list[str]]], tax: TaxSource, si: SocialInsuranceSource
) -> list[list[Row]]:
    """Each request's detail lines, read from the sources for the whole batch: one query per kind (and 500
    (subject, month) pairs) reading exactly the months asked for."""
    by_kind: defaultdict[CertKind, list[int]] = defaultdict(list)
    for i, (r, _) in enumerate(wanted):
        by_kind[r.kind].append(i)
    out: list[list[Row]] = [[] for _ in wanted]
    for kind, indexes in by_kind.items():
        pairs = list(dict.fromkeys((wanted[i][0].subject, m) for i in indexes for m in wanted[i][1]))
        rows: dict[Subject, list[Row]]
        if kind in (CertKind.TAX_INDIVIDUAL, CertKind.TAX_ENTERPRISE):
            rows, key = tax.records(session, pairs), "period"
        elif kind is CertKind.SI_INDIVIDUAL:
            people = [(s.person_id, m) for s, m in pairs if s.person_id is not None]
            rows, key = {Subject(person_id=p): v for p, v in si.by_person(session, people).items()}, "month"
        else:
            usccs = [(s.uscc, m) for s, m in pairs if s.uscc is not None]
            rows, key = {Subject(uscc=u): v for u, v in si.by_employer(session, usccs).items()}, "month"
        asked = Counter(wanted[i][0].subject for i in indexes)
        for i in indexes:
            r, months = wanted[i]
            lines = rows.get(r.subject, [])
            if asked[r.subject] > 1:  # the subject is in the batch for other months too: keep this request's
                mine = set(months)
                lines = [line for line in lines if line[key] in mine]
            out[i] = lines
    return out


def shown(session: Session, pii: Pii, subjects: list[Subject]) -> dict[Subject, tuple[str, str]]:
    """What each certificate shows of its subject: (USCC, name) of an enterprise, or a masked ID number and no name
    for a person. Subjects not in the store are left out."""
    out: dict[Subject, tuple[str, str]] = {}
    usccs = sorted({s.uscc for s in subjects if s.uscc is not None})
    people = sorted({s.person_id for s in subjects if s.person_id is not None})
    for chunk in _chunks(usccs):
        for e in session.scalars(select(Enterprise).where(Enterprise.uscc.in_(chunk))):
            out[Subject(uscc=e.uscc)] = (e.uscc, e.name)
    for chunk in _chunks(people):
        for p in session.scalars(select(Person).where(Person.id.in_(chunk))):
            out[Subject(person_id=p.id)] = (mask_id_number(pii.decrypt(p.id_number_enc, "person.id_number")), "")
    return out
