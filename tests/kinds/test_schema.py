"""Kind schema files (issue 19): the demo's files parse; every broken rule is named with its place; the digest is
the canonical JSON's and changes with any change; field values are checked and normalised, each refusal naming
the field and the rule."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from errors import InvalidInput
from kinds import schema as ks
from kinds.schema import KindSchemaError, load, parse
from kinds.values import FieldValueError, check

FILES = Path(ks.__file__).parent / "files"
RESIDENCE = json.loads((FILES / "residence-proof.json").read_text())


def problems(source) -> list[tuple[str, str]]:
    with pytest.raises(KindSchemaError) as caught:
        parse(source)
    assert isinstance(caught.value, InvalidInput)  # answered 422 / exit 2 like every invalid input
    return [(p["where"], p["rule"]) for p in caught.value.detail["problems"]]


def changed(**top) -> dict:
    source = copy.deepcopy(RESIDENCE)
    source.update(top)
    return source


def with_field(index: int, **values) -> dict:
    source = copy.deepcopy(RESIDENCE)
    source["fields"][index].update(values)
    for key, value in values.items():
        if value is None:
            del source["fields"][index][key]
    return source


@pytest.mark.parametrize("path", sorted(FILES.glob("*.json")), ids=lambda p: p.stem)
def test_the_demo_files_parse(path: Path) -> None:
    kind = load(path.read_text())
    assert kind.slug == path.stem and kind.version == 1 and kind.fields
    assert kind.title.zh and kind.title.en and all(f.label.zh and f.label.en for f in kind.fields)
    assert sum(f.in_qr for f in kind.fields) <= ks.MOST_QR_FIELDS


def test_the_example_of_the_issue_reads_as_written() -> None:
    kind = parse(RESIDENCE)
    assert (kind.department, kind.subject, kind.validity_days) == ("ps.440604", "person", 90)
    address, since, purpose = kind.fields
    assert (address.type, address.max_length, address.in_qr) == ("string", 40, True)
    assert since.type == "date" and purpose.type == "enum"
    assert [code for code, _ in purpose.values] == ["school", "work"] and purpose.values[0][1].zh == "子女入学"


@pytest.mark.parametrize(
    ("source", "where", "words"),
    [
        (with_field(0, type="text"), "fields[0].type", "unknown type 'text'"),
        (with_field(0, max_length=None), "fields[0].max_length", "missing"),
        (with_field(0, max_length=41), "fields[0].max_length", "from 1 to 40"),  # a QR string is short
        (with_field(1, max_length=10), "fields[1].max_length", "string fields only, not date"),
        (with_field(2, values={}), "fields[2].values", "1 to 32 values"),
        (with_field(2, values={"School": {"zh": "入学", "en": "School"}}), "fields[2].values.School", "lowercase"),
        (with_field(2, values={"school": {"zh": "入学"}}), "fields[2].values.school", '"zh" and "en"'),
        (with_field(0, in_qr="yes"), "fields[0].in_qr", "true"),
        (with_field(0, name="Address"), "fields[0].name", "lowercase"),
        (with_field(1, name="address"), "fields[1].name", "used by an earlier field"),
        (with_field(1, name="number"), "fields[1].name", "reserved for every attestation's own number"),
        (with_field(0, label={"zh": "地址"}), "fields[0].label", '"zh" and "en"'),
        (with_field(0, colour="red"), "fields[0].colour", "unknown key"),
        (changed(subject="company"), "subject", "person"),
        (changed(department="public security"), "department", "tax.440604"),
        (changed(slug="Residence_Proof"), "slug", "lowercase"),
        (changed(version=0), "version", "from 1 to 65535"),
        (changed(version=True), "version", "whole number"),
        (changed(validity_days=4000), "validity_days", "from 1 to 3650"),
        (changed(fields=[]), "fields", "1 to 16"),
        (changed(owner="me"), "owner", "unknown key"),
        ({k: v for k, v in RESIDENCE.items() if k != "title"}, "title", "missing"),
    ],
)
def test_each_broken_rule_is_named_with_its_place(source, where: str, words: str) -> None:
    found = problems(source)
    assert any(w == where and words in r for w, r in found), found


def test_every_problem_is_listed_at_once_and_the_message_names_the_first() -> None:
    source = with_field(0, type="text")
    source.update(subject="company", version=-1)
    with pytest.raises(KindSchemaError) as caught:
        parse(source)
    wheres = [p["where"] for p in caught.value.detail["problems"]]
    assert {"fields[0].type", "subject", "version"} <= set(wheres)
    assert caught.value.message.startswith(wheres[0]) and "more)" in caught.value.message


def test_more_than_six_qr_fields_do_not_fit() -> None:
    source = copy.deepcopy(RESIDENCE)
    source["fields"] = [
        {"name": f"f{i}", "type": "boolean", "label": {"zh": "是", "en": "Yes"}, "in_qr": True} for i in range(7)
    ]
    assert ("fields", "at most 6 fields with in_qr true (the QR code's room)") in problems(source)
    source["fields"][6]["in_qr"] = False
    assert len(parse(source).fields) == 7


def test_not_json_and_not_an_object_are_refused() -> None:
    with pytest.raises(KindSchemaError, match="not JSON"):
        load("{slug: residence}")
    with pytest.raises(KindSchemaError, match="JSON object") as caught:
        load("[1, 2]")
    assert caught.value.detail["problems"] == [{"where": "", "rule": "not a JSON object"}]


def test_the_digest_is_the_canonical_json_and_follows_every_change() -> None:
    kind = parse(RESIDENCE)
    assert kind.digest == keccak(
        json.dumps(RESIDENCE, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    reordered = json.loads(json.dumps(RESIDENCE), object_pairs_hook=lambda pairs: dict(reversed(pairs)))
    assert parse(reordered).digest == kind.digest  # the file's key order and spacing do not matter
    assert parse(changed(version=2)).digest != kind.digest
    assert parse(with_field(0, label={"zh": "住址", "en": "Address"})).digest != kind.digest


def test_values_are_checked_and_normalised() -> None:
    kind = parse(RESIDENCE)
    assert check(kind, {"address": " 禅城区祖庙街道1号 ", "since": "2024-09-01", "purpose": "school"}) == {
        "address": "禅城区祖庙街道1号",
        "since": "2024-09-01",
        "purpose": "school",
    }


@pytest.mark.parametrize(
    ("given", "field", "words"),
    [
        ({"since": "2024-09-01", "purpose": "school"}, "address", "missing (text of at most 40 characters)"),
        ({"address": "x" * 41, "since": "2024-09-01", "purpose": "school"}, "address", "41 characters"),
        ({"address": "a\x00b", "since": "2024-09-01", "purpose": "school"}, "address", "control characters"),
        ({"address": "a", "since": "2024-02-30", "purpose": "school"}, "since", "a date YYYY-MM-DD"),
        ({"address": "a", "since": "20240901", "purpose": "school"}, "since", "a date YYYY-MM-DD"),
        ({"address": "a", "since": "2024-09-01", "purpose": "perhaps"}, "purpose", "one of school, work"),
        ({"address": "a", "since": "2024-09-01", "purpose": "work", "colour": "red"}, "colour", "has no field"),
    ],
)
def test_a_wrong_value_names_the_field_and_the_rule(given: dict, field: str, words: str) -> None:
    with pytest.raises(FieldValueError) as caught:
        check(parse(RESIDENCE), given)
    found = [(p["field"], p["rule"]) for p in caught.value.detail["problems"]]
    assert any(f == field and words in r for f, r in found), found
    assert isinstance(caught.value, InvalidInput)


TYPED = {
    "slug": "typed-kind",
    "version": 1,
    "title": {"zh": "类型", "en": "Types"},
    "department": "tax.440604",
    "subject": "enterprise",
    "validity_days": 30,
    "fields": [
        {"name": "n", "type": "integer", "min": -5, "max": 5, "label": {"zh": "数", "en": "N"}, "in_qr": True},
        {"name": "fen", "type": "amount_fen", "label": {"zh": "金额", "en": "Amount"}, "in_qr": True},
        {"name": "m", "type": "month", "label": {"zh": "月份", "en": "Month"}, "in_qr": True},
        {"name": "ok", "type": "boolean", "label": {"zh": "是否", "en": "OK"}, "in_qr": True},
        {"name": "d", "type": "digest", "label": {"zh": "摘要", "en": "Digest"}, "in_qr": False},
    ],
}


def test_each_type_takes_text_or_json_and_refuses_the_rest() -> None:
    kind = parse(TYPED)
    digest = "0x" + "AB" * 32
    good = check(kind, {"n": "-5", "fen": 1999, "m": "2026-11", "ok": "true", "d": digest})
    assert good == {"n": -5, "fen": 1999, "m": "2026-11", "ok": True, "d": digest.lower()}
    assert check(kind, {"n": 5, "fen": "0", "m": "2026-01", "ok": False, "d": digest})["ok"] is False
    for name, bad in (
        ("n", "6"),
        ("n", True),
        ("n", "1.5"),
        ("fen", -1),
        ("fen", 10**15 + 1),
        ("m", "2026-13"),
        ("ok", "yes"),
        ("d", "0x12"),
        ("m", "26-01"),
    ):
        values = {"n": 0, "fen": 0, "m": "2026-01", "ok": True, "d": digest, name: bad}
        with pytest.raises(FieldValueError) as caught:
            check(kind, values)
        assert caught.value.field == name, (name, bad)


def test_min_above_max_is_refused() -> None:
    source = copy.deepcopy(TYPED)
    source["fields"][0].update(min=6, max=5)
    assert ("fields[0].min", "min 6 is above max 5") in problems(source)


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=4),
        max_leaves=12,
    )
)
def test_any_json_is_answered_with_a_schema_or_a_precise_refusal(source) -> None:
    try:
        parse(source)
    except KindSchemaError as exc:
        assert exc.message and all(set(p) == {"where", "rule"} for p in exc.detail["problems"])
