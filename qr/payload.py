"""The compact signed QR payload (format version 1) and the verify URL that carries it.

Binary, fixed field order, no JSON. Everything the EIP-712 `Certificate` struct holds travels, so a verifier
rebuilds the digest offline and recovers the signer:

    version u8 = 1 | kind u8 | number u64 | subject | subjectName | periodFrom u16 day | periodTo u16 day |
    totalFen varint | monthsPaid u8 | monthsInArrears u8 | detailHash 32 | issuedAt u32 | expiresOn u16 day |
    department u8 | signature 64 (EIP-2098 compact: yParity in the top bit of s)

Kind 5 is an enterprise credit report: its `totalFen` carries the credit score, `monthsPaid` the number of
records in the period and `monthsInArrears` the credit class (1 A, 2 B, 3 C, 4 D).

`subject` is a tag byte then: 2 = masked citizen ID (2-byte region prefix: `4406**************`, what
issuance writes), 1 = USCC (18 characters packed base 31 into 12 bytes), 0 = masked citizen ID of earlier
certificates (2-byte region prefix, 4 ASCII last characters: `4406**********123X`; still read, since their
signatures cover that subject, but no longer written: the sequence and check characters narrowed the holder
to a few thousand candidates). `subjectName` is a length byte and GB18030 bytes
(two bytes per common Chinese character instead of UTF-8's three; the digest is over the UTF-8 string).
The QR holds `<verify URL>#<digits>`: the payload as a decimal number (QR numeric mode, ~3.3 bits per digit)
after the `#`, so it never reaches a server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import errors
from identifiers import USCC_ALPHABET  # a USCC packs as 18 digits of base 31 in GB 32100's alphabet
from ledger import departments
from qr.signed import Content

VERSION = 1
# payload byte -> department id, from the registry (ledger.departments); 0 and unknown bytes name none
DEPARTMENTS = {d.code: d.id for d in departments.DEPARTMENTS if d.code is not None}
DEPARTMENT_CODES = {v: k for k, v in DEPARTMENTS.items()}
MASKED = re.compile(r"^(\d{4})\*{10}(\d{3}[\dX])$")  # tag 0, read only
MASKED_PREFIX = re.compile(r"^(\d{4})\*{14}$")  # tag 2
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def mask_id_number(id_number: str) -> str:
    """The subject a certificate shows for a citizen: the ID number's first 4 digits (province and city),
    the other 14 characters hidden (`4406**************`)."""
    return id_number[:4] + "*" * 14


class PayloadError(errors.InvalidInput, ValueError):
    """The payload is malformed: wrong version, truncated, or a field out of range."""


@dataclass(frozen=True)
class Signed:
    """A decoded payload: the signed content and its 65-byte signature."""

    content: Content
    signature: bytes


def varint(n: int) -> bytes:
    """An unsigned LEB128 number (7 bits a byte, the top bit says more follow)."""
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


class Reader:
    """Reads a payload front to back; running short is a `PayloadError`."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise PayloadError("the payload is truncated")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def varint(self) -> int:
        shift = value = 0
        while True:
            byte = self.uint(1)
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 63:
                raise PayloadError("a number in the payload is too long")


def compact_signature(sig: bytes) -> bytes:
    """A 65-byte (r, s, v) signature as 64 bytes (EIP-2098: the parity in s's top bit); refuses a high-s one."""
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    parity = (v - 27) if v >= 27 else v
    if s > SECP256K1_N // 2 or parity not in (0, 1):
        raise PayloadError("the signature is not in canonical low-s form")
    return r + (s | (parity << 255)).to_bytes(32, "big")


def expand_signature(compact: bytes) -> bytes:
    """The 65-byte (r, s, v) signature of an EIP-2098 compact one."""
    r, vs = compact[:32], int.from_bytes(compact[32:], "big")
    parity, s = vs >> 255, vs & ((1 << 255) - 1)
    return r + s.to_bytes(32, "big") + bytes([27 + parity])


def subject_bytes(subject: str) -> bytes:
    """A subject as a payload writes it: its tag byte (2 masked ID number, 1 USCC, 0 the older masked form), then
    the region prefix, the packed USCC, or the prefix and the last 4 characters."""
    prefix, masked = MASKED_PREFIX.match(subject), MASKED.match(subject)
    if prefix:
        return bytes([2]) + int(prefix.group(1)).to_bytes(2, "big")
    if masked:
        return bytes([0]) + int(masked.group(1)).to_bytes(2, "big") + masked.group(2).encode()
    if len(subject) == 18 and all(c in USCC_ALPHABET for c in subject):
        packed = 0
        for c in subject:
            packed = packed * 31 + USCC_ALPHABET.index(c)
        return bytes([1]) + packed.to_bytes(12, "big")
    raise PayloadError(f"subject {subject!r} is neither a masked ID number nor a USCC")


def read_subject(r: Reader) -> tuple[int, str]:
    """(tag, subject) as `subject_bytes` wrote them."""
    tag = r.uint(1)
    if tag == 2:
        return tag, f"{r.uint(2):04d}" + "*" * 14
    if tag == 0:
        return tag, f"{r.uint(2):04d}" + "*" * 10 + r.take(4).decode("ascii", errors="replace")
    if tag == 1:
        packed, chars = r.uint(12), []
        for _ in range(18):
            packed, digit = divmod(packed, 31)
            chars.append(USCC_ALPHABET[digit])
        return tag, "".join(reversed(chars))
    raise PayloadError(f"unknown subject type {tag}")


def encode(content: Content, signature: bytes) -> bytes:
    """The binary payload of a signed certificate."""
    out = bytearray([VERSION, content.kind])
    out += int(content.number).to_bytes(8, "big")
    out += subject_bytes(content.subject)
    name = content.subjectName.encode("gb18030")
    if len(name) > 255:
        raise PayloadError("the subject name is too long for a QR payload")
    out += bytes([len(name)]) + name
    out += content.periodFrom.to_bytes(2, "big") + content.periodTo.to_bytes(2, "big")
    out += varint(content.totalFen)
    out += bytes([content.monthsPaid, content.monthsInArrears])
    out += bytes.fromhex(content.detailHash.removeprefix("0x"))
    out += content.issuedAt.to_bytes(4, "big") + content.expiresOn.to_bytes(2, "big")
    out += bytes([DEPARTMENT_CODES[content.department]])
    out += compact_signature(signature)
    return bytes(out)


def decode(data: bytes) -> Signed:
    """Parse a binary payload; `PayloadError` says what is wrong."""
    r = Reader(data)
    version = r.uint(1)
    if version != VERSION:
        raise PayloadError(f"unknown payload format version {version}")
    kind = r.uint(1)
    if kind not in (1, 2, 3, 4, 5):
        raise PayloadError(f"unknown certificate kind {kind}")
    number = f"{r.uint(8):017d}"
    _, subject = read_subject(r)
    try:
        name = r.take(r.uint(1)).decode("gb18030")
    except UnicodeDecodeError as exc:
        raise PayloadError("the subject name is not valid GB18030") from exc
    period_from, period_to = r.uint(2), r.uint(2)
    total = r.varint()
    paid, arrears = r.uint(1), r.uint(1)
    detail = "0x" + r.take(32).hex()
    issued, expires = r.uint(4), r.uint(2)
    department = DEPARTMENTS.get(r.uint(1))
    if department is None:
        raise PayloadError("unknown department code")
    signature = expand_signature(r.take(64))
    if r.pos != len(data):
        raise PayloadError("unexpected bytes after the signature")
    content = Content(
        kind=kind,
        version=1,
        number=number,
        subject=subject,
        subjectName=name,
        periodFrom=period_from,
        periodTo=period_to,
        totalFen=total,
        monthsPaid=paid,
        monthsInArrears=arrears,
        detailHash=detail,
        issuedAt=issued,
        expiresOn=expires,
        department=department,
    )
    return Signed(content, signature)


def to_digits(payload: bytes) -> str:
    """The payload as decimal digits for QR numeric mode (a leading 0x01 byte keeps leading zeros)."""
    return str(int.from_bytes(b"\x01" + payload, "big"))


def from_digits(digits: str) -> bytes:
    if not digits.isdigit() or len(digits) > 2000:
        raise PayloadError("the QR payload must be decimal digits")
    raw = int(digits).to_bytes((int(digits).bit_length() + 7) // 8, "big")
    if not raw or raw[0] != 1:
        raise PayloadError("the QR payload does not start with its marker")
    return raw[1:]


def verify_url(base: str, payload: bytes) -> str:
    return f"{base.rstrip('/')}/verify#{to_digits(payload)}"


def payload_from_text(text: str) -> bytes:
    """The payload inside a verify URL, a `#digits` fragment or bare digits."""
    text = text.strip()
    if "#" in text:
        text = text.rsplit("#", 1)[1]
    return from_digits(text)
