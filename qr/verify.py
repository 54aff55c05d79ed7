"""The verification pipeline: decode, check the format, recompute the digest, recover the signer, check the
signer's authority at the issue time, check the anchor and the status, check the expiry. One verdict.

The online checks ask a `Resolver` (the ledger and the store behind it). The same steps run in the verify
page's JavaScript.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol

from kinds import eip712
from kinds.eip712 import NO_DETAIL
from kinds.schema import KindSchema
from ledger import sm2
from ledger.kinds import Kind
from qr import attestation
from qr.attestation import sm2_message
from qr.payload import PayloadError, Signed, decode, payload_from_text
from qr.signed import Domain, digest, domain_separator, from_day_number, recover_from_digest

Status = Literal["VALID", "INVALID", "UNTRUSTED_ISSUER", "REVOKED", "SUSPENDED", "EXPIRED", "PENDING_ANCHOR"]
# "foreign-anchor": the batch holding the digest was anchored by another department than the certificate's.
ChainState = Literal["anchored", "pending", "revoked", "suspended", "unknown", "offline", "foreign-anchor"]
CHAIN_KIND = {1: 0, 2: 0, 3: 1, 4: 1, 5: 4}  # certificate kind code -> on-chain attestation kind
KIND_ZH = {1: "个人纳税证明", 2: "企业纳税证明", 3: "个人社保缴费证明", 4: "企业社保参保证明", 5: "企业信用报告"}
KIND_EN = {
    1: "Individual tax-payment certificate",
    2: "Enterprise tax-payment certificate",
    3: "Individual social-insurance contribution certificate",
    4: "Enterprise social-insurance participation certificate",
    5: "Enterprise credit report",
}
GRADES = {1: "A", 2: "B", 3: "C", 4: "D"}


class Resolver(Protocol):
    """What online verification asks of the ledger."""

    def domain(self) -> Domain: ...

    def is_authorized(self, signer: str, chain_kind: int, timestamp: int) -> bool: ...

    def key_known(self, signer: str) -> bool: ...

    def key_department(self, signer: str) -> str | None:
        """The department a registered key belongs to."""
        ...

    def key_migrated(self, signer: str) -> bool:
        """Whether the key was registered through the migration path (a historic window)."""
        ...

    def state(self, digest_hex: str, department: str) -> ChainState:
        """The digest's state as the certificate's `department` anchored it."""
        ...

    def kinds(self) -> Mapping[bytes, KindSchema]:
        """The kinds registered on chain, by schema id (`qr.attestation.schema_id`)."""
        ...

    def sm2_key(self, key_id: bytes) -> tuple[str, bytes] | None:
        """The registered SM2 key with this 4-byte id: its address and public key X || Y; None when none is."""
        ...


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not checked
    zh: str
    en: str


@dataclass
class Verdict:
    status: Status
    checks: list[Check] = field(default_factory=list)
    certificate: dict[str, Any] | None = None
    digest: str | None = None
    signer: str | None = None
    as_of: str | None = None  # offline with a stale trust list: "valid as of" this date
    unchecked: list[str] = field(default_factory=list)  # checks that could not be made (offline)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _show(signed: Signed) -> dict[str, Any]:
    c = signed.content
    return {
        "kind": c.kind,
        "kind_zh": KIND_ZH[c.kind],
        "kind_en": KIND_EN[c.kind],
        "number": c.number,
        "subject": c.subject,
        "subject_name": c.subjectName,
        "period_from": str(from_day_number(c.periodFrom)),
        "period_to": str(from_day_number(c.periodTo)),
        "total_fen": c.totalFen,
        "months_paid": c.monthsPaid,
        "months_in_arrears": c.monthsInArrears,
        "issued_at": datetime.fromtimestamp(c.issuedAt, UTC).isoformat(),
        "expires_on": str(from_day_number(c.expiresOn)),
        "department": c.department,
        **(
            {"credit_score": c.totalFen, "records": c.monthsPaid, "grade": GRADES.get(c.monthsInArrears, "?")}
            if c.kind == 5
            else {}
        ),
    }


def _unreadable(exc: Exception) -> Verdict:
    return Verdict("INVALID", [Check("format", False, f"二维码内容无法识别：{exc}", f"Unreadable payload: {exc}")])


def verify_text(text: str, resolver: Resolver, today: date | None = None) -> Verdict:
    """Verify a verify URL, a `#digits` fragment or bare payload digits: a certificate (format 1) or an
    attestation of a registered kind (format 2, `qr.attestation`)."""
    try:
        data = payload_from_text(text)
        if data[:1] and data[0] in attestation.VERSIONS:
            return verify_attestation(attestation.decode(data, resolver.kinds()), resolver, today)
        signed = decode(data)
    except PayloadError as exc:
        return _unreadable(exc)
    return verify_signed(signed, resolver, today)


def show_attestation(att: attestation.Attestation) -> dict[str, Any]:
    """What a verifier sees of an attestation: its kind's title, the header, and each QR field with its labels."""
    kind, h = att.kind, att.header
    fields = []
    for spec in kind.fields:
        if not spec.in_qr:
            continue
        value = att.values[spec.name]
        shown = dict(spec.values).get(value) if spec.type == "enum" else None
        fields.append(
            {
                "name": spec.name,
                "label_zh": spec.label.zh,
                "label_en": spec.label.en,
                "value": value,
                "value_zh": shown.zh if shown else None,
                "value_en": shown.en if shown else None,
            }
        )
    return {
        "kind": kind.slug,
        "kind_version": kind.version,
        "kind_zh": kind.title.zh,
        "kind_en": kind.title.en,
        "schema": "0x" + kind.digest.hex(),
        "number": h["number"],
        "subject": h["subject"],
        "subject_name": h["subjectName"],
        "issued_at": datetime.fromtimestamp(h["issuedAt"], UTC).isoformat(),
        "expires_on": str(from_day_number(h["expiresOn"])),
        "department": h["department"],
        "fields": fields,
        "has_detail": h["detailHash"] != "0x" + NO_DETAIL.hex(),
        "suite": att.suite,  # secp256k1 (EIP-712) or sm2 (SM2/SM3)
    }


def verify_attestation(att: attestation.Attestation, resolver: Resolver, today: date | None = None) -> Verdict:
    """The pipeline for an attestation of a registered kind: its digest is rebuilt from its kind's schema
    (`kinds.eip712`), and its signer must be a key of the kind's department holding the attestation kind."""
    checks = [Check("format", True, "格式正确", "Well-formed payload")]
    display = show_attestation(att)
    try:
        msg = eip712.message(att.kind, att.header, att.values)
        domain = resolver.domain()
        separator = domain_separator(domain.chain_id, domain.verifying_contract)
        digest_bytes = eip712.digest(att.kind, separator, msg)
    except ValueError as exc:  # a value out of its EIP-712 type's range
        checks[0] = Check("format", False, f"字段超出范围：{exc}", f"A field is out of range: {exc}")
        return Verdict("INVALID", checks, display)
    h = att.header
    if att.suite == "sm2":
        signer = _sm2_signer(att.key_id, sm2_message(separator, att.signed), att.signature, resolver)
    else:
        signer = _recovered(digest_bytes, att.signature, resolver)
    return _judge(
        checks,
        display,
        digest_bytes,
        signer,
        att.kind.department,
        int(Kind.ATTESTATION),
        h["issuedAt"],
        h["expiresOn"],
        resolver,
        today,
    )


def verify_signed(signed: Signed, resolver: Resolver, today: date | None = None) -> Verdict:
    checks = [Check("format", True, "格式正确", "Well-formed payload")]
    c = signed.content
    display = _show(signed)
    domain = resolver.domain()
    try:
        digest_bytes = digest(c, domain)
    except ValueError as exc:  # a field out of its EIP-712 type's range
        checks[0] = Check("format", False, f"字段超出范围：{exc}", f"A field is out of range: {exc}")
        return Verdict("INVALID", checks, display)
    return _judge(
        checks,
        display,
        digest_bytes,
        _recovered(digest_bytes, signed.signature, resolver),
        c.department,
        CHAIN_KIND[c.kind],
        c.issuedAt,
        c.expiresOn,
        resolver,
        today,
    )


@dataclass(frozen=True)
class _Refused:
    """Why the signature step failed, and the address recovered from a secp256k1 signature, if any."""

    check: Check
    signer: str | None = None


_MALFORMED = Check("signature", False, "签名无效", "The signature is invalid")
# A signature that holds for no registered key: the content was altered after signing (or a stranger signed it).
_ALTERED = Check(
    "signature",
    False,
    "签名与内容不符：内容可能被篡改",
    "The signature does not match the content: it may have been altered",
)


def _recovered(digest_bytes: bytes, signature: bytes, resolver: Resolver) -> str | _Refused:
    """The registered key a secp256k1 signature recovers to. Recovery always yields some address; one no department
    ever registered means the content was altered after signing (or a stranger signed it)."""
    try:
        signer = recover_from_digest(digest_bytes, signature)
    except ValueError:  # malformed signature values
        return _Refused(_MALFORMED)
    return signer if resolver.key_known(signer) else _Refused(_ALTERED, signer)


def _sm2_signer(key_id: bytes, message: bytes, signature: bytes, resolver: Resolver) -> str | _Refused:
    """The registered SM2 key named by `key_id`, when its signature of `message` holds. An unknown key id, or a
    signature that fails, reads as a secp256k1 signature that recovers to no registered key: altered content."""
    found = resolver.sm2_key(key_id)
    if found is None:
        return _Refused(_ALTERED)
    address, public = found
    try:
        holds = sm2.public_key(public).verify(message, signature)
    except sm2.Sm2Error:
        return _Refused(_MALFORMED)
    return address if holds else _Refused(_ALTERED)


def _judge(
    checks: list[Check],
    display: dict[str, Any],
    digest_bytes: bytes,
    signed_by: str | _Refused,
    department: str,
    chain_kind: int,
    issued_at: int,
    expires_on: int,
    resolver: Resolver,
    today: date | None,
) -> Verdict:
    """The steps every kind shares once its digest is rebuilt: the signer, its department and authority at the issue
    time, the anchor and status (as `department` anchored it), the expiry day."""
    digest_hex = "0x" + digest_bytes.hex()
    if isinstance(signed_by, _Refused):
        checks.append(signed_by.check)
        return Verdict("INVALID", checks, display, digest_hex, signed_by.signer)
    signer = signed_by
    checks.append(Check("signature", True, "签名可验证", f"Signed by {signer}"))
    key_department = resolver.key_department(signer)
    if key_department != department:
        # A certificate belongs to one department: the key that signed it must be that department's.
        checks.append(
            Check(
                "issuer",
                False,
                f"签发密钥属于 {key_department}，与证明所载签发机关 {department} 不符",
                f"The signing key belongs to {key_department}, not to {department}, the department "
                "the certificate names",
            )
        )
        return Verdict("UNTRUSTED_ISSUER", checks, display, digest_hex, signer)
    if not resolver.is_authorized(signer, chain_kind, issued_at):
        checks.append(
            Check(
                "issuer",
                False,
                "签发密钥在签发时未获授权",
                "The department key was not authorized for this kind at the issue time",
            )
        )
        return Verdict("UNTRUSTED_ISSUER", checks, display, digest_hex, signer)
    checks.append(Check("issuer", True, "签发机关已获授权", "Issued by an authorized department key"))
    if resolver.key_migrated(signer):
        checks.append(
            Check(
                "migration",
                None,
                "签发密钥经链迁移登记（历史有效期已在链上记录）",
                "The signing key was registered through the recorded chain migration (historic window)",
            )
        )
    state = resolver.state(digest_hex, department)
    offline = state == "offline"
    if offline:
        checks.append(Check("anchor", None, "离线核验：未核对上链情况", "Offline: anchoring was not checked"))
    elif state == "unknown":
        checks.append(Check("anchor", False, "账本中查无此证明", "The ledger does not know this certificate"))
        return Verdict("INVALID", checks, display, digest_hex, signer)
    elif state == "foreign-anchor":
        checks.append(
            Check(
                "anchor",
                False,
                "存证批次并非由证明所载签发机关上链",
                "Its batch was anchored by another department than the one the certificate names",
            )
        )
        return Verdict("UNTRUSTED_ISSUER", checks, display, digest_hex, signer)
    if state == "pending":
        checks.append(Check("anchor", None, "已签发，等待上链", "Issued; its batch is not on chain yet"))
        return Verdict("PENDING_ANCHOR", checks, display, digest_hex, signer)
    if not offline:
        checks.append(Check("anchor", True, "已上链存证", "Anchored on the ledger"))
    if state == "revoked":
        checks.append(Check("status", False, "证明已被撤销", "The certificate has been revoked"))
        return Verdict("REVOKED", checks, display, digest_hex, signer)
    if state == "suspended":
        checks.append(Check("status", False, "证明已被暂停使用", "The certificate is suspended"))
        return Verdict("SUSPENDED", checks, display, digest_hex, signer)
    if offline:
        checks.append(Check("status", True, "信任列表生成时未撤销", "Not revoked when the trust list was made"))
    else:
        checks.append(Check("status", True, "未撤销", "Not revoked or suspended"))
    today = today or datetime.now(UTC).date()
    if from_day_number(expires_on) < today:
        checks.append(
            Check(
                "expiry",
                False,
                f"已于 {from_day_number(expires_on)} 过期",
                f"Expired on {from_day_number(expires_on)}",
            )
        )
        return Verdict("EXPIRED", checks, display, digest_hex, signer)
    checks.append(
        Check("expiry", True, f"有效期至 {from_day_number(expires_on)}", f"Valid until {from_day_number(expires_on)}")
    )
    return Verdict("VALID", checks, display, digest_hex, signer)


def verify_offline(
    text: str,
    trust: Any,
    *,
    trust_anchor: str | None = None,
    today: date | None = None,
    now: datetime | None = None,
    stale_after_days: float = 7,
) -> Verdict:
    """Verify with a trust list only. A stale list degrades the verdict to "valid as of" its date."""
    verdict = verify_text(text, trust.resolver, today)
    age = trust.age_days(now)
    issued = trust.issued_at.date().isoformat()
    if trust_anchor is None:
        # A list anybody could have signed proves nothing: never VALID without a pinned anchor.
        verdict.checks.insert(
            0,
            Check(
                "trustlist",
                False,
                f"信任列表由 {trust.signer} 签名，未固定信任锚",
                f"Trust list signed by {trust.signer}; no trust anchor pinned",
            ),
        )
        verdict.unchecked.append("trustlist-origin")
        if verdict.status != "INVALID":  # nor REVOKED: what an unpinned list says of status proves nothing either
            verdict.status = "UNTRUSTED_ISSUER"
        return verdict
    if trust_anchor.lower() != trust.signer.lower():
        verdict.checks.insert(
            0,
            Check(
                "trustlist",
                False,
                "信任列表并非由区管理员签发",
                "The trust list is not signed by the pinned district admin",
            ),
        )
        verdict.status = "UNTRUSTED_ISSUER"
        return verdict
    verdict.checks.insert(
        0,
        Check(
            "trustlist",
            True,
            f"信任列表生成于 {issued}（{age:.1f} 天前）",
            f"Trust list of {issued} ({age:.1f} days old)",
        ),
    )
    verdict.unchecked.append("anchor")
    verdict.unchecked.append("revocations-after-" + issued)
    if verdict.status == "VALID" and age > stale_after_days:
        verdict.as_of = issued
        verdict.checks.append(
            Check(
                "freshness",
                None,
                f"信任列表已过期：截至 {issued} 有效",
                f"The trust list is stale: valid as of {issued}",
            )
        )
    return verdict
