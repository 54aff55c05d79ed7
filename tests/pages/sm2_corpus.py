"""SM2-signed payloads (format 3, qr.attestation) for the page's pipeline tests, with the key list they are checked
against: the mutation tests' list (tests/qr/test_mutations.py) with SM2 keys added beside the secp256k1 ones, and
entries a verifier must not trust (an address that is not its public key's, a public key that is no point of the
curve). Each payload comes with the verdict the Python pipeline must give it; the page must give the same."""

from __future__ import annotations

import copy
import random
from typing import Any

from kinds.schema import KindSchema
from kinds.values import check
from ledger import sm2
from ledger.sm2_address import sm2_key_address
from qr import attestation
from qr.signed import domain_separator
from tests.qr.test_mutations import ATTEST, BODY, BY_SLUG, DOMAIN, KINDS, TAX, TYPICAL, att_header

SEPARATOR = domain_separator(DOMAIN.chain_id, DOMAIN.verifying_contract)
DEPARTMENTS = ["tax.440604", "si.440604", "amr.440604", "ps.440604", "edu.440604"]
# Each department's SM2 key (fixed, so that a failure reproduces; the signatures' k is random all the same).
SM2_KEYS = {d: sm2.PrivateKey(bytes([60 + n]) * 32) for n, d in enumerate(DEPARTMENTS)}
TAX_CERTS_ONLY = sm2.PrivateKey(bytes([70]) * 32)  # the tax bureau's, without the attestation kind
STRANGER = sm2.PrivateKey(bytes([71]) * 32)  # registered nowhere
MISLABELLED = sm2.PrivateKey(bytes([72]) * 32)  # listed under the tax bureau's secp256k1 address
_x = next(x for x in range(1, 100) if pow((x**3 + sm2.A * x + sm2.B) % sm2.P, (sm2.P - 1) // 2, sm2.P) == 1)
OFF_CURVE = _x.to_bytes(32, "big") + ((_x**3 + sm2.A * _x + sm2.B) % sm2.P).to_bytes(32, "big")  # y = rhs, not √rhs
assert not sm2.on_curve(OFF_CURVE)
OFF_CURVE_ID = bytes.fromhex(sm2_key_address(OFF_CURVE)[2:10])


def sm2_entry(public: bytes, department: str, kinds: int, address: str | None = None, **extra: Any) -> dict:
    """A key list entry of an SM2 key (zero_errand.verification.key_list)."""
    return {
        "address": address or sm2_key_address(public),
        "department": department,
        "kinds": kinds,
        "valid_from": 0,
        "revoked_at": 0,
        "suite": "sm2",
        "public_key": "0x" + public.hex(),
        **extra,
    }


def body() -> dict[str, Any]:
    """The mutation tests' key list with the SM2 keys added (the police's is registered through the migration)."""
    out = copy.deepcopy(BODY)
    tax_kinds = next(k["kinds"] for k in out["keys"] if k["address"] == TAX.address)
    out["keys"] += [
        sm2_entry(key.public.raw, d, ATTEST, **({"migrated": True} if d == "ps.440604" else {}))
        for d, key in SM2_KEYS.items()
    ]
    out["keys"] += [
        sm2_entry(TAX_CERTS_ONLY.public.raw, "tax.440604", 0b101),
        # claims to be the tax bureau's key: its address is not its public key's, so no payload can name it
        sm2_entry(MISLABELLED.public.raw, "tax.440604", tax_kinds, address=TAX.address),
        sm2_entry(OFF_CURVE, "ps.440604", ATTEST),
        {**sm2_entry(STRANGER.public.raw, "ps.440604", ATTEST), "public_key": "0x123"},  # malformed: left out
        {k: v for k, v in sm2_entry(STRANGER.public.raw, "ps.440604", ATTEST).items() if k != "public_key"},
    ]
    return out


def signed(
    kind: KindSchema,
    header: dict,
    values: dict,
    key: sm2.PrivateKey,
    *,
    key_id: bytes | None = None,
    separator: bytes = SEPARATOR,
) -> bytes:
    """An SM2 payload: the body naming `key_id` (default the key's own), signed by `key` over `separator` and it."""
    unsigned = attestation.unsigned(kind, header, values, key_id or key.public.key_id)
    return unsigned + key.sign(attestation.sm2_message(separator, unsigned))


def valid_payloads() -> list[bytes]:
    """One VALID payload of each kind, signed by its department's SM2 key."""
    out = []
    for n, kind in enumerate(KINDS):
        values = check(kind, TYPICAL[kind.slug])
        out.append(signed(kind, att_header(kind, 500 + n), values, SM2_KEYS[kind.department]))
    return out


def cases() -> list[tuple[bytes, str]]:
    """SM2 payloads that must not verify VALID, with the verdict each gets (and two that must)."""
    residence, typed, si = BY_SLUG["residence-proof"], BY_SLUG["typed-kind"], BY_SLUG["si-enterprise"]
    values = check(residence, TYPICAL["residence-proof"])
    si_values = check(si, TYPICAL["si-enterprise"])
    typed_values = check(typed, TYPICAL["typed-kind"])
    ps, si_key, edu = SM2_KEYS["ps.440604"], SM2_KEYS["si.440604"], SM2_KEYS["edu.440604"]
    header = att_header(residence, 600)
    good = signed(residence, header, values, ps)
    body_of, signature = good[:-64], good[-64:]
    n = sm2.N.to_bytes(32, "big")
    tax_id = bytes.fromhex(TAX.address[2:10])  # the key id the mislabelled entry's address would give
    out = [
        (good, "VALID"),
        (signed(si, att_header(si, 601), si_values, si_key), "VALID"),
        (body_of[:-4] + random.Random(1).randbytes(4) + signature, "INVALID"),  # a key id nobody has
        (body_of[:-4] + edu.public.key_id + signature, "INVALID"),  # another department's key id
        (body_of[:-4] + STRANGER.public.key_id + signature, "INVALID"),
        (signed(residence, header, values, STRANGER, key_id=ps.public.key_id), "INVALID"),  # another SM2 key's
        (signed(residence, header, values, STRANGER), "INVALID"),
        (signed(residence, header, values, edu), "UNTRUSTED_ISSUER"),  # another department's registered key
        (signed(si, att_header(si, 602), si_values, SM2_KEYS["tax.440604"]), "UNTRUSTED_ISSUER"),
        (signed(typed, att_header(typed, 603), typed_values, TAX_CERTS_ONLY), "UNTRUSTED_ISSUER"),  # no such kind
        (signed(typed, att_header(typed, 604), typed_values, MISLABELLED), "INVALID"),  # its entry is left out
        (signed(typed, att_header(typed, 604), typed_values, MISLABELLED, key_id=tax_id), "INVALID"),
        (signed(residence, header, values, ps, key_id=OFF_CURVE_ID), "INVALID"),  # the key is no point: unusable
        (signed(residence, header, values, ps, separator=b""), "INVALID"),  # not over the domain separator
        (signed(residence, header, values, ps, separator=domain_separator(1, DOMAIN.verifying_contract)), "INVALID"),
        (signed(residence, att_header(residence, 605, expiresOn=20000), values, ps), "EXPIRED"),
        (good[:1] + attestation.schema_id(BY_SLUG["school-enrolment-receipt"]) + good[9:], "INVALID"),
    ]
    r, s = signature[:32], signature[32:]
    for bad in (bytes(32) + s, r + bytes(32), n + s, r + n, r + (sm2.N + 1).to_bytes(32, "big"), b"\xff" * 64):
        out.append((body_of + bad, "INVALID"))
    for name, huge in (("n", 2**63), ("fen", 2**64)):  # beyond the EIP-712 types: the digest cannot be made
        over = {**typed_values, name: huge}
        out.append((signed(typed, att_header(typed, 606), over, SM2_KEYS["tax.440604"]), "INVALID"))
    return out


def flipped(payload: bytes) -> list[bytes]:
    """The payload with each byte changed: one bit of it flipped, and all of its bits."""
    out = []
    for at in range(len(payload)):
        for mask in (1 << at % 8, 0xFF):
            out.append(payload[:at] + bytes([payload[at] ^ mask]) + payload[at + 1 :])
    return out
