"""The one certificate builder: every certificate, the credit report included, is made here.

What a certificate says of its subject (a `Draft`) comes from where its facts live: `zero_errand.issuance` sums the
departments' payment data, `credit.report` reads the credit ledger. The builder does the rest for every kind alike:
numbers it, stamps its issue time (never before its signing key's on-chain validity) and expiry, signs the content
with the key of the kind's department, stores it ISSUED (the anchor worker batches it on chain), writes the audit log
and queues `certificate.issued` for the enterprise's webhooks.

`credit` may not import `zero_errand` (DESIGN.md §3): its caller hands `credit.report.make_report` a
`CertificateBuilder`, which the report's `Builder` protocol describes.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import errors
from kinds import eip712
from kinds.schema import KindSchema
from ledger.keys import Signer, Sm2Account
from qr.attestation import sm2_message, unsigned
from qr.signed import domain_separator, not_earlier, sign_digest
from store import audit
from store.db import begin_write
from store.models import Certificate
from zero_errand import webhooks
from zero_errand.certificates import VALIDITY_DAYS, CertKind, Domain, day_number, issued_at_seconds
from zero_errand.standard_kinds import standard_kind, values_of


class Draft(Protocol):
    """What a certificate says of its subject; the builder adds the number, the times, the department and the
    detail's hash. Credit reports put their score, number of records and class where payment certificates carry
    money and months (qr.payload)."""

    @property
    def owner(self) -> str: ...  # `person:<id>` or `uscc:<USCC>`: who may download it

    @property
    def subject(self) -> str: ...  # what the certificate shows: a masked ID number or a USCC

    @property
    def subject_name(self) -> str: ...

    @property
    def period_from(self) -> int: ...  # day numbers (qr.signed.day_number)

    @property
    def period_to(self) -> int: ...

    @property
    def total_fen(self) -> int: ...

    @property
    def months_paid(self) -> int: ...

    @property
    def months_in_arrears(self) -> int: ...

    @property
    def detail(self) -> dict[str, Any]: ...  # what the kind's adapter reads its tables from (standard_kinds)

    @property
    def valid_days(self) -> int: ...


@dataclass(frozen=True)
class Fields:
    """A `Draft` held as values: what issuance sums from the departments' data."""

    owner: str
    subject: str
    subject_name: str
    period_from: int
    period_to: int
    total_fen: int
    months_paid: int
    months_in_arrears: int
    detail: dict[str, Any]
    valid_days: int = VALIDITY_DAYS


def number(kind: CertKind, when: datetime) -> str:
    """A new certificate number: the kind's code, the issue day and eight random digits."""
    return f"{kind.code}{when:%Y%m%d}{secrets.randbelow(10**8):08d}"


def draft_row(
    kind: CertKind,
    draft: Draft,
    *,
    key: Signer,
    domain: Domain,
    now: datetime,
    idempotency_key: str | None = None,
    numbered: str | None = None,
) -> dict[str, Any]:
    """Number (`numbered`, or a new number) and sign (with `key`, the kind's department's) one certificate: its
    columns as a plain row. A batch is inserted as rows: building ORM objects for thousands of
    certificates costs as much as signing them.

    A certificate is an attestation of its kind's schema (kinds/standard/): its fields are the kind's data
    adapter's (`standard_kinds.values_of`), its breakdown is the schema's table outside the QR code, committed by
    the salted detail's hash, and its digest is the schema-derived EIP-712 digest (`kinds.eip712`), as for any kind
    a department registers."""
    schema = standard_kind(kind)
    return attestation_row(
        schema,
        values_of(kind, draft),
        kind_column=kind.slug,
        number=numbered or number(kind, now),
        subject=draft.subject,
        subject_name=draft.subject_name,
        owner=draft.owner,
        key=key,
        separator=_separator(domain),
        now=now,
        valid_days=draft.valid_days,
        idempotency_key=idempotency_key,
    )


def attestation_row(
    schema: KindSchema,
    values: dict[str, Any],
    *,
    kind_column: str,
    number: str,
    subject: str,
    subject_name: str,
    owner: str,
    key: Signer,
    separator: bytes,
    now: datetime,
    valid_days: int,
    idempotency_key: str | None,
) -> dict[str, Any]:
    """Sign checked `values` of `schema` as an attestation (the schema-derived EIP-712 digest, `kinds.eip712`) and
    give its certificate row: every kind's one way, a certificate kind's (`draft_row`) and a department's
    (`attestations.issue`). The fields outside the QR code go into the salted detail, committed by its hash."""
    detail = eip712.detail_of(schema, values)
    header = {
        "number": number,
        "subject": subject,
        "subjectName": subject_name,
        "issuedAt": issued_at_seconds(now),
        "expiresOn": day_number((now + timedelta(days=valid_days)).date()),
        "department": schema.department,
        "detailHash": eip712.header_detail_hash(schema, detail),
    }
    digest = eip712.digest(schema, separator, eip712.message(schema, header, values))
    if isinstance(key, Sm2Account):  # issue 20: SM2 over SM3 of the payload's own bytes (qr.attestation)
        signature = key.sign(sm2_message(separator, unsigned(schema, header, values, key.key_id)))
    else:
        signature = sign_digest(digest, key)
    return {
        "number": number,
        "kind": kind_column,
        "version": schema.version,
        "owner": owner,
        "idempotency_key": idempotency_key,
        "department": schema.department,
        # the signed header and the QR fields' values; the other fields live in the salted detail only
        "content": {
            "schema": "0x" + schema.digest.hex(),
            "header": header,
            "values": {f.name: values[f.name] for f in schema.fields if f.in_qr},
        },
        "detail": detail or {},
        "digest": "0x" + digest.hex(),
        "signer": key.address,
        "signature": "0x" + signature.hex(),
        "issued_at": now.replace(microsecond=0),
        "expires_at": now + timedelta(days=valid_days),
        "state": "ISSUED",
        "holder_wrong_guesses": 0,
    }


@lru_cache(maxsize=16)
def _separator(domain: Domain) -> bytes:
    return domain_separator(domain.chain_id, domain.verifying_contract)


def build_certificate(
    session: Session,
    kind: CertKind,
    draft: Draft,
    *,
    key: Signer,
    domain: Domain,
    now: datetime,
    actor: str,
    role: str,
    action: str,
    audit_detail: dict[str, Any],
    idempotency_key: str | None = None,
) -> Certificate:
    """Number, sign (with `key`, the kind's department's), store ISSUED, audit and announce one certificate.

    The row is flushed in a savepoint: a concurrent request with the same idempotency key raises `IntegrityError`
    here, before anything else is written, and the caller answers with the certificate that won. The audit entry is
    `action` on the number, its detail `audit_detail` and the digest."""
    cert = Certificate(**draft_row(kind, draft, key=key, domain=domain, now=now, idempotency_key=idempotency_key))
    return store_issued(session, cert, actor=actor, role=role, action=action, audit_detail=audit_detail)


def store_issued(
    session: Session, cert: Certificate, *, actor: str, role: str, action: str, audit_detail: dict[str, Any]
) -> Certificate:
    """Store a signed certificate (or attestation) ISSUED with its audit entry (`action` on its number, its detail
    `audit_detail` and the digest) and its `certificate.issued` event, in the caller's transaction. The row is
    flushed in a savepoint, so a unique key taken (an idempotency key) raises `IntegrityError` before the rest."""
    begin_write(session)  # the row, its audit entry and its event commit together (SQLite's driver needs telling)
    with session.begin_nested():
        session.add(cert)
        session.flush()
    audit.append(
        session,
        actor=actor,
        role=role,
        action=action,
        target=cert.number,
        detail={**audit_detail, "digest": cert.digest},
    )
    webhooks.enqueue(session, cert, "certificate.issued")
    return cert


@dataclass(frozen=True)
class Signed:
    """One certificate of a batch, signed and waiting to be stored (`draft_row`), with who asked for it (for its
    audit entry)."""

    row: dict[str, Any]
    actor: str
    role: str
    audit_detail: dict[str, Any]


def store_batch(
    session: Session, signed: list[Signed], *, action: str = "certificate.issue", logged: audit.Entry | None = None
) -> list[dict[str, Any] | None]:
    """Store a batch of signed certificates ISSUED, each with its audit entry and its webhook events, in the
    caller's transaction: one multi-row INSERT per table, the audit chain extended once (its head locked once).

    `logged`: one audit entry for the whole batch instead of one per certificate (a bulk job's chunk), its detail
    completed with `batch_digest`.

    Returns, in order, each row stored, or None for one the store refused (a unique key taken: an idempotency key
    another request used first, or a number drawn twice). A batch with no refusal is written in one savepoint;
    otherwise each certificate gets its own, so one refusal costs only its own row. The rows go in through Core
    (`executemany`), not the ORM's unit of work, which costs more than the signing."""
    if not signed:
        return []
    begin_write(session)
    stored: list[dict[str, Any] | None]
    try:
        with session.begin_nested():
            session.execute(insert(Certificate), [s.row for s in signed])
        stored = [s.row for s in signed]
    except IntegrityError:
        stored = []
        for s in signed:
            try:
                with session.begin_nested():
                    session.execute(insert(Certificate), [s.row])
                stored.append(s.row)
            except IntegrityError:
                stored.append(None)
    kept = [s for s, row in zip(signed, stored, strict=True) if row is not None]
    if logged is None:
        entries = [
            audit.Entry(
                actor=s.actor,
                role=s.role,
                action=action,
                target=s.row["number"],
                detail={**s.audit_detail, "digest": s.row["digest"]},
            )
            for s in kept
        ]
    elif kept:
        done = batch_digest((s.row["number"], s.row["digest"]) for s in kept)
        entries = [replace(logged, detail={**(logged.detail or {}), **done})]
    else:
        entries = []
    audit.append_many(session, entries)
    webhooks.enqueue_many(session, [s.row for s in kept], "certificate.issued")
    return stored


def batch_digest(certificates: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """What one audit entry for a batch says of its certificates, given as (number, digest): how many, and the
    SHA-256 of their `number digest` lines in number order (an auditor recomputes it from the store's rows)."""
    lines = sorted(f"{number} {digest}" for number, digest in certificates)
    return {"certificates": len(lines), "sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest()}


def fresh_numbers(session: Session, kinds: list[CertKind], now: datetime) -> list[str]:
    """A new number for each of `kinds`, none taken in the store nor drawn twice. Numbers are eight random digits
    per kind and day, so a batch of thousands would otherwise meet one already taken now and then, and the batch's
    INSERT would be refused for it: one query checks the whole batch, before anything is signed."""
    numbers = [number(kind, now) for kind in kinds]
    while True:
        taken = set(session.scalars(select(Certificate.number).where(Certificate.number.in_(numbers))))
        seen: set[str] = set()
        again = []
        for i, value in enumerate(numbers):
            if value in taken or value in seen:
                numbers[i] = number(kinds[i], now)
                again.append(i)
            seen.add(numbers[i])
        if not again:
            return numbers


class CertificateBuilder:
    """The builder with the department keys at hand: it signs each kind with its department's key."""

    def __init__(self, keys: Mapping[str, Signer], domain: Domain, key_valid_from: Callable[[str], int]) -> None:
        """`key_valid_from(address)`: the key's on-chain validFrom (unix seconds), e.g. `Ledger.key_valid_from`."""
        self.keys, self.domain, self.key_valid_from = keys, domain, key_valid_from

    def key(self, kind: CertKind | str) -> Signer:
        """The signing key of `kind`'s department; `errors.Unavailable` when this host does not hold it."""
        department = CertKind.parse(kind).department if isinstance(kind, str) else kind.department
        key = self.keys.get(department)
        if key is None:
            raise errors.Unavailable(f"the {department} signing key is not configured")
        return key

    def issue_time(self, kind: CertKind | str, now: datetime | None = None) -> datetime:
        """`now` (default: the clock), moved up to the signing key's validFrom if that is later: a chain's block time
        may run a few seconds ahead of this clock right after the key was registered."""
        return not_earlier(now or datetime.now(UTC), self.key_valid_from(self.key(kind).address))

    def build(
        self,
        session: Session,
        kind: CertKind | str,
        draft: Draft,
        *,
        now: datetime,
        actor: str,
        role: str,
        action: str = "certificate.issue",
        audit_detail: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Certificate:
        """`build_certificate` with the kind's department key; `audit_detail` defaults to the kind's slug."""
        cert_kind = CertKind.parse(kind) if isinstance(kind, str) else kind
        return build_certificate(
            session,
            cert_kind,
            draft,
            key=self.key(cert_kind),
            domain=self.domain,
            now=now,
            actor=actor,
            role=role,
            action=action,
            audit_detail={"kind": cert_kind.slug} if audit_detail is None else audit_detail,
            idempotency_key=idempotency_key,
        )
