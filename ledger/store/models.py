"""Platform tables: people (encrypted), enterprises, users, API clients, the audit log."""

from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, TypeDecorator, UniqueConstraint, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.store.db import Base


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator):
    """A timestamp stored and returned in UTC with its zone, on SQLite (which drops zones) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware (UTC) datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Role(StrEnum):
    """Who a caller is. Enterprise API clients authenticate as `enterprise`."""

    CITIZEN = "citizen"
    ENTERPRISE = "enterprise"
    INSPECTOR = "inspector"
    OFFICIAL = "official"  # a department official
    ADMIN = "admin"  # the district data office


class Person(Base):
    """A natural person. ID number, name and phone are AES-GCM ciphertexts; `id_index` is a keyed hash."""

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_index: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    key_id: Mapped[str] = mapped_column(String(32), index=True)  # PII key the row is encrypted under
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Enterprise(Base):
    """A legal person. Name and USCC are public registration data, stored in the clear."""

    __tablename__ = "enterprise"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(6), default="440604")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class User(Base):
    """A person who signs in through an identity provider: citizen, inspector, official or admin."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(100), default="")
    department: Mapped[str | None] = mapped_column(String(32), nullable=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)  # development IdP only
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ApiClient(Base):
    """An enterprise's OAuth2 client (client-credentials grant), bound to one USCC."""

    __tablename__ = "api_client"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(ForeignKey("enterprise.uscc"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class AuditEntry(Base):
    """One privileged action. `hash` chains each entry to the previous one (see ledger.store.audit)."""

    __tablename__ = "audit_entry"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(200), default="")
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """A single row naming the last audit entry; locked while appending so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class Setting(Base):
    """Small key/value facts about the store (e.g. the PII index key's fingerprint)."""

    __tablename__ = "store_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# -- department source data (the built-in adapter's tables) -----------------------------------------------


class TaxRecord(Base):
    """One monthly tax item of a person (`person_id`) or an enterprise (`uscc`), amounts in fen."""

    __tablename__ = "tax_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), nullable=True, index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), nullable=True, index=True)
    tax_type: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(8))  # paid | arrears


class SiContribution(Base):
    """One month of one insurance type for a person, paid through an employer."""

    __tablename__ = "si_contribution"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    employer_uscc: Mapped[str] = mapped_column(String(18), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM
    insurance: Mapped[str] = mapped_column(String(16))  # pension | medical | unemployment | injury | maternity
    base_fen: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(8))  # paid | arrears


# -- certificates and anchoring --------------------------------------------------------------------------


class Certificate(Base):
    """An issued certificate: its signed content, and where it stands (ISSUED → ANCHORED → REVOKED/SUSPENDED)."""

    __tablename__ = "certificate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    owner: Mapped[str] = mapped_column(String(64), index=True)  # "person:<id>" or "uscc:<USCC>"
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    department: Mapped[str] = mapped_column(String(32))
    content: Mapped[dict] = mapped_column(JSON)  # the signed fields, canonical values
    detail: Mapped[dict] = mapped_column(JSON)  # monthly breakdown (hashed into the content)
    digest: Mapped[str] = mapped_column(String(66), unique=True, index=True)
    signer: Mapped[str] = mapped_column(String(42))
    signature: Mapped[str] = mapped_column(String(132))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(String(16), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("anchor_batch.id"), nullable=True, index=True)
    proof: Mapped[list | None] = mapped_column(JSON, nullable=True)
    status_reason: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status_note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    __table_args__ = (UniqueConstraint("owner", "idempotency_key", name="uq_certificate_idempotency"),)


class AnchorBatch(Base):
    """A Merkle batch of certificate digests: PREPARED (root and proofs fixed) → ANCHORED (root on chain)."""

    __tablename__ = "anchor_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(String(66), unique=True)
    leaf_count: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), index=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    anchored_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


# -- webhooks ----------------------------------------------------------------------------------------------


class Webhook(Base):
    """An enterprise's HTTPS endpoint for certificate events; `secret` signs each delivery (HMAC-SHA256)."""

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    url: Mapped[str] = mapped_column(String(500))
    events: Mapped[list] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(100))  # needed in the clear to sign; shown once at creation
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WebhookDelivery(Base):
    """One event for one webhook, and what happened when we tried to deliver it (the delivery log)."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id"), index=True)
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), index=True)  # PENDING | DELIVERED | FAILED
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
