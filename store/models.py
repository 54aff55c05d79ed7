"""Store tables: people (encrypted), enterprises, users, API clients, the audit log, certificates and their
anchoring, webhooks, and credit (records, grades, lists, repair, inspections, random draws)."""

from __future__ import annotations

import json
import zlib
from datetime import UTC, date, datetime
from enum import StrEnum

import orjson
from eth_utils import to_checksum_address
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.db import Base


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator):
    """A timestamp stored and returned in UTC with its zone, on SQLite (which drops zones) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware (UTC) datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


# Words every certificate's content and breakdown repeat: deflate starts from them (a preset dictionary), so even
# a 300-byte content compresses. Stored data depends on these bytes: never edit them; a new dictionary is a new
# format byte in CompressedJSON.
_ZDICT_1 = (
    '"department":"si.440604","department":"tax.440604","detailHash":"0x","expiresOn":2,"issuedAt":17,'
    '"kind":1,"monthsInArrears":0,"monthsPaid":12,"number":"32026","periodFrom":20,"periodTo":20,"subject":"4406'
    '**********","subjectName":"佛山市禅城区有限公司","totalFen":,"version":1}'
    '{"lines":[{"amount_fen":,"base_fen":,"employer":"91440604MA","insurance":"pension","month":"2025-'
    '{"amount_fen":,"base_fen":,"employer":"91440604MA","insurance":"medical","month":"2025-","status":"paid"},'
    '{"amount_fen":,"base_fen":,"employer":"91440604MA","insurance":"unemployment","month":"2024-","status":"paid"},'
    '"insurance":"injury","insurance":"maternity","status":"arrears"},{"amount_fen":,"period":"2025-",'
    '"status":"paid","tax_type":"iit"},{"amount_fen":,"period":"2025-","status":"paid","tax_type":"vat"},'
    '{"amount_fen":,"period":"2025-","status":"paid","tax_type":"cit"},{"amount_fen":,"insured":,"month":"2025-",'
    '"status":"paid"}],"salt":"'
).encode()


# The same for certificates issued under their kind's schema (kinds/standard/): the content's header and values,
# the schemas' digests, the breakdown tables' rows. Never edit either: a third dictionary is another format byte.
_ZDICT_2 = (
    '{"fields":{"records":[{"decided_on":"2025-","type":"inspection_pass","department":"国家税务总局佛山市禅城区税务局",'
    '"summary":"","repaired":false}],"basis":[{"reason":""}],"lists":"无"},"salt":""values":{"span_from":"20",'
    '"span_to":"20","grade":"a","score":,"record_count":"schema":"0x59238f0494d2bde590843be7155283e2fa83b7509b7fa8a815109bfe8f0761da",'
    '"schema":"0x7a1f7f8e12c7e8e3bce3ca00bfe1ff3f1e304910d810ad0e314b39b5b730d321","schema":"0x9b3ef61e4487fda608311bce7b626e79afbd818c6f484f622c6c5b1d663a394b",'
    '"schema":"0x6504e513fcfa53b8877cb45e9ec66dc6a590d2cda18348fc69e438331d22ac74","schema":"0x72bbd672c4a8d84d5b613106c941c5831240efc5ef19a75ea00bc5712026c668",'
    '{"month":"2025-","insured":,"amount_fen":,"status":"paid"},{"month":"2025-","insurance":"pension","employer":"91440604MA",'
    '"base_fen":,"amount_fen":,"status":"paid"},{"month":"2025-","insurance":"medical","employer":"91440604MA",'
    '"base_fen":,"amount_fen":,"status":"paid"},{"month":"2025-","insurance":"unemployment","employer":"91440604MA",'
    '"base_fen":,"amount_fen":,"status":"paid"},"insurance":"injury","insurance":"maternity","status":"arrears"}'
    ',{"period":"2025-","tax_type":"individual_income","amount_fen":,"status":"paid"},{"period":"2025-","tax_type":"vat",'
    '"amount_fen":,"status":"paid"},{"period":"2025-","tax_type":"corporate_income","amount_fen":,"status":"paid"}'
    ',{"fields":{"lines":[{"month":"2025-"subjectName":"佛山市禅城区有限公司","issuedAt":17,"expiresOn":2,"department":"si.440604",'
    '"department":"tax.440604","detailHash":"0x"},"values":{"period_from":"2025-","period_to":"2025-","total_fen":,'
    '"months_paid":12,"months_in_arrears":0}}{"schema":"0x","header":{"number":"22026","subject":"4406**************",'
    '"subjectName":"","issuedAt":17"status":"paid"}]},"salt":"'
).encode()


class CompressedJSON(TypeDecorator):
    """JSON stored deflated (a format byte, then raw deflate with a preset dictionary): a certificate's content
    and breakdown are most of its row, and issue 18 holds a certificate to 1 KB of store. Reads give back the
    same values; the canonical form a hash is taken over is computed from the values, never from these bytes."""

    impl = LargeBinary
    cache_ok = True
    FORMAT = b"\x01"  # JSON as orjson writes it, deflated with the first dictionary (what the store holds of before)
    FORMAT_WIDE = b"\x02"  # JSON only the standard library writes (an integer beyond 64 bits), read back by it
    FORMAT_2, FORMAT_WIDE_2 = b"\x03", b"\x04"  # the same, deflated with the second dictionary: what is written now
    DICTIONARIES = {FORMAT: _ZDICT_1, FORMAT_WIDE: _ZDICT_1, FORMAT_2: _ZDICT_2, FORMAT_WIDE_2: _ZDICT_2}

    def process_bind_param(self, value: object, dialect: object) -> bytes | None:
        if value is None:
            return None
        try:
            text = orjson.dumps(value)  # compact UTF-8 JSON, ~10x json.dumps (not hashed: any encoding of the values)
            form = self.FORMAT_2
        except TypeError:  # what orjson refuses (an integer beyond 64 bits, a non-string key) json writes
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
            form = self.FORMAT_WIDE_2  # orjson would read some of these as floats, silently: json reads them back
        packer = zlib.compressobj(6, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _ZDICT_2)
        return form + packer.compress(text) + packer.flush()

    def process_result_value(self, value: bytes | None, dialect: object) -> object:
        if value is None:
            return None
        form = bytes(value[:1])
        if form not in self.DICTIONARIES:
            raise ValueError(f"unknown compressed JSON format {form!r}")
        unpacker = zlib.decompressobj(-15, self.DICTIONARIES[form])
        text = unpacker.decompress(bytes(value[1:])) + unpacker.flush()
        if form in (self.FORMAT_WIDE, self.FORMAT_WIDE_2):
            return json.loads(text)
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:  # format 1 as the first release wrote it when orjson refused a value
            return json.loads(text)


class HexBytes(TypeDecorator):
    """Fixed-size bytes the code reads and writes as hex text (`prefix` + lower-case hex, or a checksummed address),
    stored raw: half the row and index space of the text (issue 18 holds a certificate to 1 KB of store). Lookups
    by hex go through it, so they keep working, now regardless of the hex digits' case."""

    impl = LargeBinary
    cache_ok = True

    def __init__(self, size: int, prefix: str = "0x", address: bool = False, also: int | None = None) -> None:
        """`also`: a second size the column takes (a signature: 65 bytes secp256k1, 64 SM2)."""
        super().__init__()
        self.size, self.prefix, self.address, self.also = size, prefix, address, also
        self.hex_lengths = tuple(2 * n for n in (size, also) if n is not None)  # read on every bind

    def process_bind_param(self, value: str | bytes | None, dialect: object) -> bytes | None:
        if value is None:
            return None
        raw = b""
        if isinstance(value, bytes | bytearray | memoryview):
            raw = bytes(value)
        elif value[: len(self.prefix)].lower() == self.prefix and len(value) - len(self.prefix) in self.hex_lengths:
            try:
                raw = bytes.fromhex(value[len(self.prefix) :])
            except ValueError:
                pass
        if len(raw) != self.size and len(raw) != self.also:
            raise ValueError(f"expected {self.size} bytes as {self.prefix}hex, got {value!r:.80}")
        return raw

    def process_result_value(self, value: bytes | None, dialect: object) -> str | None:
        if value is None:
            return None
        text = self.prefix + bytes(value).hex()
        return to_checksum_address(text) if self.address else text


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
    """One privileged action. `hash` chains each entry to the previous one (see store.audit).

    Nothing looks entries up by action or hash (the log is read in sequence), so neither is indexed: every
    certificate issued appends one entry, and an index is store space and insert time per certificate."""

    __tablename__ = "audit_entry"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    # sha256 over the previous entry's hash and this entry (the previous hash is that entry's own column)
    hash: Mapped[str] = mapped_column(HexBytes(32, prefix=""))


class AuditHead(Base):
    """A single row naming the last audit entry; locked while appending so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class AuditAnchor(Base):
    """An audit-log head anchored on chain (an outbox row: PREPARED, then ANCHORED with its transaction).

    `root` commits to the head: see store.audit.head_root. The chain, not this table, is what
    `zel audit verify` trusts; the table only tells the worker what it has done.
    """

    __tablename__ = "audit_anchor"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(66), unique=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    anchored_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


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
    kind: Mapped[str] = mapped_column(String(64))  # a CertKind slug, or an attestation's `<slug>.v<version>`
    version: Mapped[int] = mapped_column(Integer)
    # "person:<id>" or "uscc:<USCC>"; looked up through uq_certificate_idempotency, whose first column it is
    owner: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    department: Mapped[str] = mapped_column(String(32))
    content: Mapped[dict] = mapped_column(CompressedJSON)  # the signed fields, canonical values
    detail: Mapped[dict] = mapped_column(CompressedJSON)  # monthly breakdown (hashed into the content)
    digest: Mapped[str] = mapped_column(HexBytes(32), unique=True, index=True)
    signer: Mapped[str] = mapped_column(HexBytes(20, address=True))
    signature: Mapped[str] = mapped_column(HexBytes(65, also=64))  # secp256k1 (r, s, v) or SM2 r || s
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(String(16), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("anchor_batch.id"), nullable=True, index=True)
    proof: Mapped[list | None] = mapped_column(JSON, nullable=True)
    status_reason: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status_note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # Wrong answers the public holder check gave for this certificate; at HOLDER_GUESSES it stays locked
    # (zero_errand.verification). Counted by one conditional UPDATE, so concurrent servers never overshoot.
    holder_wrong_guesses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (UniqueConstraint("owner", "idempotency_key", name="uq_certificate_idempotency"),)


class KindSchemaRecord(Base):
    """An attestation kind's schema file as registered (issue 19): the chain keeps only its digest, slug, version and
    department (IssuerRegistry); the store keeps the file (canonical JSON), which the issuer, the verifier and the
    pages read. `chain_index` is the schema's number on chain, None while its registration awaits approvals."""

    __tablename__ = "kind_schema"

    digest: Mapped[str] = mapped_column(HexBytes(32), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)  # the canonical JSON whose keccak-256 is `digest`
    chain_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


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


class IssuanceJob(Base):
    """A bulk issuance (零申请推送): one kind for every eligible subject of a period, pushed by its department.

    The subjects are cut into chunks (`IssuanceChunk`) when the job is made; workers issue a chunk in one
    transaction, so a job killed at any point resumes chunk by chunk. Counts are summed from the chunks."""

    __tablename__ = "issuance_job"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(64))  # a CertKind's slug, or an attestation kind's `<slug>.v<version>`
    department: Mapped[str] = mapped_column(String(32), index=True)
    period_from: Mapped[str] = mapped_column(String(7))  # "" for an attestation kind (its entries carry its values)
    period_to: Mapped[str] = mapped_column(String(7))
    source: Mapped[str] = mapped_column(String(16))  # "eligible" (every subject with records) | "list"
    subjects: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), index=True)  # QUEUED | RUNNING | DONE | CANCELLED
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class IssuanceChunk(Base):
    """Up to a few hundred subjects of a job, issued together: PENDING → (claimed by a worker until `lease_until`)
    → DONE, with what became of each subject that was not issued (`problems`)."""

    __tablename__ = "issuance_chunk"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("issuance_job.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    subjects: Mapped[list] = mapped_column(JSON)  # owners: "person:<id>" | "uscc:<USCC>" (or the unknown as given)
    state: Mapped[str] = mapped_column(String(16), index=True)  # PENDING | DONE
    worker: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    issued: Mapped[int] = mapped_column(Integer, default=0)  # new certificates
    existing: Mapped[int] = mapped_column(Integer, default=0)  # issued before (the same subject, kind and period)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list] = mapped_column(JSON, default=list)  # [{"subject", "outcome", "code", "reason"}]
    # an attestation job's: each subject's checked field values, in the order of `subjects` (None for a certificate
    # kind's job, whose values are summed from the department's records)
    fields: Mapped[list | None] = mapped_column(JSON, nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    __table_args__ = (UniqueConstraint("job_id", "seq", name="uq_issuance_chunk_position"),)


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


# -- credit ------------------------------------------------------------------------------------------------


class CreditRecord(Base):
    """One link of an enterprise's credit chain: a department's record, an inspection result, a list change or a
    repair step. Its digest (over `public`, with the subject as a keyed commitment) is appended to the subject's
    hash chain in CreditRegistry: PENDING (digest and position fixed) → APPENDED (on chain, head recorded)."""

    __tablename__ = "credit_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # position in the subject's chain, from 0
    type: Mapped[str] = mapped_column(String(32), index=True)
    department: Mapped[str] = mapped_column(String(32))
    decided_on: Mapped[date] = mapped_column(Date)
    public: Mapped[dict] = mapped_column(JSON)  # the canonical public fields the digest is taken over
    target_id: Mapped[int | None] = mapped_column(ForeignKey("credit_record.id"), nullable=True, index=True)
    digest: Mapped[str] = mapped_column(String(66), unique=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    head: Mapped[str | None] = mapped_column(String(66), nullable=True)  # chain head after this record
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    repaired_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("uscc", "seq", name="uq_credit_record_position"),)


class CreditGrade(Base):
    """A computed grade with its explanation; the latest per enterprise is current. Changes go on chain."""

    __tablename__ = "credit_grade"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    grade: Mapped[str] = mapped_column(String(1))
    score: Mapped[int] = mapped_column(Integer)
    rules_version: Mapped[str] = mapped_column(String(32))
    explanation: Mapped[list] = mapped_column(JSON)
    basis: Mapped[str] = mapped_column(String(66))  # digest of the explanation, written on chain with the grade
    state: Mapped[str] = mapped_column(String(16), index=True)  # PENDING | WRITTEN | UNCHANGED
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ListEntry(Base):
    """A red-list (守信激励) or black-list (严重失信, joint punishment) entry with its dates."""

    __tablename__ = "credit_list_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    list: Mapped[str] = mapped_column(String(8))  # red | black
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    reason: Mapped[str] = mapped_column(String(500))
    reference: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(32))
    joint_punishment: Mapped[bool] = mapped_column(Boolean, default=False)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("credit_record.id"), nullable=True)
    # PENDING (for the chain) → WRITTEN; a red entry not yet started waits (WAITING) and one ended is ENDED
    state: Mapped[str] = mapped_column(String(16), index=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class RepairApplication(Base):
    """Credit repair (信用修复): the enterprise applies for a record, the department reviews."""

    __tablename__ = "credit_repair"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("credit_record.id"), index=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    statement: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)  # APPLIED | APPROVED | REJECTED
    applied_on: Mapped[date] = mapped_column(Date)
    reviewer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    decision_note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Inspection(Base):
    """An on-site inspection (one visit, one record, however many departments took part). Batch-anchored like
    certificates: ISSUED → ANCHORED, with its batch and Merkle proof."""

    __tablename__ = "inspection"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    visited_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))  # "inspection" (the anchoring outbox groups by kind)
    department: Mapped[str] = mapped_column(String(32))  # the lead department, whose key anchors
    departments: Mapped[list] = mapped_column(JSON)  # every department in the visit
    inspectors: Mapped[list] = mapped_column(JSON)
    items: Mapped[list] = mapped_column(JSON)  # [{"item": ..., "ok": bool, "note": ...}]
    findings: Mapped[str] = mapped_column(Text)
    result: Mapped[str] = mapped_column(String(16))  # pass | issues | fail
    evidence: Mapped[list] = mapped_column(JSON)  # digests of evidence files
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("random_draw.id"), nullable=True)
    content: Mapped[dict] = mapped_column(JSON)  # the canonical public fields the digest is taken over
    digest: Mapped[str] = mapped_column(String(66), unique=True, index=True)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    state: Mapped[str] = mapped_column(String(16), index=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("anchor_batch.id"), nullable=True, index=True)
    proof: Mapped[list | None] = mapped_column(JSON, nullable=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("credit_record.id"), nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    # Scan to enter (扫码入企): a row of kind "scan" is an inspector's scan of the enterprise's one code (result "",
    # no items), anchored in the same batches as inspections; an inspection refers to the scan that opened it.
    purpose: Mapped[str | None] = mapped_column(String(16), nullable=True)  # a scan's: enter | leave
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)  # a scan's time, a visit's start
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)  # a visit's end
    # why a visit took place: schedule, or a reason from the rule file's list (complaint, alert, referral, ...)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    emergency: Mapped[str | None] = mapped_column(String(500), nullable=True)  # entered before scanning: why
    # the scan that opened a visit: one scan opens at most one (a unique index, beside the recording lock)
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("inspection.id"), nullable=True, unique=True, index=True)
    signature: Mapped[str | None] = mapped_column(String(132), nullable=True)  # a scan's, by the anchoring key


class VisitRating(Base):
    """An enterprise's anonymous rating of one visit (1-5 stars and a comment). Who rated is not kept; departments
    see ratings per department and inspector, never per enterprise or visit."""

    __tablename__ = "visit_rating"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"), unique=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    rated_on: Mapped[date] = mapped_column(Date)


class Objection(Base):
    """An enterprise's objection (异议) to a visit or a record, which the department concerned must answer by
    `due_at`; filing and answering are each a record on the enterprise's credit chain."""

    __tablename__ = "credit_objection"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspection.id"), nullable=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("credit_record.id"), nullable=True)
    department: Mapped[str] = mapped_column(String(32), index=True)  # who must answer
    text: Mapped[str] = mapped_column(Text)
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    state: Mapped[str] = mapped_column(String(16), index=True)  # OPEN | ANSWERED
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    answered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    filed_record_id: Mapped[int | None] = mapped_column(ForeignKey("credit_record.id"), nullable=True)
    answer_record_id: Mapped[int | None] = mapped_column(ForeignKey("credit_record.id"), nullable=True)


class InspectionTrigger(Base):
    """A complaint (投诉举报), a risk alert (风险预警) or a referral (转办) a department recorded about an
    enterprise: it is due for inspection, whatever its schedule, until a visit closes the trigger."""

    __tablename__ = "inspection_trigger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # complaint | alert | referral
    department: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(500))
    reference: Mapped[str] = mapped_column(String(64), default="")
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64))
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("inspection.id"), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class VisitAlert(Base):
    """无事不扰: an enterprise visited more often than its class allows within the rule file's window (joint visits
    count once). The district sees it; so does the enterprise."""

    __tablename__ = "visit_alert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"))  # the visit that went over
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    grade: Mapped[str] = mapped_column(String(1))
    visits: Mapped[int] = mapped_column(Integer)
    allowed: Mapped[int] = mapped_column(Integer)
    window_from: Mapped[date] = mapped_column(Date)
    rules_version: Mapped[str] = mapped_column(String(32))


class TaxCreditGrade(Base):
    """The tax bureau's 纳税缴费信用 grade (A, B, M, C, D) of an enterprise for a year: a grade of its own, kept
    beside market supervision's risk class; neither overwrites the other. Its record is on the credit chain."""

    __tablename__ = "tax_credit_grade"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    year: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str] = mapped_column(String(1))
    decided_on: Mapped[date] = mapped_column(Date)
    department: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("credit_record.id"), nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CreditPass(Base):
    """The daily regrading pass, one row per day: the cursor (the last enterprise done) is saved with each chunk,
    so a pass killed midway continues where it stopped; `finished_at` marks the day refreshed."""

    __tablename__ = "credit_pass"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    cursor: Mapped[str | None] = mapped_column(String(18), nullable=True)
    regraded: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class RandomDraw(Base):
    """A double random draw (双随机): the seed's commitment goes on chain before the draw, the seed after it."""

    __tablename__ = "random_draw"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    department: Mapped[str] = mapped_column(String(32))
    targets: Mapped[int] = mapped_column(Integer)
    per_target: Mapped[int] = mapped_column(Integer)  # inspectors per target
    candidates: Mapped[list] = mapped_column(JSON)  # public: [{"uscc", "grade", "weight"}], fixed at commit
    inspectors: Mapped[list] = mapped_column(JSON)  # public: inspector usernames, fixed at commit
    commitment: Mapped[str] = mapped_column(String(66))  # keccak(seed || keccak(candidates, inspectors))
    seed: Mapped[str | None] = mapped_column(String(66), nullable=True)  # revealed after the draw
    result: Mapped[list | None] = mapped_column(JSON, nullable=True)
    state: Mapped[str] = mapped_column(String(16), index=True)  # COMMITTED | DRAWN
    commit_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)
    reveal_tx: Mapped[str | None] = mapped_column(String(66), nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    committed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    drawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


# -- workers -----------------------------------------------------------------------------------------------


class WorkerLease(Base):
    """Which worker may do a job that only one may do at a time (e.g. "anchor:certificates"), until when. A lease
    is taken and renewed by one conditional UPDATE (store.lease), so that two workers never both hold it."""

    __tablename__ = "worker_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
