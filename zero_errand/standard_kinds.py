"""The certificate kinds as schema files (issue 19): the four payment certificates and the credit report, each a
kind in kinds/standard/ like any department's (kinds/files/), with its data adapter computing the kind's fields
from what issuance sums (`zero_errand.builder.Draft`) or the credit report reads.

A kind's versions are files side by side: `<slug>.json` is version 1, `<slug>.v<N>.json` version N (the tag an
attestation's `kind` column gives, `zero_errand.attestations.tag`). Certificates are issued under the latest
(`standard_kind`); a file once issued under is never edited, since a certificate names its schema by digest and must
verify under it for as long as it lives. Every version is registered on chain in order (`standard_schemas`: the
chain refuses a version not above the latest), so a certificate issued under an earlier one keeps verifying.

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
def standard_versions(kind: CertKind) -> tuple[KindSchema, ...]:
    """Every version of `kind`'s schema in kinds/standard/, oldest first, each as the store and the chain hold it
    (its canonical JSON)."""
    paths = [FILES / f"{kind.slug}.json", *FILES.glob(f"{kind.slug}.v*.json")]
    schemas = sorted((load(canonical(load(p.read_bytes()).source)) for p in paths), key=lambda s: s.version)
    versions = [s.version for s in schemas]
    if {s.slug for s in schemas} != {kind.slug} or len(set(versions)) != len(versions):
        raise ValueError(f"kinds/standard/: the files of {kind.slug} must each hold another version of it")
    return tuple(schemas)


def standard_kind(kind: CertKind, version: int | None = None) -> KindSchema:
    """The schema of a certificate kind: the latest version (what certificates are issued under), or `version`."""
    versions = standard_versions(kind)
    if version is None:
        return versions[-1]
    found = next((s for s in versions if s.version == version), None)
    if found is None:
        raise LookupError(f"{kind.slug} has no version {version} in kinds/standard/")
    return found


def standard_schemas() -> list[KindSchema]:
    """Every version of every certificate kind, each kind's oldest first: what provisioning registers on chain and
    keeps in the store, in this order (the chain refuses a version not above the latest of its slug)."""
    return [schema for kind in CertKind for schema in standard_versions(kind)]


@cache
def standard_by_digest() -> dict[str, KindSchema]:
    """The certificate kinds' schemas, every version, by their digest (0x-hex), as a certificate's content names its
    schema."""
    return {"0x" + schema.digest.hex(): schema for schema in standard_schemas()}


def _month(day: int) -> str:
    return from_day_number(day).isoformat()[:7]


def values_of(kind: CertKind, draft: Any, schema: KindSchema | None = None) -> dict[str, Any]:
    """The values of `kind`'s schema (`schema`: one of its versions; default the latest) for a `Draft`, checked
    against it (a `FieldValueError` names a field the data breaks). A payment certificate's draft carries its period
    as day numbers, its sums, and its salted detail `{"lines": [...]}`, whose lines are the schema's `lines` rows; a
    credit report's carries its score, number of records and class code where the payment kinds carry money and
    months (credit.report.ReportDraft), and the rest of the report in its detail (`credit_report_values`)."""
    schema = schema or standard_kind(kind)
    if kind is CertKind.CREDIT_REPORT:
        return check(schema, fitted(schema, credit_report_values(draft)))
    values = {
        "period_from": _month(draft.period_from),
        "period_to": _month(draft.period_to),
        "total_fen": draft.total_fen,
        "months_paid": draft.months_paid,
        "months_in_arrears": draft.months_in_arrears,
        "lines": draft.detail.get("lines", []),
    }
    return check(schema, values)


def fitted(schema: KindSchema, values: dict[str, Any]) -> dict[str, Any]:
    """`values` cut to what `schema` has: its fields, and of a table its columns (an earlier version has fewer)."""
    out: dict[str, Any] = {}
    for spec in schema.fields:
        value = values.get(spec.name)
        if spec.type == "table" and isinstance(value, list):
            value = [{c.name: row.get(c.name) for c in spec.columns} for row in value]
        out[spec.name] = value
    return out


NONE = "—"  # a text cell with nothing to say (the schema admits no empty text)


def credit_report_values(draft: Any) -> dict[str, Any]:
    """The credit report's fields at the latest version (kinds/standard/credit-report.v2.json) from its draft
    (credit.report.draft_report): the span, the risk class, score and record count, and the tax bureau's grade, all
    as of the span's end; the lists at the span's end; the categories of a report in place of compliance
    certificates (信用代证) with their counts (and whether the district keeps them); the records, each with its
    category and 已修复; the list entries that held during the span; the risk class's basis."""
    detail = draft.detail
    records = detail.get("records", [])
    flags = [name for key, name in LISTS if detail.get("flags", {}).get(key)]
    tax = detail.get("tax_credit")
    return {
        "span_from": from_day_number(draft.period_from).isoformat(),
        "span_to": from_day_number(draft.period_to).isoformat(),
        "grade": GRADES[draft.months_in_arrears - 1],
        "score": draft.total_fen,
        "record_count": len(records),
        "tax_grade": tax["grade"].lower() if tax else "none",
        "tax_grade_basis": tax_basis(tax),
        "lists": "、".join(flags) or "无",
        "categories": [
            {
                "category": c["key"],
                "items": len(c["items"]),
                "kept": c.get("kept", True),
                "note": (c.get("note") or NONE)[:500],
            }
            for c in detail.get("categories", [])
        ],
        "records": [
            {
                "decided_on": r["decided_on"],
                "category": r.get("category"),
                "type": r["type"],
                "department": department_zh(r["department"])[:40],
                "summary": particulars(r)[:500] or NONE,
                "repaired": bool(r.get("repaired_on")),
            }
            for r in records
        ],
        "list_entries": [
            {
                "list": e["list"],
                "start_on": e["start_on"],
                "end_on": e["end_on"] or NONE,
                "in_force_at_end": e["in_force_at_end"],
                "joint_punishment": bool(e.get("joint_punishment")),
                "department": department_zh(e["department"])[:40],
                "reason": (e.get("reason") or NONE)[:500],
                "reference": (e.get("reference") or NONE)[:64],
            }
            for e in detail.get("lists", [])
        ],
        "basis": [
            {"reason": line["zh"][:200]} for line in detail.get("grade", {}).get("explanation", []) if line.get("zh")
        ],
    }


def tax_basis(tax: dict[str, Any] | None) -> str:
    """The tax bureau's grade in words: its year, grade and who decided it when (credit.tax_credit.tax_grade_on)."""
    if not tax:
        return "报告期末税务机关未评定纳税缴费信用级别 / not graded by the tax bureau at the span's end"
    return f"{tax['year']} 年度{tax['label']['zh']}（{department_zh(tax['department'])} {tax['decided_on']} 评定）"[
        :200
    ]
