"""For tests: a certificate issued under its kind's schema (kinds/standard/), read back as a verifier reads it."""

from __future__ import annotations

from typing import Any

from eth_account import Account

from kinds import eip712
from kinds.schema import KindSchema
from ledger import sm2
from ledger.keys import Sm2Account
from qr import attestation
from qr.signed import Domain, domain_separator
from zero_errand.standard_kinds import standard_by_digest

SCHEMAS = standard_by_digest()


def schema_of(content: dict[str, Any]) -> KindSchema:
    return SCHEMAS[content["schema"]]


def digest_of(content: dict[str, Any], domain: Domain) -> bytes:
    """The EIP-712 digest a certificate's stored or served `content` (schema, header, values) was signed as."""
    schema = schema_of(content)
    separator = domain_separator(domain.chain_id, domain.verifying_contract)
    return eip712.digest(schema, separator, eip712.message(schema, content["header"], content["values"]))


def signer_of(content: dict[str, Any], domain: Domain, signature: str, sm2_public_key: bytes = b"") -> str:
    """Who signed a certificate: the address a secp256k1 signature recovers to; for an SM2 signature (64 bytes), the
    address of `sm2_public_key` when the signature holds under it (payload format 3), else ""."""
    raw = bytes.fromhex(signature.removeprefix("0x"))
    if len(raw) == 64:
        public = sm2.public_key(sm2_public_key)
        schema, separator = schema_of(content), domain_separator(domain.chain_id, domain.verifying_contract)
        unsigned = attestation.unsigned(schema, content["header"], content["values"], public.key_id)
        return public.address if public.verify(attestation.sm2_message(separator, unsigned), raw) else ""
    return Account._recover_hash(digest_of(content, domain), signature=raw)


def decoded(data: bytes) -> attestation.Attestation:
    """A certificate's QR payload (format 2 or 3) read against the certificate kinds' schemas."""
    return attestation.decode(data, {attestation.schema_id(k): k for k in SCHEMAS.values()})


def retyped(data: bytes, *, header: dict[str, Any] | None = None, values: dict[str, Any] | None = None) -> bytes:
    """A certificate's payload with changed header or field values under its original signature: a forgery."""
    got = decoded(data)
    new_header, new_values = {**got.header, **(header or {})}, {**got.values, **(values or {})}
    if got.suite == "sm2":
        return attestation.unsigned(got.kind, new_header, new_values, got.key_id) + got.signature
    return attestation.encode(got.kind, new_header, new_values, got.signature)


def resigned(
    data: bytes, key: Any, domain: Domain, *, kind: KindSchema | None = None, header: dict[str, Any] | None = None
) -> bytes:
    """A certificate's payload signed anew by `key`, as a kind of `kind` (default its own: the values must fit it)
    with header changes: what someone holding a real key could make."""
    got = decoded(data)
    schema = kind or got.kind
    new_header = {**got.header, "department": schema.department, **(header or {})}
    if isinstance(key, Sm2Account):  # an SM2 key signs the payload's own bytes (format 3)
        unsigned = attestation.unsigned(schema, new_header, got.values, key.key_id)
        separator = domain_separator(domain.chain_id, domain.verifying_contract)
        return unsigned + key.sign(attestation.sm2_message(separator, unsigned))
    content = {"schema": "0x" + schema.digest.hex(), "header": new_header, "values": got.values}
    signature = bytes(key.unsafe_sign_hash(digest_of(content, domain)).signature)
    return attestation.encode(schema, new_header, got.values, signature)
