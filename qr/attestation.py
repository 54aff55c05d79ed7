"""The compact QR payload of an attestation of any registered kind (format version 2), laid out by its schema.

    version u8 = 2 | schema id 8 (the schema digest's first 8 bytes) | number u64 | subject | subjectName |
    issuedAt u32 | expiresOn u16 day | detailHash 32 | the schema's QR fields, in its order | signature 64

The version byte also names the signature suite (issue 20). Version 2: secp256k1 over the EIP-712 digest, the
signature in EIP-2098 compact form (the signer is recovered from it). Version 3: SM2 (GB/T 32918) over SM3, and an
SM2 signature names no signer, so the 4-byte key id (`ledger.sm2_address.sm2_key_id`) comes before it:

    version u8 = 3 | the same fields | key id 4 | signature r || s 64

An SM2 signature is over the deployment's EIP-712 domain separator followed by the payload's own bytes up to the
signature (`sm2_message`): the certificate's canonical binary encoding, the key id included, hashed with SM3 under
the signer's Z value. Any changed byte fails it, as any changed field fails a secp256k1 signature.

`subject` and `subjectName` are written as in format version 1 (`qr.payload`). The department is not written: it
is the schema's. Nor is `detailHash` for a kind whose fields are all in the QR code: it has no detail to commit
to, and its detailHash is zero (`kinds.eip712.NO_DETAIL`), 32 bytes of the ~200 that fit version 13 at level Q.
Each QR field by its type: string a length byte and GB18030 bytes; enum the value's index in the schema (u8);
integer a zigzag varint; amount_fen a varint; date a zigzag varint of its day number; month a varint of
year * 12 + month - 1; boolean a byte; digest 32 bytes. A verifier finds the schema by its id among
the registered ones (the trust list carries them), decodes, and rebuilds the EIP-712 digest (`kinds.eip712`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from kinds.eip712 import EPOCH, NO_DETAIL, has_detail
from kinds.schema import FieldSpec, KindSchema
from kinds.values import widest
from qr.payload import (
    PayloadError,
    Reader,
    compact_signature,
    expand_signature,
    read_subject,
    subject_bytes,
    varint,
    verify_url,
)
from qr.render import version_of

VERSION = 2
SM2_VERSION = 3
VERSIONS = (VERSION, SM2_VERSION)
ID_BYTES = 8
KEY_ID_BYTES = 4
ABOUT = {"person": "a person", "enterprise": "an enterprise"}


def schema_id(kind: KindSchema) -> bytes:
    """The 8 bytes a payload names its kind by (registration refuses a second schema with the same id)."""
    return kind.digest[:ID_BYTES]


@dataclass(frozen=True)
class Attestation:
    """A decoded payload: its kind, the struct's header (as `kinds.eip712.message` takes it), the QR field
    values (as `kinds.values.check` gives them) and the signature: 65 bytes (r, s, v) for secp256k1; for SM2, r || s,
    with the signer's key id and the bytes it signed (the payload up to the signature)."""

    kind: KindSchema
    header: dict[str, Any]
    values: dict[str, Any]
    signature: bytes
    suite: str = "secp256k1"
    key_id: bytes = b""
    signed: bytes = b""


def _zigzag(n: int) -> int:
    return n << 1 if n >= 0 else ((-n) << 1) - 1


def _unzigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _text(value: str, what: str) -> bytes:
    raw = value.encode("gb18030")
    if len(raw) > 255:
        raise PayloadError(f"{what} is too long for a QR payload")
    return bytes([len(raw)]) + raw


def _subject(subject: str) -> bytes:
    written = subject_bytes(subject)
    if written[0] == 0:  # the older masked form showed 4 more characters: never written for a new attestation
        raise PayloadError(f"subject {subject!r} is neither a masked ID number nor a USCC")
    return written


def _field(spec: FieldSpec, value: Any) -> bytes:
    if spec.type == "string":
        return _text(value, spec.name)
    if spec.type == "enum":
        return bytes([[code for code, _ in spec.values].index(value)])
    if spec.type == "integer":
        return varint(_zigzag(value))
    if spec.type == "amount_fen":
        return varint(value)
    if spec.type == "date":
        return varint(_zigzag((date.fromisoformat(value) - EPOCH).days))
    if spec.type == "month":
        year, month = value.split("-")
        return varint(int(year) * 12 + int(month) - 1)
    if spec.type == "boolean":
        return bytes([1 if value else 0])
    return bytes.fromhex(value[2:])  # digest


def encode(
    kind: KindSchema, header: dict[str, Any], values: dict[str, Any], signature: bytes, signer: str = ""
) -> bytes:
    """The binary payload of a signed attestation (`values` checked by `kinds.values.check`): format 2 for a 65-byte
    secp256k1 signature, format 3 for a 64-byte SM2 one (whose key id is `signer`'s address's first 4 bytes)."""
    if len(signature) == 64:
        return unsigned(kind, header, values, bytes.fromhex(signer.removeprefix("0x")[:8])) + signature
    return bytes(_fields(VERSION, kind, header, values) + compact_signature(signature))


def unsigned(kind: KindSchema, header: dict[str, Any], values: dict[str, Any], key_id: bytes) -> bytes:
    """A format-3 payload up to its SM2 signature: what the signature covers, after the domain separator."""
    if len(key_id) != KEY_ID_BYTES:
        raise PayloadError("an SM2 key id is 4 bytes")
    return bytes(_fields(SM2_VERSION, kind, header, values) + key_id)


def sm2_message(separator: bytes, unsigned_payload: bytes) -> bytes:
    """What an SM2 certificate signature signs (as M, under Z_A): the deployment's domain separator, then the payload
    up to the signature."""
    return separator + unsigned_payload


def _fields(version: int, kind: KindSchema, header: dict[str, Any], values: dict[str, Any]) -> bytearray:
    out = bytearray([version]) + schema_id(kind)
    out += int(header["number"]).to_bytes(8, "big")
    out += _subject(header["subject"]) + _text(header["subjectName"], "the subject name")
    out += header["issuedAt"].to_bytes(4, "big") + header["expiresOn"].to_bytes(2, "big")
    detail = bytes.fromhex(header["detailHash"].removeprefix("0x"))
    if has_detail(kind):
        out += detail
    elif detail != NO_DETAIL:
        raise PayloadError(f"{kind.slug} has no detail fields: its detailHash must be zero")
    for spec in kind.fields:
        if spec.in_qr:
            out += _field(spec, values[spec.name])
    return out


def _read_text(r: Reader, what: str) -> str:
    try:
        return r.take(r.uint(1)).decode("gb18030")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"{what} is not valid GB18030") from exc


def _read_field(r: Reader, spec: FieldSpec) -> Any:
    if spec.type == "string":
        return _read_text(r, spec.name)
    if spec.type == "enum":
        index = r.uint(1)
        if index >= len(spec.values):
            raise PayloadError(f"{spec.name}: no value {index} in the kind")
        return spec.values[index][0]
    if spec.type == "integer":
        return _unzigzag(r.varint())
    if spec.type == "amount_fen":
        return r.varint()
    if spec.type == "date":
        try:
            return (EPOCH + timedelta(days=_unzigzag(r.varint()))).isoformat()
        except OverflowError as exc:
            raise PayloadError(f"{spec.name}: the date is out of range") from exc
    if spec.type == "month":
        year, month = divmod(r.varint(), 12)
        return f"{year:04d}-{month + 1:02d}"
    if spec.type == "boolean":
        flag = r.uint(1)
        if flag > 1:
            raise PayloadError(f"{spec.name}: a boolean byte must be 0 or 1")
        return flag == 1
    return "0x" + r.take(32).hex()


def decode(data: bytes, kinds: Mapping[bytes, KindSchema]) -> Attestation:
    """Parse a format-2 (secp256k1) or format-3 (SM2) payload against the registered `kinds` (by schema id);
    `PayloadError` says what is wrong."""
    r = Reader(data)
    version = r.uint(1)
    if version not in VERSIONS:
        raise PayloadError(f"unknown payload format version {version}")
    sid = r.take(ID_BYTES)
    kind = kinds.get(sid)
    if kind is None:
        raise PayloadError(f"unknown kind: no registered schema 0x{sid.hex()}…")
    number = f"{r.uint(8):017d}"
    tag, subject = read_subject(r)
    if tag not in (1, 2):
        raise PayloadError(f"unknown subject type {tag}")
    if (tag == 1) != (kind.subject == "enterprise"):
        raise PayloadError(f"a {kind.slug} attestation is about {ABOUT[kind.subject]}, not this subject")
    header = {
        "number": number,
        "subject": subject,
        "subjectName": _read_text(r, "the subject name"),
        "issuedAt": r.uint(4),
        "expiresOn": r.uint(2),
        "department": kind.department,
        "detailHash": "0x" + (r.take(32) if has_detail(kind) else NO_DETAIL).hex(),
    }
    values = {spec.name: _read_field(r, spec) for spec in kind.fields if spec.in_qr}
    if version == SM2_VERSION:
        key_id = r.take(KEY_ID_BYTES)
        signed = data[: r.pos]
        signature = r.take(64)
    else:
        signature = expand_signature(r.take(64))
    if r.pos != len(data):
        raise PayloadError("unexpected bytes after the signature")
    if version == SM2_VERSION:
        return Attestation(kind, header, values, signature, "sm2", key_id, signed)
    return Attestation(kind, header, values, signature)


MOST_VERSION = 13  # the QR version at level Q every kind must fit (issue 19), as the certificates do (issue 5)
LONGEST_NAMES = {"person": "欧阳志明", "enterprise": "佛山市禅城区智慧城市建设运营服务有限公司"}  # 4 and 20 characters


def longest_payload(kind: KindSchema) -> bytes:
    """The payload of `kind` at its longest (every field at its widest, `kinds.values.widest`; a citizen's name of 4
    characters, an enterprise's of 20; a signature of the same size as any): what its QR code must hold."""
    header = {
        "number": "60202612040012345",
        "subject": "4406" + "*" * 14 if kind.subject == "person" else "91440604MA4UABCD1X",
        "subjectName": LONGEST_NAMES[kind.subject],
        "issuedAt": 2**32 - 1,
        "expiresOn": 2**16 - 1,
        "department": kind.department,
        "detailHash": "0x" + ("ff" * 32 if has_detail(kind) else NO_DETAIL.hex()),
    }
    any_signature = (1).to_bytes(32, "big") * 2 + bytes([27])
    return encode(kind, header, widest(kind), any_signature)


def longest_sm2_payload(kind: KindSchema) -> bytes:
    """`longest_payload` signed with SM2: 4 bytes longer (the key id)."""
    plain = longest_payload(kind)
    return bytes([SM2_VERSION]) + plain[1:-64] + bytes(KEY_ID_BYTES) + plain[-64:]


def longest_version(kind: KindSchema, base_url: str) -> int:
    """The QR version at level Q that `kind`'s verify URL needs at its longest, on `base_url`, in either suite (the
    SM2 payload is the longer)."""
    return version_of(verify_url(base_url, longest_sm2_payload(kind)), "Q")
