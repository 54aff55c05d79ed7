"""No mutant of a valid payload verifies VALID, and none crashes the pipeline: each gets a clear verdict.

Mutants: single bits flipped, single digits of the QR text changed, bytes and digits inserted and deleted,
truncations, fields swapped between two certificates, and a certificate presented under another kind; the same for
attestations of every kind registered from a file (and one with every field type), which are also presented under
another kind's schema, signed by the wrong department or by a key without the attestation kind, and given values
beyond their EIP-712 types. Attestations run in both signature suites (issue 20): secp256k1 over EIP-712 (payload
format 2) and SM2 over SM3 (format 3), with the same verdicts."""

from __future__ import annotations

import json
import random
from dataclasses import fields, replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from kinds import eip712
from kinds import schema as ks
from kinds.schema import KindSchema, canonical, parse
from kinds.values import check, widest
from ledger import sm2
from ledger.kinds import Kind
from qr import attestation
from qr.payload import decode, encode, from_digits, subject_bytes, to_digits, varint
from qr.signed import Content, Domain, domain_separator, sign
from qr.trustlist import FORMAT, TrustList, sign_list
from qr.verify import verify_offline
from tests.kinds.test_schema import TYPED
from zero_errand.certificates import CertKind
from zero_errand.standard_kinds import standard_kind

ADMIN, TAX, SI, AMR, PS, EDU, TAX_CERTS_ONLY = (Account.from_key(bytes([n]) * 32) for n in range(31, 38))
ATTEST = 1 << Kind.ATTESTATION
# each department's SM2 certificate key, and one of the tax bureau's without the attestation kind
SM2_KEY_OF = {
    d: sm2.PrivateKey(bytes([n]) * 32)
    for n, d in enumerate(("tax.440604", "si.440604", "amr.440604", "ps.440604", "edu.440604"), 41)
}
SM2_TAX_CERTS_ONLY = sm2.PrivateKey(bytes([47]) * 32)


def sm2_entry(key: sm2.PrivateKey, department: str, kinds: int = ATTEST) -> dict:
    """A key-list entry of an SM2 key, as `zero_errand.verification.key_list` writes it."""
    public = key.public
    return {
        "address": public.address,
        "department": department,
        "kinds": kinds,
        "valid_from": 0,
        "revoked_at": 0,
        "suite": "sm2",
        "public_key": "0x" + public.raw.hex(),
    }


# The demo kinds as the store and the key list carry them (their canonical JSON), and one with every field type.
KINDS = [
    parse(json.loads(canonical(parse(json.loads(p.read_text())).source)))
    for p in sorted((Path(ks.__file__).parent / "files").glob("*.json"))
] + [parse(TYPED)]
# and the certificate kinds' own (kinds/standard/): every kind a deployment registers
KINDS += [standard_kind(k) for k in CertKind]
BY_SLUG = {k.slug: k for k in KINDS}
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
        {"id": "ps.440604", "name": "公安分局", "retired_at": 0},
        {"id": "edu.440604", "name": "教育局", "retired_at": 0},
    ],
    "keys": [
        {"address": TAX.address, "department": "tax.440604", "kinds": 0b101 | ATTEST, "valid_from": 0, "revoked_at": 0},
        {"address": SI.address, "department": "si.440604", "kinds": 0b110 | ATTEST, "valid_from": 0, "revoked_at": 0},
        {
            "address": AMR.address,
            "department": "amr.440604",
            "kinds": 0b10000 | ATTEST,
            "valid_from": 0,
            "revoked_at": 0,
        },
        {"address": PS.address, "department": "ps.440604", "kinds": ATTEST, "valid_from": 0, "revoked_at": 0},
        {"address": EDU.address, "department": "edu.440604", "kinds": ATTEST, "valid_from": 0, "revoked_at": 0},
        {
            "address": TAX_CERTS_ONLY.address,
            "department": "tax.440604",
            "kinds": 0b101,
            "valid_from": 0,
            "revoked_at": 0,
        },
        *(sm2_entry(key, department) for department, key in SM2_KEY_OF.items()),
        sm2_entry(SM2_TAX_CERTS_ONLY, "tax.440604", 0b101),
    ],
    "kinds": [
        {
            "index": i,
            "digest": "0x" + k.digest.hex(),
            "department": k.department,
            "schema": json.loads(canonical(k.source)),
        }
        for i, k in enumerate(KINDS, 1)
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
SEPARATOR = domain_separator(DOMAIN.chain_id, DOMAIN.verifying_contract)
KEY_OF = {"ps.440604": PS, "edu.440604": EDU, "tax.440604": TAX, "si.440604": SI, "amr.440604": AMR}
TAX_LINE = {"period": "2025-03", "tax_type": "individual_income", "amount_fen": 12_345, "status": "paid"}
SI_LINE = {
    "month": "2025-03",
    "insurance": "pension",
    "employer": "91440604MA4UABCD1X",
    "base_fen": 900_000,
    "amount_fen": 72_000,
    "status": "arrears",
}
PAYMENT = {"period_from": "2025-01", "period_to": "2025-06", "total_fen": 1_234_500, "months_paid": 5}
TYPICAL = {
    "residence-proof": {"address": "佛山市禅城区祖庙街道岭南大道北1号", "since": "1965-03-01", "purpose": "school"},
    "school-enrolment-receipt": {
        "school": "禅城区实验小学",
        "grade": "primary-1",
        "received_on": "2026-11-20",
        "complete": False,
        "household_register": "0x" + "5a" * 32,
        "note": "户口簿原件已核",
    },
    "typed-kind": {"n": -3, "fen": 123_456, "m": "2026-11", "ok": True, "d": "0x" + "0d" * 32},
    "tax-individual": {**PAYMENT, "months_in_arrears": 1, "lines": [TAX_LINE]},
    "tax-enterprise": {**PAYMENT, "months_in_arrears": 0, "lines": [TAX_LINE, {**TAX_LINE, "tax_type": "vat"}]},
    "si-individual": {**PAYMENT, "months_in_arrears": 1, "lines": [SI_LINE]},
    "si-enterprise": {
        **PAYMENT,
        "months_in_arrears": 0,
        "lines": [{"month": "2025-01", "insured": 12, "amount_fen": 880_000, "status": "paid"}],
    },
    "credit-report": {
        "span_from": "2021-12-05",
        "span_to": "2026-11-23",
        "grade": "b",
        "score": 88,
        "record_count": 1,
        "tax_grade": "b",
        "tax_grade_basis": "2025 年度纳税缴费信用 B 级（国家税务总局佛山市禅城区税务局 2026-04-10 评定）",
        "lists": "无",
        "categories": [{"category": "arrears", "items": 1, "kept": True, "note": "—"}],
        "list_entries": [],
        "records": [
            {
                "decided_on": "2025-08-01",
                "category": "arrears",
                "type": "tax_arrears",
                "department": "国家税务总局佛山市禅城区税务局",
                "summary": "欠缴增值税",
                "repaired": False,
            }
        ],
        "basis": [{"reason": "欠缴税款 −12 分"}],
    },
}


def att_header(kind: KindSchema, number: int, **changes: object) -> dict:
    header = {
        "number": f"9{number:016d}",
        "subject": "4406" + "*" * 14 if kind.subject == "person" else "91440604MA4UABCD1X",
        "subjectName": "陈*明" if kind.subject == "person" else "禅城智造科技有限公司",
        "issuedAt": 1_795_400_000,
        "expiresOn": 21000,
        "department": kind.department,
        "detailHash": "0x" + ("7e" * 32 if eip712.has_detail(kind) else eip712.NO_DETAIL.hex()),
    }
    return header | changes


def att_signature(kind: KindSchema, header: dict, values: dict, key=None) -> bytes:  # noqa: ANN001
    digest = eip712.digest(kind, SEPARATOR, eip712.message(kind, header, values))
    return bytes((key or KEY_OF[kind.department]).unsafe_sign_hash(digest).signature)


def att_payload(kind: KindSchema, header: dict, values: dict, key=None) -> bytes:  # noqa: ANN001
    """Signed with `key` (default: the kind's department's secp256k1 key); SM2 (format 3) when it is an SM2 key."""
    if isinstance(key, sm2.PrivateKey):
        unsigned = attestation.unsigned(kind, header, values, key.public.key_id)
        return unsigned + key.sign(attestation.sm2_message(SEPARATOR, unsigned))
    return attestation.encode(kind, header, values, att_signature(kind, header, values, key))


def _attestations() -> tuple[list[bytes], list[str]]:
    """VALID payloads: each department kind typical and at its widest, each certificate kind typical (their
    layouts are the same few types: the widest of each is in tests/qr/test_attestation_payload.py); and their ids."""
    out, ids = [], []
    for n, kind in enumerate(KINDS):
        shapes = {"typical": check(kind, TYPICAL[kind.slug])}
        if kind.slug not in {k.slug for k in CertKind}:
            shapes["widest"] = widest(kind)
        for m, (shape, values) in enumerate(shapes.items()):
            out.append(att_payload(kind, att_header(kind, 10 * n + m), values))
            ids.append(f"{kind.slug}-{shape}")
            out.append(att_payload(kind, att_header(kind, 10 * n + m), values, SM2_KEY_OF[kind.department]))
            ids.append(f"{kind.slug}-{shape}-sm2")
    return out, ids


ATT_PAYLOADS, ATT_IDS = _attestations()


def _zigzag(n: int) -> bytes:
    return varint(attestation._zigzag(n))


def attestation_edge_cases() -> list[tuple[bytes, str]]:
    """Attestations that must not verify, with the verdict each gets: another kind's schema id on the payload, the
    wrong department's key, a key of the right department without the attestation kind, an expired one, values
    beyond their EIP-712 types and bytes a field cannot hold."""
    residence, receipt, typed = BY_SLUG["residence-proof"], BY_SLUG["school-enrolment-receipt"], BY_SLUG["typed-kind"]
    values = check(residence, TYPICAL["residence-proof"])
    good = att_payload(residence, att_header(residence, 1), values)
    typed_values = check(typed, TYPICAL["typed-kind"])
    header = att_header(typed, 2)
    sig = att_signature(typed, header, typed_values)
    out = [
        (good[:1] + attestation.schema_id(receipt) + good[9:], "INVALID"),  # read as a receipt: garbled or unsigned
        (att_payload(residence, att_header(residence, 3), values, key=EDU), "UNTRUSTED_ISSUER"),
        (att_payload(typed, header, typed_values, key=TAX_CERTS_ONLY), "UNTRUSTED_ISSUER"),
        (att_payload(residence, att_header(residence, 4, expiresOn=20000), values), "EXPIRED"),
        (att_payload(typed, att_header(typed, 5, subject="4406" + "*" * 14), typed_values), "INVALID"),
    ]
    for name, huge in (("n", 2**63), ("n", -(2**63) - 1), ("fen", 2**64), ("m", 2**32)):
        over = dict(typed_values)
        over[name] = huge
        if name == "m":  # a month is written as year * 12 + month - 1
            over[name] = f"{huge // 12:04d}-{huge % 12 + 1:02d}"
        out.append((attestation.encode(typed, header, over, sig), "INVALID"))
    raw = good[:-65]  # the residence proof without its purpose and signature: its since date is written anew
    head = raw[: len(raw) - len(_zigzag((date(1965, 3, 1) - eip712.EPOCH).days))]
    for days in (2_932_897, -719_163, 2**40):
        out.append((head + _zigzag(days) + b"\x00" + good[-64:], "INVALID"))
    out.append((good[:-65] + b"\x07" + good[-64:], "INVALID"))  # an enum index the kind does not have
    bad_text = bytes([2]) + b"\xff\xff"  # a string field of 2 bytes that are not GB18030
    body = bytes([2]) + attestation.schema_id(receipt) + int("90000000000000007").to_bytes(8, "big")
    body += subject_bytes("4406" + "*" * 14) + bytes([2]) + "陈".encode("gb18030") + (1).to_bytes(4, "big")
    out.append((body + (1).to_bytes(2, "big") + b"\x00" * 32 + bad_text + bytes(70), "INVALID"))
    return out + sm2_edge_cases()


def sm2_edge_cases() -> list[tuple[bytes, str]]:
    """The same refusals for SM2 payloads (format 3), and the ways only a key id allows: another kind's schema id, the
    wrong department's SM2 key, one without the attestation kind, an expired one; a key id no key has, a registered
    key id over a stranger's signature, another registered key's id over the signer's signature, a secp256k1 payload
    relabelled as SM2 and an SM2 one relabelled as secp256k1."""
    residence, receipt, typed = BY_SLUG["residence-proof"], BY_SLUG["school-enrolment-receipt"], BY_SLUG["typed-kind"]
    values, typed_values = check(residence, TYPICAL["residence-proof"]), check(typed, TYPICAL["typed-kind"])
    own = SM2_KEY_OF["ps.440604"]
    good = att_payload(residence, att_header(residence, 21), values, own)
    stranger = sm2.PrivateKey(bytes([99]) * 32)
    signed_by_stranger = good[:-64] + stranger.sign(attestation.sm2_message(SEPARATOR, good[:-64]))
    other_id = good[:-68] + SM2_KEY_OF["edu.440604"].public.key_id + good[-64:]
    secp = att_payload(residence, att_header(residence, 22), values)
    return [
        (good[:1] + attestation.schema_id(receipt) + good[9:], "INVALID"),
        (att_payload(residence, att_header(residence, 23), values, SM2_KEY_OF["edu.440604"]), "UNTRUSTED_ISSUER"),
        (att_payload(typed, att_header(typed, 24), typed_values, SM2_TAX_CERTS_ONLY), "UNTRUSTED_ISSUER"),
        (att_payload(residence, att_header(residence, 25, expiresOn=20000), values, own), "EXPIRED"),
        (good[:-68] + b"\xde\xad\xbe\xef" + good[-64:], "INVALID"),
        (signed_by_stranger, "INVALID"),
        (other_id, "INVALID"),
        (bytes([attestation.SM2_VERSION]) + secp[1:-64] + secp[-68:-64] + secp[-64:], "INVALID"),
        (bytes([attestation.VERSION]) + good[1:-68] + good[-64:], "INVALID"),
    ]


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


def test_the_original_attestations_are_valid() -> None:
    assert [verdict(p) for p in ATT_PAYLOADS] == ["VALID"] * len(ATT_PAYLOADS)


@pytest.mark.parametrize("index", range(len(ATT_PAYLOADS)), ids=ATT_IDS)
def test_no_byte_or_digit_mutant_of_an_attestation_is_valid(index: int) -> None:
    original = ATT_PAYLOADS[index]
    registered = TRUST.resolver.kinds()
    results: dict[str, int] = {}
    for mutant in mutants(original, random.Random(100 + index)):
        status = verdict(mutant)
        results[status] = results.get(status, 0) + 1
        if status == "VALID":  # only one that decodes to the very same signed attestation (a digit string's zeros)
            data = mutant if isinstance(mutant, bytes) else from_digits(mutant[1:])
            assert attestation.decode(data, registered) == attestation.decode(original, registered)
    assert set(results) <= {"INVALID", "VALID"}
    assert results["INVALID"] > 0.99 * sum(results.values())


@pytest.mark.parametrize("case", range(len(attestation_edge_cases())))
def test_an_attestation_under_another_kind_key_or_range_gets_its_verdict(case: int) -> None:
    payload, want = attestation_edge_cases()[case]
    result = verify_offline("#" + to_digits(payload), TRUST, trust_anchor=ADMIN.address, today=TODAY, now=NOW)
    assert result.status == want, result.checks
