"""Certificate kinds, their versioned content, canonical serialization and EIP-712 digest and signature.

The signed struct carries what a verifier must see (so the QR payload can rebuild it offline): kind, schema
version, number, subject (masked ID number, or USCC and enterprise name), period, totals, the hash of the
monthly breakdown, issue time, expiry day and department. Dates are day numbers (days since 1970-01-01),
money is in fen, the issue time is unix seconds (key validity is checked at that second).

The breakdown names employers (USCCs, which every published random draw lists) and amounts from a small range,
so its bare hash could be found by trying the plausible values: the hashed detail carries a random 256-bit salt
(`{"lines": [...], "salt": "<64 hex>"}`), kept with the detail in the store and in what the holder downloads.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

from ledger.departments import for_kind
from ledger.kinds import Kind
from qr.signed import (  # noqa: F401 - re-exported: the signed document is shared with verifiers
    EIP712_TYPES,
    Content,
    Domain,
    canonical,
    day_number,
    detail_hash,
    digest,
    from_day_number,
    new_salt,
    recover_signer,
    sign,
)

SCHEMA_VERSION = 1
VALIDITY_DAYS = 90


# Why a department revoked or suspended a certificate: the code travels on chain and in webhooks, the wording is
# what the verify page, the PDF and webhook receivers show (one table, so the page and the webhook never differ).
REASONS: dict[int, str] = {
    1: "issued in error",
    2: "data corrected",
    3: "obtained by fraud",
    4: "under investigation",
    5: "subject request",
    9: "other",
}
REASONS_ZH: dict[int, str] = {
    1: "误签发",
    2: "数据已更正",
    3: "以欺诈手段取得",
    4: "正在调查核实",
    5: "应持证人申请",
    9: "其他原因",
}


class CertKind(Enum):
    """The certificate kinds: (slug, code, on-chain kind, zh title, en title). The department that signs one is the
    registry's for its on-chain kind (ledger.departments.for_kind)."""

    TAX_INDIVIDUAL = ("tax-individual", 1, Kind.TAX_CERTIFICATE, "个人纳税证明", "Individual tax-payment certificate")
    TAX_ENTERPRISE = ("tax-enterprise", 2, Kind.TAX_CERTIFICATE, "企业纳税证明", "Enterprise tax-payment certificate")
    SI_INDIVIDUAL = (
        "si-individual",
        3,
        Kind.SOCIAL_INSURANCE_CERTIFICATE,
        "个人社保缴费证明",
        "Individual social-insurance contribution certificate",
    )
    SI_ENTERPRISE = (
        "si-enterprise",
        4,
        Kind.SOCIAL_INSURANCE_CERTIFICATE,
        "企业社保参保证明",
        "Enterprise social-insurance participation certificate",
    )
    # Its fields come from the credit ledger (credit/report.py), not from department payment data.
    CREDIT_REPORT = ("credit-report", 5, Kind.CREDIT_REPORT, "企业信用报告", "Enterprise credit report")

    def __init__(self, slug: str, code: int, chain_kind: Kind, title_zh: str, title_en: str):
        self.slug, self.code, self.chain_kind = slug, code, chain_kind
        self.department = for_kind(chain_kind).id
        self.title_zh, self.title_en = title_zh, title_en

    @property
    def for_enterprise(self) -> bool:
        return self.code in (2, 4, 5)

    @classmethod
    def parse(cls, value: str | int) -> CertKind:
        for kind in cls:
            if value in (kind.slug, kind.code):
                return kind
        raise ValueError(f"unknown certificate kind {value!r}; choose from {', '.join(k.slug for k in cls)}")


def salted_detail(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The detail a certificate stores and hashes: its breakdown lines and a fresh salt."""
    return {"lines": lines, "salt": new_salt()}


def stored_detail_hash(detail: dict[str, Any]) -> str:
    """The `detailHash` a stored or downloaded detail gives: the hash of the whole detail, salt included.
    (Certificates issued before details were salted hashed their bare lines.)"""
    if "salt" not in detail and "lines" in detail:
        return detail_hash(detail["lines"])
    return detail_hash(detail)


def issued_at_seconds(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp())
