"""Citizen ID numbers (GB 11643-1999) and unified social credit codes (GB 32100-2015): check characters,
validation with precise errors, masks and normalization of what people paste.

A leaf package (standard library only, none of ours) so that every package may use it: `credit` checks codes,
`zero_errand` checks the people it seeds and registers, `qr` packs a USCC in its alphabet, `api` types its
parameters with it (api/http/params.py).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from operator import mul
from typing import Any, Literal, NamedTuple

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_DIGIT = {str(i): i for i in range(10)}
_DROP = str.maketrans("", "", " \t\r\n-_\u3000")
REGISTRATION_AUTHORITIES = set("123456789ANY")
USCC_CHARS = "[0-9A-HJ-NPQRTUWXY]"  # USCC_ALPHABET as a regular-expression character class
# Hot paths (the benchmark asks for 200,000 codes a second): whole-code regexes first, character loops only
# to locate an error; check sums over the bytes of the code rather than per-character lookups.
_ID_SHAPE = re.compile(r"[1-9]\d{16}[\dX]")
_USCC_SHAPE = re.compile(rf"[1-9ANY]{USCC_CHARS}\d{{6}}{USCC_CHARS}{{10}}")
_SHAPE = re.compile(f"(?P<id>{_ID_SHAPE.pattern})|(?P<uscc>{_USCC_SHAPE.pattern})")
# The weights are powers: 2^(18-i) mod 11 for ID numbers and 3^(i-1) mod 31 for USCCs. Since 13 ≡ 2 (mod 11)
# and 34 ≡ 3 (mod 31), Python's C-level int(text, base) computes the weighted sums: the first 17 ID digits
# read in base 13, and the first 17 USCC characters reversed and read in base 34 (after mapping the USCC
# alphabet, which skips I, O, S, V and Z, onto the standard digits 0-9A-U).
_USCC_TO_BASE34 = bytes.maketrans(USCC_ALPHABET.encode(), b"0123456789ABCDEFGHIJKLMNOPQRSTU")

Kind = Literal["citizen_id", "uscc"]


class CodeResult(NamedTuple):
    """A validation outcome; `position` is 1-based, pointing at the first offending character."""

    valid: bool
    kind: Kind | None
    normalized: str
    error: str | None = None
    position: int | None = None
    expected: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()


_valid = tuple.__new__  # builds a CodeResult without NamedTuple's keyword handling (hot path)


def id_check_char(first17: str) -> str:
    """The GB 11643 check character of the first 17 digits."""
    return ID_CHECK[2 * int(first17, 13) % 11]


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters."""
    return USCC_ALPHABET[-int(first17[::-1].encode().translate(_USCC_TO_BASE34), 34) % 31]


def id_check_char_reference(first17: str) -> str:
    """The check character computed literally from the standard's weights (tests compare the two)."""
    return ID_CHECK[sum(map(mul, map(int, first17), ID_WEIGHTS)) % 11]


def uscc_check_char_reference(first17: str) -> str:
    total = sum(map(mul, map(_USCC_VALUE.__getitem__, first17), USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_MONTH_DAYS = frozenset(f"{m:02d}{d:02d}" for m in range(1, 13) for d in range(1, _DAYS[m] + 1))


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


_today = ""


def _today_ymd() -> str:
    """Today as "YYYYMMDD". The cached value is only refreshed when a date passes it (days only grow)."""
    global _today
    _today = date.today().strftime("%Y%m%d")
    return _today


_today_ymd()


def is_valid_id_number(value: str) -> bool:
    return validate_id_number(value).valid


def is_valid_uscc(value: str) -> bool:
    return validate_uscc(value).valid


def mask_id_number(value: str) -> str:
    """`4406**********123X`: region prefix and last four characters only."""
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def normalize(raw: str) -> str:
    """Upper case, full-width to half-width (NFKC), spaces and dashes removed."""
    if raw.isalnum() and raw.isascii():
        return raw.upper()
    joined = "".join(raw.split())
    if joined.isalnum() and joined.isascii():
        return joined.upper()
    if raw.isascii():
        return raw.translate(_DROP).upper()
    return unicodedata.normalize("NFKC", raw).translate(_DROP).upper()


def validate_id_number(raw: str) -> CodeResult:
    code = normalize(raw)
    if _ID_SHAPE.fullmatch(code):
        return _check_id(code)
    if len(code) != 18:
        return CodeResult(False, "citizen_id", code, f"a citizen ID number has 18 characters, not {len(code)}")
    for i, c in enumerate(code[:17]):
        if c not in _DIGIT:
            return CodeResult(
                False, "citizen_id", code, f"character {c!r} is not allowed here: positions 1-17 are digits", i + 1
            )
    if code[17] not in ID_CHECK:
        return CodeResult(False, "citizen_id", code, f"character {code[17]!r} is not a check character (0-9 or X)", 18)
    return CodeResult(False, "citizen_id", code, "the region code cannot start with 0", 1)


def _check_id(code: str) -> CodeResult:
    ymd = code[6:14]  # fixed-width digits: string comparison is date comparison
    mmdd = ymd[4:]
    if mmdd not in _MONTH_DAYS or (mmdd == "0229" and not _leap(int(ymd[:4]))):
        return CodeResult(False, "citizen_id", code, f"birth date {ymd[:4]}-{ymd[4:6]}-{ymd[6:]} does not exist", 7)
    if ymd < "19000101" or (ymd > _today and ymd > _today_ymd()):
        return CodeResult(False, "citizen_id", code, f"birth date {ymd[:4]}-{ymd[4:6]}-{ymd[6:]} is impossible", 7)
    expected = id_check_char(code[:17])
    if code[17] != expected:
        return CodeResult(
            False, "citizen_id", code, f"check character is {code[17]!r}, expected {expected!r}", 18, expected
        )
    return _valid(CodeResult, (True, "citizen_id", code, None, None, None))


def validate_uscc(raw: str) -> CodeResult:
    code = normalize(raw)
    if _USCC_SHAPE.fullmatch(code):
        return _check_uscc(code)
    if len(code) != 18:
        return CodeResult(False, "uscc", code, f"a unified social credit code has 18 characters, not {len(code)}")
    for i, c in enumerate(code):
        if c not in _USCC_VALUE:
            hint = " (I, O, S, V and Z are never used)" if c in "IOSVZ" else ""
            return CodeResult(False, "uscc", code, f"character {c!r} is not allowed{hint}", i + 1)
    if code[0] not in REGISTRATION_AUTHORITIES:
        return CodeResult(False, "uscc", code, f"{code[0]!r} is not a registration authority code", 1)
    return CodeResult(
        False,
        "uscc",
        code,
        "positions 3-8 are the region code and must be digits",
        3 + next(i for i, c in enumerate(code[2:8]) if not c.isdigit()),
    )


def _check_uscc(code: str) -> CodeResult:
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        return CodeResult(False, "uscc", code, f"check character is {code[17]!r}, expected {expected!r}", 18, expected)
    return _valid(CodeResult, (True, "uscc", code, None, None, None))


def validate(raw: str, kind: Kind | None = None) -> CodeResult:
    """Validate a citizen ID number or a USCC; without `kind`, tell them apart from the characters."""
    if kind == "citizen_id":
        return validate_id_number(raw)
    if kind == "uscc":
        return validate_uscc(raw)
    code = normalize(raw)
    shape = _SHAPE.fullmatch(code)
    if shape is not None:
        if shape.lastgroup == "uscc":
            return _check_uscc(code)
        as_id = _check_id(code)
        if as_id.valid or not _USCC_SHAPE.fullmatch(code):
            return as_id
        as_uscc = _check_uscc(code)
        return as_uscc if as_uscc.valid else as_id
    if len(code) == 18 and code[:17].isdigit():
        return validate_id_number(code)
    if len(code) != 18:
        return CodeResult(False, None, code, f"an ID number or a USCC has 18 characters, not {len(code)}")
    return validate_uscc(code)
