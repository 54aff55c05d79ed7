"""Code validation: the standards' examples, precise errors, normalization, and the fast check sums."""

from __future__ import annotations

import json
import random
import subprocess

import pytest

from identifiers import (
    USCC_ALPHABET,
    id_check_char,
    id_check_char_reference,
    uscc_check_char,
    uscc_check_char_reference,
    validate,
)


@pytest.mark.parametrize(
    "raw,kind,normalized",
    [
        ("91110000600037341L", "uscc", "91110000600037341L"),
        ("11010519491231002X", "citizen_id", "11010519491231002X"),
        ("  9111 0000 6000 3734 1l ", "uscc", "91110000600037341L"),
        ("９１１１００００６０００３７３４１Ｌ", "uscc", "91110000600037341L"),  # full-width, as pasted from a PDF
        ("110105-19491231-002x", "citizen_id", "11010519491231002X"),
    ],
)
def test_valid_codes_are_normalized(raw, kind, normalized):
    result = validate(raw)
    assert result.valid and result.kind == kind and result.normalized == normalized and result.error is None


@pytest.mark.parametrize(
    "raw,position,fragment",
    [
        ("91110000600037341M", 18, "expected 'L'"),
        ("9111000060003734OL", 17, "'O' is not allowed (I, O, S, V and Z are never used)"),
        ("91110000600037341", None, "18 characters, not 17"),
        ("11010519491231002Y", 18, "not a check character"),
        ("11010519490229002X", 7, "1949-02-29 does not exist"),
        ("11010521990101002X", 7, "impossible"),
        ("1101051949123100A2", 17, "positions 1-17 are digits"),
        ("11010519491231002", None, "18 characters, not 17"),
    ],
)
def test_precise_errors(raw, position, fragment):
    kind = "citizen_id" if raw.startswith("110105") else "uscc"
    result = validate(raw, kind)
    assert not result.valid and result.position == position and fragment in result.error


def test_expected_check_character_is_reported():
    result = validate("11010519491231002", "citizen_id")
    assert result.expected is None
    wrong = validate("110105194912310021", "citizen_id")
    assert wrong.expected == "X" and wrong.position == 18


def test_fast_check_sums_match_the_standards_weights():
    rng = random.Random(7)
    for _ in range(20_000):
        digits = "".join(rng.choice("0123456789") for _ in range(17))
        assert id_check_char(digits) == id_check_char_reference(digits)
        chars = "".join(rng.choice(USCC_ALPHABET) for _ in range(17))
        assert uscc_check_char(chars) == uscc_check_char_reference(chars)


def test_cli(zel_bin):
    ok = subprocess.run(
        [zel_bin, "credit", "code", "９１１１００００６０００３７３４１Ｌ", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0
    assert json.loads(ok.stdout) == {
        "valid": True,
        "kind": "uscc",
        "normalized": "91110000600037341L",
        "error": None,
        "position": None,
        "expected": None,
    }
    bad = subprocess.run(
        [zel_bin, "credit", "code", "91110000600037341M", "--json"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 1 and json.loads(bad.stdout)["position"] == 18


def test_api(platform):
    r = platform.client.get("/v1/credit/code/91110000600037341M")
    assert r.status_code == 200 and r.json()["valid"] is False and r.json()["expected"] == "L"
    r = platform.client.get("/v1/credit/code/11010519491231002x")
    assert r.json()["valid"] is True and r.json()["kind"] == "citizen_id"
