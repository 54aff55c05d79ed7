"""The signed certificate document: the EIP-712 `Certificate` struct, its domain, digest and signature.

Shared by the issuer (zero_errand) and every verifier (qr, the page's JavaScript mirror): the fields are
what a verifier must see, so the compact QR payload can rebuild the digest offline.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import coincurve
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from sha3 import keccak_256

EPOCH = date(1970, 1, 1)


def not_earlier(now: datetime, not_before: int) -> datetime:
    """`now`, or the unix time `not_before` when that is later: a signature is never dated before its key's
    on-chain validFrom."""
    return max(now, datetime.fromtimestamp(not_before, UTC)) if not_before else now


EIP712_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Certificate": [
        {"name": "kind", "type": "uint8"},
        {"name": "version", "type": "uint8"},
        {"name": "number", "type": "string"},
        {"name": "subject", "type": "string"},
        {"name": "subjectName", "type": "string"},
        {"name": "periodFrom", "type": "uint32"},
        {"name": "periodTo", "type": "uint32"},
        {"name": "totalFen", "type": "uint64"},
        {"name": "monthsPaid", "type": "uint16"},
        {"name": "monthsInArrears", "type": "uint16"},
        {"name": "detailHash", "type": "bytes32"},
        {"name": "issuedAt", "type": "uint32"},
        {"name": "expiresOn", "type": "uint32"},
        {"name": "department", "type": "string"},
    ],
}


@dataclass(frozen=True)
class Content:
    """The signed fields of a certificate (EIP-712 `Certificate`)."""

    kind: int
    version: int
    number: str
    subject: str
    subjectName: str
    periodFrom: int
    periodTo: int
    totalFen: int
    monthsPaid: int
    monthsInArrears: int
    detailHash: str  # 0x-hex
    issuedAt: int
    expiresOn: int
    department: str

    def message(self) -> dict[str, Any]:
        data = asdict(self)
        data["detailHash"] = bytes.fromhex(self.detailHash.removeprefix("0x"))
        return data


@dataclass(frozen=True)
class Domain:
    chain_id: int
    verifying_contract: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": "ZeroErrand Ledger",
            "version": "1",
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }


def canonical(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, UTF-8 (the serialization every hash is taken over)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def detail_hash(detail: Any) -> str:
    return "0x" + _keccak(canonical(detail)).hex()


def day_number(d: date) -> int:
    return (d - EPOCH).days


def from_day_number(n: int) -> date:
    return date.fromordinal(EPOCH.toordinal() + n)


def _signable(content: Content, domain: Domain):  # noqa: ANN202 - eth_account SignableMessage
    return encode_typed_data(
        full_message={
            "types": EIP712_TYPES,
            "primaryType": "Certificate",
            "domain": domain.as_dict(),
            "message": content.message(),
        }
    )


def _type_string(name: str) -> str:
    fields = ",".join(f"{f['type']} {f['name']}" for f in EIP712_TYPES[name])
    return f"{name}({fields})"


# Offline verification must reach thousands of payloads a second, and eth_account's generic typed-data encoder
# costs ~0.4 ms a call: the struct hash below is the same encoding written out for this one struct, and a test
# holds it equal to eth_account's for random contents. Signing still goes through eth_account.
CERTIFICATE_TYPEHASH = keccak(text=_type_string("Certificate"))
DOMAIN_TYPEHASH = keccak(text=_type_string("EIP712Domain"))
_UINT_BITS = {
    "kind": 8,
    "version": 8,
    "periodFrom": 32,
    "periodTo": 32,
    "totalFen": 64,
    "monthsPaid": 16,
    "monthsInArrears": 16,
    "issuedAt": 32,
    "expiresOn": 32,
}


@lru_cache(maxsize=64)
def domain_separator(chain_id: int, verifying_contract: str) -> bytes:
    contract = bytes.fromhex(verifying_contract.removeprefix("0x"))
    return keccak(
        DOMAIN_TYPEHASH
        + keccak(b"ZeroErrand Ledger")
        + keccak(b"1")
        + chain_id.to_bytes(32, "big")
        + contract.rjust(32, b"\0")
    )


def _uint(content: Content, name: str) -> bytes:
    value = getattr(content, name)
    if not 0 <= value < 1 << _UINT_BITS[name]:
        raise ValueError(f"{name} {value} does not fit uint{_UINT_BITS[name]}")
    return value.to_bytes(32, "big")


def _keccak(data: bytes) -> bytes:
    # pysha3's C Keccak-256: ~1 µs a call against ~10 µs through eth_utils, eight calls per verification.
    return keccak_256(data).digest()


def struct_hash(c: Content) -> bytes:
    """hashStruct(Certificate): the EIP-712 encoding of the content."""
    detail = bytes.fromhex(c.detailHash.removeprefix("0x"))
    if len(detail) != 32:
        raise ValueError("detailHash must be 32 bytes")
    return _keccak(
        b"".join(
            (
                CERTIFICATE_TYPEHASH,
                _uint(c, "kind"),
                _uint(c, "version"),
                _keccak(c.number.encode()),
                _keccak(c.subject.encode()),
                _keccak(c.subjectName.encode()),
                _uint(c, "periodFrom"),
                _uint(c, "periodTo"),
                _uint(c, "totalFen"),
                _uint(c, "monthsPaid"),
                _uint(c, "monthsInArrears"),
                detail,
                _uint(c, "issuedAt"),
                _uint(c, "expiresOn"),
                _keccak(c.department.encode()),
            )
        )
    )


def digest(content: Content, domain: Domain) -> bytes:
    """The EIP-712 digest: what the department signs and the ledger anchors."""
    return _keccak(b"\x19\x01" + domain_separator(domain.chain_id, domain.verifying_contract) + struct_hash(content))


def digest_reference(content: Content, domain: Domain) -> bytes:
    """The same digest through eth_account's generic encoder (the reference the tests compare against)."""
    return _hash_eip191_message(_signable(content, domain))


def sign(content: Content, domain: Domain, key: LocalAccount) -> tuple[bytes, bytes]:
    """(digest, 65-byte signature r||s||v) over the EIP-712 digest, by libsecp256k1: RFC 6979 nonces and a low s, so
    the same bytes as eth-account's `sign_typed_data` (tests/qr/test_fast_digest.py holds them equal), at a fraction
    of its cost (issuance signs every certificate)."""
    digest_bytes = digest(content, domain)
    return digest_bytes, sign_digest(digest_bytes, key)


def sign_digest(digest_bytes: bytes, key: LocalAccount) -> bytes:
    """The 65-byte Ethereum signature r||s||v (v 27 or 28) of a 32-byte digest, signed as it is (no prefix)."""
    recoverable = _secret(bytes(key.key)).sign_recoverable(digest_bytes, hasher=None)
    return recoverable[:64] + bytes([recoverable[64] + 27])


@lru_cache(maxsize=64)
def _secret(private_key: bytes) -> coincurve.PrivateKey:
    """libsecp256k1's handle of a department key (a handful per process: cached)."""
    return coincurve.PrivateKey(private_key)


def sign_reference(content: Content, domain: Domain, key: LocalAccount) -> bytes:
    """The same signature through eth-account (the reference the tests and the issuance benchmark compare with)."""
    return bytes(key.sign_message(_signable(content, domain)).signature)


def recover_from_digest(digest_bytes: bytes, signature: bytes) -> str:
    """The checksummed address that signed `digest_bytes` (libsecp256k1); ValueError for an unusable signature."""
    if len(signature) != 65 or signature[64] not in (27, 28):
        raise ValueError("a signature is r, s and v (27 or 28)")
    try:
        key = coincurve.PublicKey.from_signature_and_message(
            signature[:64] + bytes([signature[64] - 27]), digest_bytes, hasher=None
        )
    except Exception as exc:  # coincurve raises plain Exceptions for invalid r, s
        raise ValueError(f"unrecoverable signature: {exc}") from exc
    return to_checksum_address(_keccak(key.format(compressed=False)[1:])[-20:])


def recover_signer(content: Content, domain: Domain, signature: bytes) -> str:
    return recover_from_digest(digest(content, domain), signature)


def new_salt() -> str:
    """A fresh 256-bit salt for a signed document's detail, as 64 hex digits: the detail's hash commits to it, so
    the hash cannot be found by trying plausible details (an employer's USCC, say)."""
    return secrets.token_bytes(32).hex()
