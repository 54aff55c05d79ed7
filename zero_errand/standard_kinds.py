"""The certificate kinds as schema files (issue 19): the four payment certificates and the credit report, each a
kind in kinds/standard/ like any department's (kinds/files/), with its data adapter computing the kind's fields
from what issuance sums (`zero_errand.builder.Draft`) or the credit report reads.

The adapters are the only place that knows what a kind's fields mean: the payload codec, the EIP-712 struct, the
verifier, the page and the PDF read the schema alone.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from kinds.schema import KindSchema, canonical, load
from kinds.values import check
from qr.signed import from_day_number
from zero_errand.certificates import CertKind
from zero_errand.departments import DEPARTMENTS

FILES = Path(__file__).resolve().parent.parent / "kinds" / "standard"
GRADES = ("a", "b", "c", "d")  # the credit report's grade enum, in the order of credit.grading.CLASSES
LISTS = (("red_list", "红名单"), ("black_list", "黑名单"), ("joint_punishment", "联合惩戒"))


def department_zh(department: str) -> str:
    """A department's Chinese name (its id when unknown)."""
    known = DEPARTMENTS.get(department)
    return known.name_zh if known else department


def particulars(r: dict[str, Any]) -> str:
    """A credit record's text on the report, in Chinese: its summary and reference, and an inspection's visit (the
    departments, the items checked, whether it was a random draw) and a repair."""
    line = r.get("summary") or ""
    if r.get("reference") and not r["reference"].startswith("inspection:"):
        line += f"  {r['reference']}"
    visit = r.get("inspection")
    if visit:
        joint = "联合检查" if len(visit["departments"]) > 1 else "检查部门"
        line += f"（{joint}：{'、'.join(department_zh(d) for d in visit['departments'])}"
        if visit.get("items"):
            line += "；检查事项：" + "、".join(f"{i['item']} {i['result_zh']}" for i in visit["items"])
        line += "；双随机抽查" if visit.get("random_draw") else ""
        line += "）"
    return line + (f"（{r['repaired_on']} 已信用修复）" if r.get("repaired_on") else "")


@cache
def standard_kind(kind: CertKind) -> KindSchema:
    """The schema of a certificate kind, as the store and the chain hold it (its canonical JSON)."""
    parsed = load((FILES / f"{kind.slug}.json").read_bytes())
    return load(canonical(parsed.source))


@cache
def standard_by_digest() -> dict[str, KindSchema]:
    """The certificate kinds' schemas by their digest (0x-hex), as a certificate's content names its schema."""
    return {"0x" + standard_kind(k).digest.hex(): standard_kind(k) for k in CertKind}


def _month(day: int) -> str:
    return from_day_number(day).isoformat()[:7]


def values_of(kind: CertKind, draft: Any) -> dict[str, Any]:
    """The values of `kind`'s schema for a `Draft` (checked against the schema: a `FieldValueError` names a field
    the data breaks). A payment certificate's draft carries its period as day numbers, its sums, and its salted
    detail `{"lines": [...]}`, whose lines are the schema's `lines` rows; a credit report's carries its score,
    number of records and class code where the payment kinds carry money and months (credit.report.ReportDraft),
    and its records in its detail."""
    schema = standard_kind(kind)
    if kind is CertKind.CREDIT_REPORT:
        records = draft.detail.get("records", [])
        flags = [name for key, name in LISTS if draft.detail.get("flags", {}).get(key)]
        values: dict[str, Any] = {
            "span_from": from_day_number(draft.period_from).isoformat(),
            "span_to": from_day_number(draft.period_to).isoformat(),
            "grade": GRADES[draft.months_in_arrears - 1],
            "score": draft.total_fen,
            "record_count": len(records),
            "lists": "、".join(flags) or "无",
            "records": [
                {
                    "decided_on": r["decided_on"],
                    "type": r["type"],
                    "department": department_zh(r["department"]),
                    "summary": particulars(r)[:500],
                    "repaired": bool(r.get("repaired_on")),
                }
                for r in records
            ],
            "basis": [
                {"reason": line["zh"][:200]}
                for line in draft.detail.get("grade", {}).get("explanation", [])
                if line.get("zh")
            ],
        }
    else:
        values = {
            "period_from": _month(draft.period_from),
            "period_to": _month(draft.period_to),
            "total_fen": draft.total_fen,
            "months_paid": draft.months_paid,
            "months_in_arrears": draft.months_in_arrears,
            "lines": draft.detail.get("lines", []),
        }
    return check(schema, values)
