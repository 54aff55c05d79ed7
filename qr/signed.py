"""The signed certificate document: the EIP-712 `Certificate` struct, its domain, digest and signature.

Shared by the issuer (zero_errand) and every verifier (qr, the page's JavaScript mirror): the fields are
what a verifier must see, so the compact QR payload can rebuild the digest offline.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

EPOCH = date(1970, 1, 1)


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
        return {"name": "ZeroErrand Ledger", "version": "1", "chainId": self.chain_id,
                "verifyingContract": self.verifying_contract}


def canonical(value: Any) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, UTF-8 (the serialization every hash is taken over)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def detail_hash(detail: Any) -> str:
    return "0x" + keccak(canonical(detail)).hex()


def day_number(d: date) -> int:
    return (d - EPOCH).days


def from_day_number(n: int) -> date:
    return date.fromordinal(EPOCH.toordinal() + n)


def _signable(content: Content, domain: Domain):  # noqa: ANN202 - eth_account SignableMessage
    return encode_typed_data(full_message={"types": EIP712_TYPES, "primaryType": "Certificate",
                                           "domain": domain.as_dict(), "message": content.message()})


def digest(content: Content, domain: Domain) -> bytes:
    """The EIP-712 digest: what the department signs and the ledger anchors."""
    return _hash_eip191_message(_signable(content, domain))


def sign(content: Content, domain: Domain, key: LocalAccount) -> tuple[bytes, bytes]:
    """(digest, 65-byte signature r||s||v)."""
    signed = key.sign_message(_signable(content, domain))
    return digest(content, domain), bytes(signed.signature)


def recover_signer(content: Content, domain: Domain, signature: bytes) -> str:
    return Account.recover_message(_signable(content, domain), signature=signature)
