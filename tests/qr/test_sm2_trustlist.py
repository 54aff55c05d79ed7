"""The district can sign the offline trust list with SM2 as well as secp256k1, and offline verification accepts
either once pinned (issue 20): by the SM2 key's address or by the list's fingerprint. A list whose SM2 signature,
public key or signer does not hold is refused."""

from __future__ import annotations

import json

import pytest

from ledger import sm2
from ledger.keys import Sm2Account
from qr.payload import to_digits
from qr.trustlist import TrustList, TrustListError, anchor_from, sign_list, verify_pinned
from tests.qr.test_mutations import ADMIN, ATT_IDS, ATT_PAYLOADS, BODY, NOW, TODAY

DISTRICT_SM2 = Sm2Account(sm2.PrivateKey(bytes([61]) * 32))
SIGNED = sign_list(BODY, DISTRICT_SM2)
LIST = TrustList.load(json.dumps(SIGNED))
SM2_PAYLOAD = "#" + to_digits(ATT_PAYLOADS[ATT_IDS.index("si-individual-typical-sm2")])
SECP_PAYLOAD = "#" + to_digits(ATT_PAYLOADS[ATT_IDS.index("si-individual-typical")])


def test_an_sm2_signed_list_names_its_suite_and_key_and_verifies_both_suites_once_pinned() -> None:
    assert SIGNED["suite"] == "sm2" and SIGNED["signer"] == DISTRICT_SM2.address
    assert SIGNED["public_key"] == "0x" + DISTRICT_SM2.public_key.hex() and len(SIGNED["signature"]) == 2 + 128
    assert LIST.signer == DISTRICT_SM2.address
    for text in (SM2_PAYLOAD, SECP_PAYLOAD):
        by_address = verify_pinned(
            text, LIST, anchor_from(DISTRICT_SM2.address, None, None, None), today=TODAY, now=NOW
        )
        assert by_address.status == "VALID", by_address.checks
        by_print = verify_pinned(text, LIST, anchor_from(None, LIST.fingerprint, None, None), today=TODAY, now=NOW)
        assert by_print.status == "VALID"
    # pinned to the secp256k1 admin instead, the SM2 list is not trusted
    other = verify_pinned(SM2_PAYLOAD, LIST, anchor_from(ADMIN.address, None, None, None), today=TODAY, now=NOW)
    assert other.status == "UNTRUSTED_ISSUER" and DISTRICT_SM2.address in other.checks[0].en


def _tampered(**changes: object) -> str:
    return json.dumps({**SIGNED, **changes})


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (_tampered(body={**BODY, "revoked": ["0x" + "ab" * 32]}), "signature does not hold"),
        (_tampered(signature="0x" + "00" * 64), "signature does not hold"),
        (_tampered(signature=SIGNED["signature"][:-2]), "signature does not hold"),
        # another SM2 key's public key: the signature is not its, and the signer is not its address
        (_tampered(public_key="0x" + sm2.PrivateKey(bytes([62]) * 32).public.raw.hex()), "signature does not hold"),
        (_tampered(signer=ADMIN.address), "does not match its signer"),
        (_tampered(public_key="0x" + "11" * 64), "not an SM2 public key"),
        (_tampered(suite="rsa"), "unknown signature suite"),
    ],
    ids=["body", "zero-signature", "short-signature", "other-key", "other-signer", "off-curve-key", "suite"],
)
def test_a_list_whose_sm2_signature_key_or_signer_does_not_hold_is_refused(text: str, why: str) -> None:
    with pytest.raises(TrustListError, match=why):
        TrustList.load(text)
