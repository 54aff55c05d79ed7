"""An attestation's field values checked against its kind's schema, each refusal naming the field and the rule.

Values arrive as text (`zel attest issue --field NAME=VALUE`) or as JSON (`POST /v1/department/attestations`):
`check` accepts either form for each type and gives back the normalised value (an int for integer and amount_fen,
ISO text for date and month, a bool, lowercase 0x-hex for a digest) that is signed and stored.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date
from typing import Any

from errors import InvalidInput
from kinds.schema import FieldSpec, KindSchema

MOST_FEN = 10**15  # ten trillion yuan: beyond any amount a district certifies
MONTH = re.compile(r"(\d{4})-(\d{2})")
DIGEST = re.compile(r"0x[0-9a-fA-F]{64}")


class FieldValueError(InvalidInput):
    """A field value breaks its kind's rule; `field` names it, `detail["problems"]` lists every one."""

    code = "invalid-field"


def check(schema: KindSchema, given: dict[str, Any]) -> dict[str, Any]:
    """The normalised values of every field of `schema`, or `FieldValueError` naming each field and its rule."""
    problems: list[tuple[str, str]] = []
    out: dict[str, Any] = {}
    for name in sorted(set(given) - {f.name for f in schema.fields}):
        problems.append((name, f"{schema.slug} has no field {name!r} (its fields: {', '.join(_names(schema))})"))
    for spec in schema.fields:
        if spec.name not in given or given[spec.name] is None or given[spec.name] == "":
            problems.append((spec.name, f"missing ({_rule(spec)})"))
            continue
        try:
            out[spec.name] = _value(spec, given[spec.name])
        except ValueError as exc:
            problems.append((spec.name, str(exc)))
    if problems:
        name, rule = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise FieldValueError(
            f"{name}: {rule}{more}",
            field=name,
            detail={"problems": [{"field": n, "rule": r} for n, r in problems]},
        )
    return out


def _names(schema: KindSchema) -> list[str]:
    return [f.name for f in schema.fields]


def _rule(spec: FieldSpec) -> str:
    """What a value of `spec` must be, in words."""
    if spec.type == "string":
        return f"text of at most {spec.max_length} characters"
    if spec.type == "integer":
        low = "" if spec.min is None else f" from {spec.min}"
        high = "" if spec.max is None else f" to {spec.max}"
        return f"a whole number{low}{high}"
    if spec.type == "enum":
        return "one of " + ", ".join(code for code, _ in spec.values)
    if spec.type == "table":
        return f"a list of at most {spec.max_rows} rows, each with " + ", ".join(c.name for c in spec.columns)
    return {
        "date": "a date YYYY-MM-DD",
        "month": "a month YYYY-MM",
        "amount_fen": f"an amount in fen (分), a whole number from 0 to {MOST_FEN}",
        "boolean": "true or false",
        "digest": "0x and 64 hex digits",
    }[spec.type]


def _value(spec: FieldSpec, raw: Any) -> Any:
    rule = _rule(spec)
    if spec.type == "table":
        return _table(spec, raw, rule)
    if spec.type == "string":
        if not isinstance(raw, str):
            raise ValueError(f"must be {rule}")
        text = unicodedata.normalize("NFC", raw.strip())
        if not text or len(text) > (spec.max_length or 0):
            raise ValueError(f"{len(text)} characters: must be {rule}")
        if any(unicodedata.category(c).startswith("C") for c in text):
            raise ValueError("control characters are not allowed")
        return text
    if spec.type in ("integer", "amount_fen"):
        number = _whole(raw, rule)
        low, high = (spec.min, spec.max) if spec.type == "integer" else (0, MOST_FEN)
        if (low is not None and number < low) or (high is not None and number > high):
            raise ValueError(f"{number} is out of range: must be {rule}")
        return number
    if spec.type == "date":
        if isinstance(raw, str) and len(raw) == 10:
            try:
                return date.fromisoformat(raw).isoformat()
            except ValueError:
                pass
        raise ValueError(f"{raw!r} is not {rule}")
    if spec.type == "month":
        m = MONTH.fullmatch(raw) if isinstance(raw, str) else None
        if m is None or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1900:
            raise ValueError(f"{raw!r} is not {rule}")
        return raw
    if spec.type == "enum":
        codes = [code for code, _ in spec.values]
        if raw not in codes:
            raise ValueError(f"{raw!r} is not {rule}")
        return raw
    if spec.type == "boolean":
        if isinstance(raw, bool):
            return raw
        if raw in ("true", "false"):
            return raw == "true"
        raise ValueError(f"{raw!r} is not {rule}")
    if spec.type == "digest":
        if not (isinstance(raw, str) and DIGEST.fullmatch(raw)):
            raise ValueError(f"must be {rule}")
        return raw.lower()
    raise ValueError(f"unknown type {spec.type}")  # parse() admits only TYPES


def _table(spec: FieldSpec, raw: Any, rule: str) -> list[dict[str, Any]]:
    """A table's rows, each checked column by column; a refusal names the row (from 1) and the column."""
    if isinstance(raw, str):  # from the command line: the rows as JSON
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ValueError(f"must be {rule} (as JSON)") from None
    if not isinstance(raw, list) or len(raw) > (spec.max_rows or 0):
        raise ValueError(f"must be {rule}")
    names = [c.name for c in spec.columns]
    out = []
    for i, row in enumerate(raw, 1):
        if not isinstance(row, dict) or set(row) != set(names):
            raise ValueError(f"row {i}: must have exactly the columns {', '.join(names)}")
        checked = {}
        for column in spec.columns:
            try:
                checked[column.name] = _value(column, row[column.name])
            except ValueError as exc:
                raise ValueError(f"row {i}, {column.name}: {exc}") from exc
        out.append(checked)
    return out


def _whole(raw: Any, rule: str) -> int:
    if isinstance(raw, bool):
        raise ValueError(f"must be {rule}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and re.fullmatch(r"-?\d{1,16}", raw.strip()):
        return int(raw.strip())
    raise ValueError(f"{raw!r} is not {rule}")


def widest(kind: KindSchema) -> dict[str, Any]:
    """The longest values `kind` admits (every string its full length in Chinese characters, the widest numbers):
    what its QR code must still hold (bench/qr_versions.py)."""
    out: dict[str, Any] = {}
    for f in kind.fields:
        out[f.name] = {
            "string": "禅" * (f.max_length or 1),
            "enum": f.values[-1][0] if f.values else "",
            "integer": f.min if f.min is not None else -(2**53),
            "amount_fen": MOST_FEN,
            "date": "2099-12-31",
            "month": "2099-12",
            "boolean": True,
            "digest": "0x" + "ff" * 32,
            "table": [],  # never in the QR code
        }[f.type]
    return check(kind, out)
