"""The constants the pages' JavaScript shares with Python, written from their Python owners into
web/generated/constants.js (an ES module the page sources import; esbuild bundles it).

    .venv/bin/python -m scripts.page_constants            # write the module (the first step of `npm run build:web`)
    .venv/bin/python -m scripts.page_constants --check    # exit 1 when the committed module is stale

The module is committed with the bundles; tests/pages/test_bundle.py fails when it is not what this script makes
from the Python sources today, so a Python change without a rebuild cannot reach a page unnoticed.
"""

from __future__ import annotations

import json
import string
import sys
from datetime import date
from pathlib import Path
from typing import Any

from credit.grading import CLASSES, RECORD_TYPES, TYPE_EN, TYPE_ZH, load_policy
from credit.inspections import PURPOSES, RESULTS, SCHEDULE
from credit.tax_credit import GRADES as TAX_GRADES
from credit.tax_credit import LABEL_EN as TAX_LABEL_EN
from credit.tax_credit import LABEL_ZH as TAX_LABEL_ZH
from credit.visits import TRIGGER_KINDS
from identifiers import REGISTRATION_AUTHORITIES, USCC_ALPHABET
from kinds import eip712
from ledger import sm2, sm2_address
from ledger.departments import DEPARTMENTS
from ledger.kinds import Kind
from qr import attestation, payload
from qr.decode import SCAN_PIXELS
from qr.signed import EIP712_TYPES, Domain
from zero_errand.certificates import REASONS, REASONS_ZH, CertKind

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "web" / "generated" / "constants.js"
HEADER = (
    "// generated from Python by scripts/page_constants.py (`npm run build:web` runs it); do not edit.\n"
    "// Each constant names its Python owner; tests/pages/test_bundle.py fails when this file is stale.\n"
)


# Why a visit takes place (credit.inspections: the schedule, an open trigger of credit.visits, or one of the rule
# file's `unscheduled_reasons`), in the pages' two languages. A reason the Python side adds without a label here
# stops the build (`visit_reasons`), so no page ever shows a bare key.
VISIT_REASON_LABELS = {
    SCHEDULE: ("按风险分类定期检查", "Routine (risk-based schedule)"),
    "complaint": ("投诉举报", "Complaint"),
    "alert": ("风险预警", "Risk alert"),
    "referral": ("转办", "Referral"),
    "random_draw": ("双随机抽查", "Double random draw"),
    "emergency": ("紧急情况", "Emergency"),
}
SCAN_PURPOSE_LABELS = {
    "enter": ("进门前扫码", "Scanned before entering"),
    "leave": ("离开前扫码", "Scanned before leaving"),
}


def visit_reasons() -> dict[str, dict[str, str]]:
    """The labels of every reason a visit may have: the schedule, the trigger kinds and the rule file's list."""
    wanted = [SCHEDULE, *TRIGGER_KINDS, *load_policy().unscheduled_reasons]
    missing = [r for r in wanted if r not in VISIT_REASON_LABELS]
    if missing:
        raise SystemExit(f"scripts/page_constants.py: no label for the visit reason(s) {', '.join(missing)}")
    return {r: {"zh-CN": VISIT_REASON_LABELS[r][0], "en": VISIT_REASON_LABELS[r][1]} for r in dict.fromkeys(wanted)}


def _type_string(name: str) -> str:
    fields = ",".join(f"{f['type']} {f['name']}" for f in EIP712_TYPES[name])
    return f"{name}({fields})"


def constants() -> list[tuple[str, str, Any]]:
    """(JavaScript name, Python owner, value) for every constant the pages share with Python."""
    domain = Domain(0, "0x" + "00" * 20).as_dict()
    return [
        ("PAYLOAD_VERSION", "qr.payload.VERSION", payload.VERSION),
        ("DEPARTMENT_CODES", "ledger.departments.Department.code (payload byte -> department)", payload.DEPARTMENTS),
        (
            "EIP712_DOMAIN",
            "qr.signed.Domain.as_dict (name, version)",
            {"name": domain["name"], "version": domain["version"]},
        ),
        ("EIP712_TYPE_STRINGS", "qr.signed.EIP712_TYPES", {name: _type_string(name) for name in EIP712_TYPES}),
        (
            "ATTESTATION_VERSION",
            "qr.attestation.VERSION (payload format of a kind registered from a file)",
            attestation.VERSION,
        ),
        (
            "SM2_ATTESTATION_VERSION",
            "qr.attestation.SM2_VERSION (the same payload signed with SM2 over SM3, its key id before the signature)",
            attestation.SM2_VERSION,
        ),
        ("SM2_KEY_ID_BYTES", "qr.attestation.KEY_ID_BYTES (an SM2 key's id in a payload)", attestation.KEY_ID_BYTES),
        (
            "SM2_ADDRESS_PREFIX",
            "ledger.sm2_address (an SM2 key's address: the last 20 bytes of keccak256(prefix || X || Y))",
            sm2_address.ADDRESS_PREFIX.decode("ascii"),
        ),
        ("SM2_USER_ID", "ledger.sm2.DEFAULT_ID (the signer's id in Z_A, GB/T 32918.2)", sm2.DEFAULT_ID.decode("ascii")),
        (
            "ATTESTATION_HEADER",
            "kinds.eip712.HEADER (the Attestation struct's members before the kind's QR fields)",
            ",".join(f"{m['type']} {m['name']}" for m in eip712.HEADER),
        ),
        ("ATTESTATION_TYPES", "kinds.eip712.SOLIDITY (a schema field type -> its EIP-712 type)", eip712.SOLIDITY),
        (
            "DATE_DAYS",
            "the day numbers of datetime.date.min and .max (a payload's date beyond them is out of range)",
            [(date.min - eip712.EPOCH).days, (date.max - eip712.EPOCH).days],
        ),
        ("CHAIN_KIND", "ledger.kinds.Kind (bit in a key's kinds mask)", {k.name: k.value for k in Kind}),
        ("CERT_KIND", "zero_errand.certificates.CertKind (payload code)", {k.name: k.code for k in CertKind}),
        (
            "CERT_KINDS",
            "zero_errand.certificates.CertKind",
            {
                k.code: {
                    "slug": k.slug,
                    "chainKind": k.chain_kind.value,
                    "department": k.department,
                    "zh": k.title_zh,
                    "en": k.title_en,
                }
                for k in CertKind
            },
        ),
        (
            "DEPARTMENT_NAMES",
            "ledger.departments.DEPARTMENTS",
            {d.id: {"zh-CN": d.name_zh, "en": d.name_en} for d in DEPARTMENTS},
        ),
        (
            "GRADES",
            "credit.grading.CLASSES (a credit report's class code, 1 = A)",
            {i: c for i, c in enumerate(CLASSES, 1)},
        ),
        (
            "STATUS_REASONS",
            "zero_errand.certificates.REASONS / REASONS_ZH",
            {code: {"zh-CN": REASONS_ZH[code], "en": en.capitalize()} for code, en in REASONS.items()},
        ),
        (
            "RECORD_TYPES",
            "credit.grading.RECORD_TYPES / TYPE_ZH / TYPE_EN",
            {t: {"zh-CN": TYPE_ZH[t], "en": TYPE_EN[t]} for t in RECORD_TYPES},
        ),
        ("INSPECTION_RESULTS", "credit.inspections.RESULTS", list(RESULTS)),
        (
            "UNSCHEDULED_REASONS",
            "credit.grading.load_policy().unscheduled_reasons (an inspection not due gives one)",
            list(load_policy().unscheduled_reasons),
        ),
        ("VISIT_REASONS", "credit.inspections.SCHEDULE, credit.visits.TRIGGER_KINDS, the rule file", visit_reasons()),
        (
            "OBJECTION_ANSWER_DAYS",
            "credit.grading.load_policy().objection_answer_days (a department answers an objection within them)",
            load_policy().objection_answer_days,
        ),
        (
            "SCAN_PURPOSES",
            "credit.inspections.PURPOSES",
            {p: {"zh-CN": SCAN_PURPOSE_LABELS[p][0], "en": SCAN_PURPOSE_LABELS[p][1]} for p in PURPOSES},
        ),
        (
            "TAX_CREDIT_GRADES",
            "credit.tax_credit.GRADES / LABEL_ZH / LABEL_EN (纳税缴费信用)",
            {g: {"zh-CN": TAX_LABEL_ZH[g], "en": TAX_LABEL_EN[g]} for g in TAX_GRADES},
        ),
        ("USCC_ALPHABET", "identifiers.USCC_ALPHABET", USCC_ALPHABET),
        (
            "USCC_NEVER_USED",
            "the Latin capitals identifiers.USCC_ALPHABET leaves out",
            "".join(c for c in string.ascii_uppercase if c not in USCC_ALPHABET),
        ),
        ("REGISTRATION_AUTHORITIES", "identifiers.REGISTRATION_AUTHORITIES", "".join(sorted(REGISTRATION_AUTHORITIES))),
        ("SCAN_PIXELS", "qr.decode.SCAN_PIXELS (a photo is scaled down to at most this many pixels)", SCAN_PIXELS),
    ]


def render() -> str:
    """The module's text."""
    lines = [HEADER]
    for name, owner, value in constants():
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
        if len(text) > 100:  # a table: one entry a line, so a change reads as one line of the diff
            text = json.dumps(value, ensure_ascii=False, indent=2)
        lines.append(f"\n// {owner}\nexport const {name} = {text};\n")
    return "".join(lines)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT.relative_to(ROOT)} is stale: run `npm run build:web`", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
