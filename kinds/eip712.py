"""The EIP-712 struct of an attestation, derived from its kind's schema: no kind is written into the code.

Every attestation is an `Attestation` struct. Its header is the same for every kind:

    bytes32 schema        the kind's schema digest (`KindSchema.digest`): slug, version and every rule
    string number         the attestation's number
    string subject        masked citizen ID number, or USCC
    string subjectName    the person's masked name or the enterprise's name
    uint64 issuedAt       unix seconds
    uint32 expiresOn      day number (days since 1970-01-01)
    string department     the issuing department's id
    bytes32 detailHash    keccak of the canonical JSON of the salted detail (the fields not in the QR code);
                          zero for a kind whose fields are all in the QR code (`NO_DETAIL`)

followed by the schema's `in_qr` fields in the schema's order, typed as below. A verifier holding the schema (from
the signed key list or trust list) derives the same struct, so a new kind needs no new code on either side, and a
new version of a kind has a new schema digest, so it never changes how an old attestation verifies.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from sha3 import keccak_256

from kinds.schema import FieldSpec, KindSchema, canonical

EPOCH = date(1970, 1, 1)
HEADER = [
    {"name": "schema", "type": "bytes32"},
    {"name": "number", "type": "string"},
    {"name": "subject", "type": "string"},
    {"name": "subjectName", "type": "string"},
    {"name": "issuedAt", "type": "uint64"},
    {"name": "expiresOn", "type": "uint32"},
    {"name": "department", "type": "string"},
    {"name": "detailHash", "type": "bytes32"},
]
SOLIDITY = {
    "string": "string",
    "enum": "string",  # the value's code: readable, and a code means the same under every version
    "integer": "int64",
    "amount_fen": "uint64",
    "date": "int32",  # day number: days since 1970-01-01, negative before (a resident since 1965)
    "month": "uint32",  # months since year 0: year * 12 + month - 1
    "boolean": "bool",
    "digest": "bytes32",
}
NO_DETAIL = bytes(32)
DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def struct_fields(kind: KindSchema) -> list[dict[str, str]]:
    """The `Attestation` struct's members for `kind`: the header, then its QR fields."""
    return HEADER + [{"name": f.name, "type": SOLIDITY[f.type]} for f in kind.fields if f.in_qr]


def type_string(kind: KindSchema) -> str:
    return "Attestation(" + ",".join(f"{m['type']} {m['name']}" for m in struct_fields(kind)) + ")"


def encoded(spec: FieldSpec, value: Any) -> Any:
    """A checked value (`kinds.values.check`) as the struct carries it."""
    if spec.type == "date":
        return (date.fromisoformat(value) - EPOCH).days
    if spec.type == "month":
        year, month = value.split("-")
        return int(year) * 12 + int(month) - 1
    if spec.type == "digest":
        return bytes.fromhex(value[2:])
    return value


def message(kind: KindSchema, header: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The struct's message: `header` (number, subject, subjectName, issuedAt, expiresOn, department, detailHash as
    0x-hex) and the checked QR field `values`."""
    out: dict[str, Any] = {"schema": kind.digest, **header, "detailHash": bytes.fromhex(header["detailHash"][2:])}
    for spec in kind.fields:
        if spec.in_qr:
            out[spec.name] = encoded(spec, values[spec.name])
    return out


def typed_data(kind: KindSchema, domain: dict[str, Any], msg: dict[str, Any]) -> dict[str, Any]:
    """The full EIP-712 document (for eth-account and wallets)."""
    return {
        "types": {"EIP712Domain": DOMAIN_TYPE, "Attestation": struct_fields(kind)},
        "primaryType": "Attestation",
        "domain": domain,
        "message": msg,
    }


def keccak(data: bytes) -> bytes:
    # pysha3's C Keccak-256, as qr.signed's: ~1 µs a call against ~10 µs through eth_utils, a dozen per attestation
    return keccak_256(data).digest()


_TYPE_HASHES: dict[bytes, bytes] = {}  # by schema digest (a schema's dict source makes the kind itself unhashable)


def type_hash(kind: KindSchema) -> bytes:
    """keccak of the kind's `Attestation(...)` type string, once a kind."""
    found = _TYPE_HASHES.get(kind.digest)
    if found is None:
        found = _TYPE_HASHES[kind.digest] = keccak(type_string(kind).encode())
    return found


def _word(kind: str, value: Any) -> bytes:
    if kind == "string":
        return keccak(value.encode())
    if kind == "bytes32":
        if len(value) != 32:
            raise ValueError("a bytes32 member must be 32 bytes")
        return bytes(value)
    if kind == "bool":
        return (1 if value else 0).to_bytes(32, "big")
    bits = int(kind.removeprefix("u").removeprefix("int"))
    if kind.startswith("uint"):
        if not 0 <= value < 1 << bits:
            raise ValueError(f"{value} does not fit {kind}")
        return int(value).to_bytes(32, "big")
    if not -(1 << (bits - 1)) <= value < 1 << (bits - 1):
        raise ValueError(f"{value} does not fit {kind}")
    return int(value).to_bytes(32, "big", signed=True)


def struct_hash(kind: KindSchema, msg: dict[str, Any]) -> bytes:
    """hashStruct(Attestation) for `kind`: the EIP-712 encoding written out (a test holds it to eth-account's)."""
    members = struct_fields(kind)
    return keccak(type_hash(kind) + b"".join(_word(m["type"], msg[m["name"]]) for m in members))


def digest(kind: KindSchema, separator: bytes, msg: dict[str, Any]) -> bytes:
    """The EIP-712 digest the department signs and the ledger anchors; `separator` is the deployment's domain
    separator, the certificates' own (`qr.signed.domain_separator`)."""
    return keccak(b"\x19\x01" + separator + struct_hash(kind, msg))


def has_detail(kind: KindSchema) -> bool:
    """Whether `kind` has fields outside the QR code (committed through the salted detail hash)."""
    return any(not f.in_qr for f in kind.fields)


def detail_hash(detail: dict[str, Any]) -> str:
    """keccak of the canonical JSON of the salted detail (the fields not in the QR code, and the salt)."""
    return "0x" + keccak(canonical(detail)).hex()


def detail_of(kind: KindSchema, values: dict[str, Any]) -> dict[str, Any] | None:
    """The salted detail an attestation of `kind` stores and gives its holder: the checked values of the fields not
    in the QR code and 32 random bytes, so that its hash cannot be found by guessing the values. None for a kind
    without such fields (its detailHash is `NO_DETAIL`)."""
    if not has_detail(kind):
        return None
    return {"fields": {f.name: values[f.name] for f in kind.fields if not f.in_qr}, "salt": secrets.token_hex(32)}


def header_detail_hash(kind: KindSchema, detail: dict[str, Any] | None) -> str:
    """The `detailHash` the header signs for `detail` (from `detail_of`)."""
    if detail is None:
        if has_detail(kind):
            raise ValueError(f"{kind.slug} has fields outside the QR code: its detail is needed")
        return "0x" + NO_DETAIL.hex()
    return detail_hash(detail)


def detail_matches(kind: KindSchema, detail: dict[str, Any], signed_hash: str) -> bool:
    """Whether a detail shown by the holder is the one the attestation signed: its hash is the signed detailHash
    and it holds exactly the kind's fields outside the QR code."""
    fields = detail.get("fields") if isinstance(detail, dict) else None
    wanted = {f.name for f in kind.fields if not f.in_qr}
    if not isinstance(fields, dict) or set(fields) != wanted or set(detail) != {"fields", "salt"}:
        return False
    return detail_hash(detail) == signed_hash.lower()
