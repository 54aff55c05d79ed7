"""The EIP-712 struct derived from a schema: the written-out digest equals eth-account's generic encoder for random
values of every demo kind and of every type, signatures recover to the signer, and any change to a value, the
header or the schema changes the digest."""

from __future__ import annotations

import copy
import json
import secrets
from datetime import date, timedelta
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from hypothesis import given, settings
from hypothesis import strategies as st

from kinds import eip712
from kinds import schema as ks
from kinds.schema import KindSchema, parse
from kinds.values import check
from qr.signed import Domain, domain_separator
from tests.kinds.test_schema import TYPED

FILES = Path(ks.__file__).parent / "files"
KINDS = [parse(json.loads(p.read_text())) for p in sorted(FILES.glob("*.json"))] + [parse(TYPED)]
DOMAIN = Domain(1337, "0x" + "ab" * 20).as_dict()  # the certificates' domain: eth-account's reference takes it whole
SEPARATOR = domain_separator(1337, "0x" + "ab" * 20)  # and the digest its separator, as qr.signed computes it


def values_of(kind: KindSchema, draw) -> dict:
    """Random valid values for every field of `kind`."""
    out = {}
    for f in kind.fields:
        if f.type == "string":
            out[f.name] = draw(
                st.text(st.characters(categories=("L", "N", "Zs")), min_size=1, max_size=f.max_length).filter(
                    lambda t: t.strip()
                )
            )
        elif f.type == "integer":
            out[f.name] = draw(
                st.integers(f.min if f.min is not None else -(2**53), f.max if f.max is not None else 2**53)
            )
        elif f.type == "amount_fen":
            out[f.name] = draw(st.integers(0, 10**15))
        elif f.type == "date":
            out[f.name] = (date(1900, 1, 1) + timedelta(days=draw(st.integers(0, 80000)))).isoformat()
        elif f.type == "month":
            out[f.name] = f"{draw(st.integers(1990, 2100))}-{draw(st.integers(1, 12)):02d}"
        elif f.type == "enum":
            out[f.name] = draw(st.sampled_from([code for code, _ in f.values]))
        elif f.type == "boolean":
            out[f.name] = draw(st.booleans())
        else:
            out[f.name] = "0x" + draw(st.binary(min_size=32, max_size=32)).hex()
    return check(kind, out)


def header_of(draw) -> dict:
    return {
        "number": draw(st.text(alphabet="0123456789", min_size=17, max_size=17)),
        "subject": draw(st.sampled_from(["440604********1234", "91440604MA4UABCD1X"])),
        "subjectName": draw(st.text(min_size=0, max_size=20)),
        "issuedAt": draw(st.integers(0, 2**40)),
        "expiresOn": draw(st.integers(0, 2**20)),
        "department": "ps.440604",
        "detailHash": "0x" + draw(st.binary(min_size=32, max_size=32)).hex(),
    }


def reference(kind: KindSchema, msg: dict) -> bytes:
    return _hash_eip191_message(encode_typed_data(full_message=eip712.typed_data(kind, DOMAIN, msg)))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(KINDS), st.data())
def test_the_written_out_digest_is_eth_accounts(kind: KindSchema, data) -> None:
    msg = eip712.message(kind, header_of(data.draw), values_of(kind, data.draw))
    assert eip712.digest(kind, SEPARATOR, msg) == reference(kind, msg)


def test_the_struct_carries_the_header_then_the_qr_fields_only() -> None:
    receipt = next(k for k in KINDS if k.slug == "school-enrolment-receipt")
    assert eip712.type_string(receipt) == (
        "Attestation(bytes32 schema,string number,string subject,string subjectName,uint64 issuedAt,"
        "uint32 expiresOn,string department,bytes32 detailHash,string school,string grade,int32 received_on,"
        "bool complete)"
    )  # household_register and note are in the salted detail, not here


def test_a_signature_recovers_and_any_change_breaks_it() -> None:
    kind = KINDS[0]
    key = Account.create()
    values = check(kind, {"address": "禅城区祖庙街道1号", "since": "2024-09-01", "purpose": "school"})
    header = {
        "number": "60202612040000001",
        "subject": "440604********1234",
        "subjectName": "张*",
        "issuedAt": 1_796_000_000,
        "expiresOn": 20_500,
        "department": "ps.440604",
        "detailHash": eip712.detail_hash({"salt": secrets.token_hex(16)}),
    }
    msg = eip712.message(kind, header, values)
    signed = key.unsafe_sign_hash(eip712.digest(kind, SEPARATOR, msg))
    assert Account._recover_hash(eip712.digest(kind, SEPARATOR, msg), signature=signed.signature) == key.address
    others = [
        eip712.message(kind, header, {**values, "purpose": "work"}),
        eip712.message(kind, {**header, "number": "60202612040000002"}, values),
        eip712.message(kind, {**header, "department": "tax.440604"}, values),
    ]
    newer = copy.deepcopy(kind.source)
    newer["version"] = 2
    digests = {eip712.digest(kind, SEPARATOR, m) for m in others}
    digests.add(eip712.digest(parse(newer), SEPARATOR, eip712.message(parse(newer), header, values)))
    assert eip712.digest(kind, SEPARATOR, msg) not in digests and len(digests) == 4


def test_values_that_do_not_fit_their_member_are_refused() -> None:
    kind = parse(TYPED)
    msg = eip712.message(
        kind,
        {
            "number": "1",
            "subject": "s",
            "subjectName": "",
            "issuedAt": 2**64,
            "expiresOn": 0,
            "department": "d",
            "detailHash": "0x" + "00" * 32,
        },
        check(kind, {"n": 1, "fen": 1, "m": "2026-01", "ok": True, "d": "0x" + "11" * 32}),
    )
    with pytest.raises(ValueError, match="does not fit uint64"):
        eip712.digest(kind, SEPARATOR, msg)


def test_the_detail_commits_to_the_fields_outside_the_qr_code_with_a_salt() -> None:
    receipt = next(k for k in KINDS if k.slug == "school-enrolment-receipt")
    values = check(
        receipt,
        {
            "school": "禅城区实验小学",
            "grade": "primary-1",
            "received_on": "2026-06-01",
            "complete": "true",
            "household_register": "0x" + "5a" * 32,
            "note": "缺出生证明复印件",
        },
    )
    detail = eip712.detail_of(receipt, values)
    assert detail is not None and set(detail["fields"]) == {"household_register", "note"}
    signed_hash = eip712.header_detail_hash(receipt, detail)
    assert eip712.detail_matches(receipt, detail, signed_hash)
    again = eip712.detail_of(receipt, values)  # the same values, another salt: another hash
    assert again is not None and eip712.header_detail_hash(receipt, again) != signed_hash
    altered = {**detail, "fields": {**detail["fields"], "note": "材料齐全"}}
    assert not eip712.detail_matches(receipt, altered, signed_hash)
    assert not eip712.detail_matches(receipt, {**detail, "extra": 1}, signed_hash)
    assert not eip712.detail_matches(receipt, {"fields": {"note": "x"}, "salt": detail["salt"]}, signed_hash)
    with pytest.raises(ValueError, match="its detail is needed"):
        eip712.header_detail_hash(receipt, None)
    residence = KINDS[0]  # every field in the QR code: nothing to commit to
    assert eip712.detail_of(residence, {}) is None
    assert eip712.header_detail_hash(residence, None) == "0x" + "00" * 32
