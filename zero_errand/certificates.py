"""Certificate kinds: the four payment certificates and the credit report, each issued by its department.

What a certificate says and how it is signed are its kind's schema's (kinds/standard/, `zero_errand.standard_kinds`):
an EIP-712 `Attestation` over the schema's fields, with its breakdown a table outside the QR code committed by the
hash of the salted detail (the breakdown names employers, whose USCCs every published random draw lists: without
the salt its hash could be found by trying them). Dates are day numbers (days since 1970-01-01), money is in fen,
the issue time is unix seconds (key validity is checked at that second). Certificates issued before the kinds were
schemas carry the `Certificate` struct of `qr.signed` (format 1), which verifiers still read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum

from ledger.departments import for_kind
from ledger.kinds import Kind
from qr.signed import (  # noqa: F401 - re-exported: the certificates' domain and day numbers
    Domain,
    day_number,
    from_day_number,
)

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


def issued_at_seconds(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp())
