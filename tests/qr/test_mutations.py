"""No mutant of a valid payload verifies VALID, and none crashes the pipeline: each gets a clear verdict.

Mutants: single bits flipped, single digits of the QR text changed, bytes and digits inserted and deleted,
truncations, fields swapped between two certificates, and a certificate presented under another kind."""

from __future__ import annotations

import json
import random
from dataclasses import fields, replace
from datetime import UTC, date, datetime

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from qr.payload import decode, encode, from_digits, to_digits
from qr.signed import Content, Domain, sign
from qr.trustlist import FORMAT, TrustList, sign_list
from qr.verify import verify_offline

ADMIN, TAX, SI, AMR = (Account.from_key(bytes([n]) * 32) for n in (31, 32, 33, 34))
SIGNERS = {1: TAX, 2: TAX, 3: SI, 4: SI, 5: AMR}
DEPARTMENTS = {1: "tax.440604", 2: "tax.440604", 3: "si.440604", 4: "si.440604", 5: "amr.440604"}
DOMAIN = Domain(131277322940537, "0x4DFD345E54a21Ecbf5b9287f8F17B173b02031Ab")
TODAY = date(2026, 11, 24)
BODY = {
    "format": FORMAT,
    "issued_at": "2026-11-24T00:00:00+00:00",
    "chain_id": DOMAIN.chain_id,
    "verifying_contract": DOMAIN.verifying_contract,
    "departments": [
        {"id": "tax.440604", "name": "税务局", "retired_at": 0},
        {"id": "si.440604", "name": "社保局", "retired_at": 0},
        {"id": "amr.440604", "name": "市场监管局", "retired_at": 0},
    ],
    "keys": [
        {"address": TAX.address, "department": "tax.440604", "kinds": 0b101, "valid_from": 0, "revoked_at": 0},
        {"address": SI.address, "department": "si.440604", "kinds": 0b110, "valid_from": 0, "revoked_at": 0},
        {"address": AMR.address, "department": "amr.440604", "kinds": 0b10000, "valid_from": 0, "revoked_at": 0},
    ],
    "revoked": [],
    "suspended": [],
}
TRUST = TrustList.load(json.dumps(sign_list(BODY, ADMIN)))
NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
VERDICTS = {"VALID", "INVALID", "UNTRUSTED_ISSUER", "REVOKED", "SUSPENDED", "EXPIRED", "PENDING_ANCHOR"}


def make(kind: int, subject: str, name: str, number: int, total: int) -> Content:
    return Content(
        kind=kind,
        version=1,
        number=f"{number:017d}",
        subject=subject,
        subjectName=name,
        periodFrom=20089,
        periodTo=20453,
        totalFen=total,
        monthsPaid=12,
        monthsInArrears=kind % 2,
        detailHash="0x" + bytes([number % 256]).hex() * 32,
        issuedAt=1_795_400_000,
        expiresOn=21000,
        department=DEPARTMENTS[kind],
    )


CONTENTS = [
    make(1, "4406**********123X", "陈志明", 11, 1_234_500),
    make(2, "91440604MA51XK0A1K", "佛山市禅城区明发陶瓷有限公司", 12, 99_000_00),
    make(3, "4406**********0042", "黄丽华", 13, 0),
    make(4, "91440604MA4UABCD1X", "禅城智造科技有限公司", 14, 5),
    make(5, "91440604MA4UABCD1X", "禅城智造科技有限公司", 15, 82),
]  # a credit report: score 82


def signed_payload(c: Content) -> bytes:
    return encode(c, sign(c, DOMAIN, SIGNERS[c.kind])[1])


PAYLOADS = [signed_payload(c) for c in CONTENTS]


def verdict(payload_or_text: bytes | str) -> str:
    text = payload_or_text if isinstance(payload_or_text, str) else "#" + to_digits(payload_or_text)
    result = verify_offline(text, TRUST, trust_anchor=ADMIN.address, today=TODAY, now=NOW)
    assert result.status in VERDICTS
    return result.status


def test_the_originals_are_valid() -> None:
    assert [verdict(p) for p in PAYLOADS] == ["VALID"] * len(PAYLOADS)


def mutants(payload: bytes, rng: random.Random) -> list[bytes | str]:
    out: list[bytes | str] = []
    for bit in range(len(payload) * 8):  # every single-bit flip
        out.append(payload[: bit // 8] + bytes([payload[bit // 8] ^ 1 << bit % 8]) + payload[bit // 8 + 1 :])
    for _ in range(60):
        at = rng.randrange(len(payload) + 1)
        out.append(payload[:at] + bytes([rng.randrange(256)]) + payload[at:])  # insert a byte
        if at < len(payload):
            out.append(payload[:at] + payload[at + 1 :])  # delete a byte
    out += [payload[:n] for n in range(0, len(payload), 7)]  # truncations
    digits = to_digits(payload)
    for at in range(len(digits)):  # every single-digit change of the QR text
        out.append("#" + digits[:at] + str((int(digits[at]) + 1 + rng.randrange(9)) % 10) + digits[at + 1 :])
    for _ in range(40):
        at = rng.randrange(len(digits))
        out.append("#" + digits[:at] + str(rng.randrange(10)) + digits[at:])
        out.append("#" + digits[:at] + digits[at + 1 :])
    return out


@pytest.mark.parametrize("index", range(len(PAYLOADS)), ids=lambda i: f"kind{i + 1}")
def test_no_byte_or_digit_mutant_is_valid(index: int) -> None:
    rng = random.Random(index)
    results = {}
    original = PAYLOADS[index]
    for mutant in mutants(original, rng):
        status = verdict(mutant)
        results.setdefault(status, 0)
        results[status] += 1
        if status == "VALID":
            # Only a mutant that decodes to the very same signed certificate may verify.
            decoded = decode(mutant if isinstance(mutant, bytes) else from_digits(mutant[1:]))
            assert decoded == decode(original), "a changed certificate verified VALID"
    assert set(results) <= {"INVALID", "VALID"}
    assert results["INVALID"] > 0.99 * sum(results.values())


def test_swapped_fields_between_certificates_are_invalid() -> None:
    a, b = CONTENTS[1], CONTENTS[3]
    sig_a = decode(PAYLOADS[1]).signature
    for f in fields(Content):
        if getattr(a, f.name) == getattr(b, f.name):
            continue
        swapped = replace(a, **{f.name: getattr(b, f.name)})
        assert verdict(encode(swapped, sig_a)) == "INVALID", f.name
    assert verdict(encode(b, sig_a)) == "INVALID"  # one certificate's content under the other's signature


@pytest.mark.parametrize(("original", "kind"), [(0, 2), (0, 3), (1, 4), (2, 1), (3, 2), (3, 5), (4, 2)])
def test_a_certificate_presented_as_another_kind_is_invalid(original: int, kind: int) -> None:
    c = CONTENTS[original]
    forged = replace(c, kind=kind)
    status = verdict(encode(forged, decode(PAYLOADS[original]).signature))
    # The kind is signed: the digest changes, recovery yields a stranger's address, and the verdict is INVALID.
    assert status == "INVALID"


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    assert verdict(data) in VERDICTS - {"VALID"}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789#", max_size=700))
def test_arbitrary_digit_strings_never_crash(text: str) -> None:
    assert verdict(text) in VERDICTS - {"VALID"}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(range(4)), st.integers(0, 2**64 - 1), st.integers(0, 255), st.integers(0, 65535))
def test_arbitrary_field_values_under_the_original_signature_are_invalid(
    index: int, total: int, months: int, day: int
) -> None:
    c = CONTENTS[index]
    forged = replace(c, totalFen=total, monthsPaid=months, expiresOn=day)
    if forged == c:
        return
    assert verdict(encode(forged, decode(PAYLOADS[index]).signature)) == "INVALID"
