"""The format-2 QR payload laid out by a kind's schema: random attestations of every demo kind and type survive
encode and decode with their signature, rebuild the same EIP-712 digest and recover the signer; malformed, foreign
and tampered payloads are refused with the reason; the demo kinds fit QR version 13 at level Q at their longest."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from kinds import eip712
from kinds import schema as ks
from kinds.schema import KindSchema, parse
from kinds.values import widest
from qr import attestation
from qr.payload import PayloadError, verify_url
from qr.render import version_of
from tests.kinds.test_eip712 import SEPARATOR, values_of
from tests.kinds.test_schema import TYPED

FILES = Path(ks.__file__).parent / "files"
KINDS = [parse(json.loads(p.read_text())) for p in sorted(FILES.glob("*.json"))] + [parse(TYPED)]
REGISTERED = {attestation.schema_id(k): k for k in KINDS}
KEY = Account.from_key("0x" + "42" * 32)


def header_for(kind: KindSchema, draw=None) -> dict:
    person = kind.subject == "person"
    return {
        "number": draw(st.text(alphabet="0123456789", min_size=17, max_size=17)) if draw else "60202612040000001",
        "subject": ("4406" + "*" * 14) if person else "91440604MA4UABCD1X",
        "subjectName": draw(st.text(st.characters(categories=("Lo",)), max_size=8)) if draw else "佛山市禅城区某公司",
        "issuedAt": draw(st.integers(0, 2**32 - 1)) if draw else 1_796_000_000,
        "expiresOn": draw(st.integers(0, 2**16 - 1)) if draw else 20_500,
        "department": kind.department,
        "detailHash": "0x" + (draw(st.binary(min_size=32, max_size=32)) if draw else b"\x07" * 32).hex()
        if eip712.has_detail(kind)
        else "0x" + eip712.NO_DETAIL.hex(),
    }


def signed(kind: KindSchema, header: dict, values: dict) -> tuple[bytes, bytes]:
    digest = eip712.digest(kind, SEPARATOR, eip712.message(kind, header, values))
    return digest, bytes(KEY.unsafe_sign_hash(digest).signature)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(KINDS), st.data())
def test_any_attestation_survives_the_payload_and_recovers_its_signer(kind: KindSchema, data) -> None:
    header, values = header_for(kind, data.draw), values_of(kind, data.draw)
    qr_values = {f.name: values[f.name] for f in kind.fields if f.in_qr}
    digest, signature = signed(kind, header, values)
    decoded = attestation.decode(attestation.encode(kind, header, values, signature), REGISTERED)
    assert decoded.kind is kind and decoded.header == header and decoded.values == qr_values
    assert decoded.signature == signature
    rebuilt = eip712.digest(kind, SEPARATOR, eip712.message(kind, decoded.header, decoded.values))
    assert rebuilt == digest and Account._recover_hash(rebuilt, signature=decoded.signature) == KEY.address


@pytest.mark.parametrize("kind", KINDS[:2], ids=lambda k: k.slug)
def test_the_demo_kinds_fit_version_13_at_level_q_at_their_longest(kind: KindSchema) -> None:
    payload = attestation.longest_payload(kind)
    decoded = attestation.decode(payload, REGISTERED)  # the longest is a well-formed payload of the kind
    assert decoded.values == {f.name: widest(kind)[f.name] for f in kind.fields if f.in_qr}
    assert version_of(verify_url("https://zwfw.chancheng.gov.cn", payload), "Q") <= attestation.MOST_VERSION
    assert attestation.longest_version(kind, "https://zwfw.chancheng.gov.cn") <= 13


def test_malformed_foreign_and_tampered_payloads_are_refused() -> None:
    kind = KINDS[0]
    header, values = header_for(kind), widest(kind)
    payload = attestation.encode(kind, header, values, signed(kind, header, values)[1])
    cases = {
        "unknown payload format version 1": b"\x01" + payload[1:],
        "unknown kind: no registered schema": payload[:1] + b"\x00" * 8 + payload[9:],
        "truncated": payload[:-1],
        "unexpected bytes after the signature": payload + b"\x00",
        "unknown subject type 7": payload[:17] + b"\x07" + payload[18:],
    }
    for reason, data in cases.items():
        with pytest.raises(PayloadError, match=reason):
            attestation.decode(data, REGISTERED)
    with pytest.raises(PayloadError, match="neither a masked ID number"):  # the older form showing 4 characters
        attestation.encode(kind, {**header, "subject": "4406**********123X"}, values, signed(kind, header, values)[1])
    with pytest.raises(PayloadError, match="no detail fields: its detailHash must be zero"):
        attestation.encode(kind, {**header, "detailHash": "0x" + "07" * 32}, values, signed(kind, header, values)[1])
    enterprise = parse({**copy.deepcopy(kind.source), "subject": "enterprise"})
    with pytest.raises(PayloadError, match="is about an enterprise"):
        attestation.decode(
            payload[:1] + attestation.schema_id(enterprise) + payload[9:],
            {attestation.schema_id(enterprise): enterprise},
        )
    # a value changed in the payload still decodes, but no longer gives the digest that was signed
    digest = signed(kind, header, values)[0]
    purpose = [f for f in kind.fields if f.in_qr][-1]
    assert purpose.type == "enum"
    swapped = bytearray(payload)
    swapped[-65] ^= 1  # the enum's index byte, just before the signature: school <-> work
    decoded = attestation.decode(bytes(swapped), REGISTERED)
    assert decoded.values[purpose.name] != values[purpose.name]
    assert eip712.digest(kind, SEPARATOR, eip712.message(kind, decoded.header, decoded.values)) != digest
