"""An attestation kind as data: the schema file a department writes, checked rule by rule.

A kind is a JSON file (issue 19):

    {"slug": "residence-proof", "version": 1,
     "title": {"zh": "居住证明", "en": "Residence certificate"},
     "department": "ps.440604", "subject": "person", "validity_days": 90,
     "fields": [{"name": "address", "type": "string", "max_length": 40,
                 "label": {"zh": "居住地址", "en": "Address"}, "in_qr": true}, ...]}

`parse` turns the file's object into a `KindSchema` or raises `KindSchemaError` listing every rule it breaks, each
with the place (`fields[2].max_length`) and the rule, so that someone who never read this code can fix the file.
`KindSchema.digest` is the keccak-256 of the schema's canonical JSON: what the chain's schema registry records, so
a certificate names the exact schema (slug and version) it was issued under, and a new version never changes how
an old certificate reads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from eth_utils import keccak

from errors import InvalidInput

SUBJECTS = ("person", "enterprise")  # a citizen ID number, or a USCC
TYPES = ("string", "integer", "date", "month", "amount_fen", "enum", "boolean", "digest", "table")
COLUMN_TYPES = TYPES[:-1]  # a table's columns: any type but a table
MOST_FIELDS = 16
MOST_QR_FIELDS = 6  # what fits QR version 13 at level Q beside the signature (bench/qr_versions.py)
MOST_QR_STRING = 40  # characters of a string field carried in the QR code
MOST_STRING = 500
MOST_ENUM_VALUES = 32
MOST_VALIDITY_DAYS = 3650
MOST_COLUMNS = 12
MOST_ROWS = 1000

SLUG = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
NAME = re.compile(r"[a-z][a-z0-9_]*")
CODE = re.compile(r"[a-z0-9][a-z0-9_-]*")
DEPARTMENT = re.compile(r"[a-z]+\.\d{6}")  # a bureau's short name and the district's 6-digit division code
Bad = Callable[[str, str], None]  # records a problem: where, rule
RESERVED = ("schema", "number", "subject", "department")  # the attestation's own header (kinds/eip712.py)
KEYS = {"slug", "version", "title", "department", "subject", "validity_days", "fields"}
FIELD_KEYS = {"name", "type", "label", "in_qr", "max_length", "min", "max", "values", "columns", "max_rows"}
ONLY_FOR = {
    "max_length": ("string",),
    "min": ("integer",),
    "max": ("integer",),
    "values": ("enum",),
    "columns": ("table",),
    "max_rows": ("table",),
}


class KindSchemaError(InvalidInput):
    """A kind's schema file breaks a rule; `detail["problems"]` lists each place and rule."""

    code = "invalid-kind-schema"


@dataclass(frozen=True)
class Text:
    """A label in Chinese and English."""

    zh: str
    en: str


@dataclass(frozen=True)
class FieldSpec:
    """One field of a kind: its name, type, rule and labels; `in_qr` fields travel in the QR code, the others are
    committed through the salted detail hash and shown only to the holder (and a verifier with the document)."""

    name: str
    type: str
    label: Text
    in_qr: bool
    max_length: int | None = None
    min: int | None = None
    max: int | None = None
    values: tuple[tuple[str, Text], ...] = ()
    # a table (never in the QR code: a breakdown such as a certificate's monthly lines): its columns and most rows
    columns: tuple[FieldSpec, ...] = ()
    max_rows: int | None = None


@dataclass(frozen=True)
class KindSchema:
    """A parsed, valid kind; `source` is the object it was parsed from (what `digest` hashes)."""

    slug: str
    version: int
    title: Text
    department: str
    subject: str
    validity_days: int
    fields: tuple[FieldSpec, ...]
    source: dict[str, Any]

    @cached_property  # the instance is frozen; cached_property writes its __dict__, once
    def digest(self) -> bytes:
        """keccak-256 of the canonical JSON (keys sorted, no spaces, UTF-8): the schema's identity on chain."""
        return keccak(canonical(self.source))

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


def canonical(source: dict[str, Any]) -> bytes:
    return json.dumps(source, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def load(text: str | bytes) -> KindSchema:
    """Parse a schema file's text (JSON)."""
    try:
        source = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise KindSchemaError(
            f"the schema is not JSON: {exc}", detail={"problems": [{"where": "", "rule": "not JSON"}]}
        ) from exc
    return parse(source)


def parse(source: Any) -> KindSchema:
    """A `KindSchema` from the file's object, or `KindSchemaError` naming every place and rule it breaks."""
    problems: list[tuple[str, str]] = []

    def bad(where: str, rule: str) -> None:
        problems.append((where, rule))

    if not isinstance(source, dict):
        raise KindSchemaError(
            "the schema must be a JSON object", detail={"problems": [{"where": "", "rule": "not a JSON object"}]}
        )
    for key in sorted(set(source) - KEYS):
        bad(key, f"unknown key (a schema has {', '.join(sorted(KEYS))})")
    for key in sorted(KEYS - set(source)):
        bad(key, "missing")
    slug = source.get("slug")
    if "slug" in source and not (isinstance(slug, str) and 3 <= len(slug) <= 48 and SLUG.fullmatch(slug)):
        bad("slug", "3 to 48 lowercase letters, digits and single hyphens, starting with a letter")
    version = _integer(source, "version", 1, 65535, bad)
    title = _text(source.get("title"), "title", bad) if "title" in source else None
    department = source.get("department")
    if "department" in source and not (isinstance(department, str) and DEPARTMENT.fullmatch(department)):
        bad("department", "a department id such as tax.440604 (bureau, dot, 6-digit division code)")
    subject = source.get("subject")
    if "subject" in source and subject not in SUBJECTS:
        bad("subject", "person (a citizen ID number) or enterprise (a USCC)")
    validity = _integer(source, "validity_days", 1, MOST_VALIDITY_DAYS, bad)
    fields = _fields(source.get("fields"), bad) if "fields" in source else ()
    if problems:
        where, rule = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise KindSchemaError(
            f"{where or 'schema'}: {rule}{more}",
            field=where or None,
            detail={"problems": [{"where": w, "rule": r} for w, r in problems]},
        )
    assert title is not None and version is not None and validity is not None
    return KindSchema(
        str(slug), version, title, str(department), str(subject), validity, fields, json.loads(json.dumps(source))
    )


def _integer(obj: dict[str, Any], key: str, low: int, high: int, bad: Bad, where: str | None = None) -> int | None:
    if key not in obj:
        return None
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        bad(where or key, f"a whole number from {low} to {high}")
        return None
    return value


def _text(value: Any, where: str, bad: Bad) -> Text | None:
    if not isinstance(value, dict) or set(value) != {"zh", "en"}:
        bad(where, 'an object with "zh" and "en" (Chinese and English)')
        return None
    for lang in ("zh", "en"):
        if not isinstance(value[lang], str) or not value[lang].strip() or len(value[lang]) > 80:
            bad(f"{where}.{lang}", "1 to 80 characters of text")
            return None
    return Text(value["zh"], value["en"])


def _fields(value: Any, bad: Bad) -> tuple[FieldSpec, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MOST_FIELDS:
        bad("fields", f"a list of 1 to {MOST_FIELDS} fields")
        return ()
    specs: list[FieldSpec] = []
    seen: set[str] = set()
    for i, f in enumerate(value):
        spec = _field(f, f"fields[{i}]", bad)
        if spec is None:
            continue
        if spec.name in RESERVED:
            bad(f"fields[{i}].name", f"{spec.name!r} is reserved for every attestation's own {spec.name}")
        elif spec.name in seen:
            bad(f"fields[{i}].name", f"{spec.name!r} is used by an earlier field")
        seen.add(spec.name)
        specs.append(spec)
    if sum(s.in_qr for s in specs) > MOST_QR_FIELDS:
        bad("fields", f"at most {MOST_QR_FIELDS} fields with in_qr true (the QR code's room)")
    return tuple(specs)


def _field(f: Any, where: str, bad: Bad, *, column: bool = False) -> FieldSpec | None:
    if not isinstance(f, dict):
        bad(where, "a column object" if column else "a field object")
        return None
    if column:  # a column sits in its table's place: never in the QR code, and not a table itself
        if "in_qr" in f:
            bad(f"{where}.in_qr", "a column has no in_qr: its table is outside the QR code")
            return None
        if f.get("type") == "table":
            bad(f"{where}.type", "a table's column cannot be a table")
            return None
        f = {**f, "in_qr": False}
    for key in sorted(set(f) - FIELD_KEYS):
        bad(f"{where}.{key}", f"unknown key (a field has {', '.join(sorted(FIELD_KEYS))})")
    name, kind = f.get("name"), f.get("type")
    ok = True
    if not (isinstance(name, str) and len(name) <= 32 and NAME.fullmatch(name)):
        bad(f"{where}.name", "1 to 32 lowercase letters, digits and underscores, starting with a letter")
        ok = False
    if kind not in TYPES:
        bad(f"{where}.type", f"unknown type {kind!r}: one of {', '.join(TYPES)}")
        return None
    label = _text(f.get("label"), f"{where}.label", bad)
    in_qr = f.get("in_qr")
    if not isinstance(in_qr, bool):
        bad(f"{where}.in_qr", "true (carried in the QR code) or false (only in the holder's detail)")
        ok = False
    for key, types in ONLY_FOR.items():
        if key in f and kind not in types:
            bad(f"{where}.{key}", f"applies to {' and '.join(types)} fields only, not {kind}")
            ok = False
    max_length = low = high = None
    values: tuple[tuple[str, Text], ...] = ()
    if kind == "string":
        if "max_length" not in f:
            bad(f"{where}.max_length", "missing: a string field needs its most characters")
            ok = False
        else:
            most = MOST_QR_STRING if in_qr is True else MOST_STRING
            max_length = _integer(f, "max_length", 1, most, bad, f"{where}.max_length")
            ok = ok and max_length is not None
    if kind == "integer":
        low = _integer(f, "min", -(2**53), 2**53, bad, f"{where}.min")
        high = _integer(f, "max", -(2**53), 2**53, bad, f"{where}.max")
        if low is not None and high is not None and low > high:
            bad(f"{where}.min", f"min {low} is above max {high}")
            ok = False
    if kind == "enum":
        values = _values(f.get("values"), f"{where}.values", bad)
        ok = ok and bool(values)
    columns: tuple[FieldSpec, ...] = ()
    max_rows = None
    if kind == "table":
        if in_qr is True:
            bad(f"{where}.in_qr", "a table is never in the QR code: false")
            ok = False
        if "max_rows" not in f:
            bad(f"{where}.max_rows", "missing: a table needs its most rows")
            ok = False
        else:
            max_rows = _integer(f, "max_rows", 1, MOST_ROWS, bad, f"{where}.max_rows")
            ok = ok and max_rows is not None
        columns = _columns(f.get("columns"), f"{where}.columns", bad)
        ok = ok and bool(columns)
    if label is None or not ok:
        return None
    assert isinstance(name, str) and isinstance(in_qr, bool)
    return FieldSpec(name, kind, label, in_qr, max_length, low, high, values, columns, max_rows)


def _columns(value: Any, where: str, bad: Bad) -> tuple[FieldSpec, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MOST_COLUMNS:
        bad(where, f"a list of 1 to {MOST_COLUMNS} columns, each a field without in_qr")
        return ()
    out: list[FieldSpec] = []
    for i, c in enumerate(value):
        spec = _field(c, f"{where}[{i}]", bad, column=True)
        if spec is not None and spec.name in {o.name for o in out}:
            bad(f"{where}[{i}].name", f"{spec.name!r} is used by an earlier column")
        elif spec is not None:
            out.append(spec)
    return tuple(out) if len(out) == len(value) else ()


def _values(value: Any, where: str, bad: Bad) -> tuple[tuple[str, Text], ...]:
    if not isinstance(value, dict) or not 1 <= len(value) <= MOST_ENUM_VALUES:
        bad(where, f"an object of 1 to {MOST_ENUM_VALUES} values, each code with its zh and en label")
        return ()
    out: list[tuple[str, Text]] = []
    for code, label in value.items():
        if not (len(code) <= 32 and CODE.fullmatch(code)):
            bad(f"{where}.{code}", "a code of 1 to 32 lowercase letters, digits, _ and -")
            continue
        text = _text(label, f"{where}.{code}", bad)
        if text is not None:
            out.append((code, text))
    # In code order (as the canonical JSON lists them): a payload writes an enum value as its index in this order,
    # so a schema read from its file and the same schema read back from the store (or by the page's JavaScript,
    # which sorts the codes too) index alike.
    return tuple(sorted(out)) if len(out) == len(value) else ()
