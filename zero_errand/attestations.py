"""Attestations of kinds registered from schema files (issue 19), issued without code.

An attestation is stored as a certificate row, so that anchoring, revocation, status, the holder's list and
webhooks treat it as any certificate: `kind` is the tag `<slug>.v<version>` (`tag`), `content` holds the schema's
digest, the signed header and the QR fields' values, `detail` the salted detail of the fields outside the QR code
(`kinds.eip712.detail_of`). Its digest is the schema-derived EIP-712 digest, signed with the key of the kind's
department; the anchor worker batches it with the attestations of the same schema only
(`AttestationRegistry.anchorSchemaRoot`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

import errors
from identifiers import validate_id_number, validate_uscc
from kinds.schema import KindSchema, canonical, load
from kinds.values import check
from ledger.keys import Signer
from qr import attestation
from qr.payload import mask_id_number  # the QR subject shows the first 4 digits only
from qr.signed import not_earlier
from store.models import Certificate, Enterprise, KindSchemaRecord
from store.pii import Pii
from zero_errand.builder import attestation_row, store_issued
from zero_errand.issuance import Subject, shown
from zero_errand.people import find_person
from zero_errand.standard_kinds import standard_by_digest

TAG_SEPARATOR = ".v"  # certificate kind slugs never hold a dot
ACTION = "attestation.issue"


def tag(kind: KindSchema) -> str:
    """The `kind` column of an attestation of `kind`: `residence-proof.v1`."""
    return f"{kind.slug}{TAG_SEPARATOR}{kind.version}"


def is_attestation(kind_column: str) -> bool:
    """Whether a `kind` column names a kind a department registered (its tag), not a certificate kind."""
    return TAG_SEPARATOR in kind_column


def has_schema(cert: Certificate) -> bool:
    """Whether a stored certificate was issued under a registered schema (format 2: every attestation, and every
    certificate since the certificate kinds are schemas); False for one issued before (format 1, `qr.payload`)."""
    return "schema" in (cert.content or {})


@lru_cache(maxsize=256)
def _parsed(body: str) -> KindSchema:
    return load(body)


@dataclass(frozen=True)
class Registered:
    """A kind registered on chain, as the store keeps it."""

    kind: KindSchema
    index: int  # its number on chain


def registered_in(session: Session, *where: Any) -> list[Registered]:
    """The registered kinds (`where`: filters on KindSchemaRecord) as `session` reads them, by version."""
    rows = session.execute(
        select(KindSchemaRecord.body, KindSchemaRecord.chain_index)
        .where(KindSchemaRecord.chain_index.is_not(None), *where)
        .order_by(KindSchemaRecord.version)
    ).all()
    return [Registered(_parsed(body), index) for body, index in rows]


class KindBook:
    """The kinds the store knows as registered on chain (`zero_errand.kind_registry` fills it)."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self.sessions = sessions

    def _rows(self, *where: Any) -> list[Registered]:
        with self.sessions() as session:
            return registered_in(session, *where)

    def latest(self, slug: str) -> Registered:
        """The latest registered version of `slug`; `errors.NotFound` naming the kinds there are."""
        found = self._rows(KindSchemaRecord.slug == slug)
        if not found:
            known = sorted({r.kind.slug for r in self._rows()})
            raise errors.NotFound(
                f"no registered kind {slug!r} (registered: {', '.join(known) or 'none'})", field="kind"
            )
        return found[-1]

    def by_tag(self, kind_column: str) -> Registered:
        slug, _, version = kind_column.rpartition(TAG_SEPARATOR)
        for r in self._rows(KindSchemaRecord.slug == slug):
            if str(r.kind.version) == version:
                return r
        raise errors.NotFound(f"no registered kind {kind_column!r}", field="kind")


def _subject(session: Session, pii: Pii, kind: KindSchema, raw: str) -> tuple[str, str, str]:
    """(owner, subject shown, subject name) of the subject `raw` names: a citizen's ID number or a USCC, as the
    kind's schema says, known to the store."""
    if kind.subject == "person":
        checked = validate_id_number(raw)
        if not checked.valid:
            raise errors.InvalidInput(f"subject: {checked.error}", field="subject")
        person = find_person(session, pii, checked.normalized)
        if person is None:
            raise errors.NotFound("no person with this ID number is known to the store", field="subject")
        return f"person:{person.id}", mask_id_number(checked.normalized), ""
    checked = validate_uscc(raw)
    if not checked.valid:
        raise errors.InvalidInput(f"subject: {checked.error}", field="subject")
    enterprise = session.get(Enterprise, checked.normalized)
    if enterprise is None:
        raise errors.NotFound(f"no enterprise {checked.normalized} is known to the store", field="subject")
    return f"uscc:{enterprise.uscc}", enterprise.uscc, enterprise.name


def _number(session: Session, now: datetime) -> str:
    """A new number: 9 (an attestation), the issue day and eight random digits, none taken."""
    while True:
        candidate = f"9{now:%Y%m%d}{secrets.randbelow(10**8):08d}"
        if session.scalar(select(Certificate.id).where(Certificate.number == candidate)) is None:
            return candidate


def issue(
    session: Session,
    pii: Pii,
    registered: Registered,
    *,
    subject: str,
    fields: Mapping[str, Any],
    keys: Mapping[str, Signer],
    separator: bytes,
    key_valid_from: Callable[[str], int],
    actor: str,
    role: str,
    department: str | None = None,
    now: datetime | None = None,
) -> Certificate:
    """Check `fields` against the kind's schema (`kinds.values.FieldValueError` names the field and the rule), sign
    with the kind's department's key, store ISSUED with its audit entry and its `certificate.issued` event, in the
    caller's transaction. `department`: the caller's, when an official asks; only the kind's own may issue it."""
    kind = registered.kind
    if department is not None and department != kind.department:
        raise errors.Forbidden(f"{kind.slug} is issued by {kind.department}, not by {department}")
    values = check(kind, dict(fields))
    owner, shown, name = _subject(session, pii, kind, subject)
    return _issue(session, kind, owner, shown, name, values, keys, separator, key_valid_from, actor, role, now, None)


def issue_to_owner(
    session: Session,
    pii: Pii,
    kind: KindSchema,
    *,
    owner: str,
    values: Mapping[str, Any],
    keys: Mapping[str, Signer],
    separator: bytes,
    key_valid_from: Callable[[str], int],
    actor: str,
    role: str,
    idempotency_key: str,
) -> Certificate:
    """`issue` for a subject already resolved to its owner (`person:<id>` or `uscc:<USCC>`) and values already checked
    (a bulk job's entry), under `idempotency_key`: the store refuses a second attestation of the same owner and key
    (`IntegrityError`, raised before anything else is written)."""
    shown, name = shown_of(session, pii, owner)
    return _issue(
        session,
        kind,
        owner,
        shown,
        name,
        dict(values),
        keys,
        separator,
        key_valid_from,
        actor,
        role,
        None,
        idempotency_key,
    )


def bulk_key(kind_tag: str, values: Mapping[str, Any]) -> str:
    """The idempotency key of a bulk-issued attestation: its kind's tag and the SHA-256 of its checked values' canonical
    JSON, so that the same attestation (same subject, kind and values) is never issued twice, by a job run twice or
    by two jobs."""
    return f"attest:{kind_tag}:{hashlib.sha256(canonical(dict(values))).hexdigest()[:40]}"


def shown_of(session: Session, pii: Pii, owner: str) -> tuple[str, str]:
    """(subject shown, subject name) of a known owner: a person's masked ID number and no name, an enterprise's USCC
    and name."""
    subject = Subject.of_owner(owner)
    found = shown(session, pii, [subject]).get(subject) if subject is not None else None
    if found is None:
        raise errors.NotFound(f"no subject {owner} in the store", field="subject")
    return found


def _issue(
    session: Session,
    kind: KindSchema,
    owner: str,
    shown: str,
    name: str,
    values: dict[str, Any],
    keys: Mapping[str, Signer],
    separator: bytes,
    key_valid_from: Callable[[str], int],
    actor: str,
    role: str,
    now: datetime | None,
    idempotency_key: str | None,
) -> Certificate:
    key = keys.get(kind.department)
    if key is None:
        raise errors.Unavailable(f"the {kind.department} signing key is not configured")
    moment = not_earlier(now or datetime.now(UTC), key_valid_from(key.address)).replace(microsecond=0)
    row = attestation_row(
        kind,
        values,
        kind_column=tag(kind),
        number=_number(session, moment),
        subject=shown,
        subject_name=name,
        owner=owner,
        key=key,
        separator=separator,
        now=moment,
        valid_days=kind.validity_days,
        idempotency_key=idempotency_key,
    )
    cert = Certificate(**row)
    return store_issued(session, cert, actor=actor, role=role, action=ACTION, audit_detail={"kind": tag(kind)})


_BY_DIGEST: dict[str, KindSchema] = {}  # a digest names one schema for ever: read from the store once


def kind_of(cert: Certificate) -> KindSchema:
    """The registered kind of a stored attestation, from the store of the session the row was read in."""
    digest = cert.content["schema"]
    known = _BY_DIGEST.get(digest) or standard_by_digest().get(digest)  # a certificate kind's: from its file
    if known is not None:
        return known
    session = object_session(cert)
    found = registered_in(session, KindSchemaRecord.digest == digest) if session else []
    if not found:
        raise LookupError(f"the kind of attestation {cert.number} is not in the store")
    _BY_DIGEST[digest] = found[0].kind
    return found[0].kind


def payload(cert: Certificate, kind: KindSchema) -> bytes:
    """The QR payload (format 2) of a stored attestation of `kind`."""
    c = cert.content
    return attestation.encode(kind, c["header"], c["values"], bytes.fromhex(cert.signature[2:]), cert.signer)
