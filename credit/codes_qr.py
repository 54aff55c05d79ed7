"""One code per enterprise (一企一码): a QR code with the enterprise's USCC and a signature by market supervision.

The QR holds `<public URL>/e/<USCC>#<digits>`: the page of the enterprise's public profile, with the signed part
after `#` as decimal digits (numeric mode): version u8 = 1 | issued u32 (unix seconds) | signature 64 (EIP-2098
compact). The signature is an EIP-191 personal signature over
`keccak256("zel-enterprise-code/1" || USCC || issued)`, by a key that IssuerRegistry authorizes for the
ENTERPRISE_CODE kind at `issued`. Inspectors' scans check it before showing the standing, so a printed code
cannot be pointed at another enterprise's profile unnoticed. Signatures are deterministic (RFC 6979), so the
code of an enterprise is the same every time it is printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

import errors
from identifiers import USCC_CHARS
from ledger.client import Ledger
from ledger.departments import for_kind
from ledger.kinds import Kind
from qr.payload import PayloadError, compact_signature, expand_signature, from_digits, to_digits
from qr.signed import recover_from_digest

DOMAIN_TAG = b"zel-enterprise-code/1"
CODE_DEPARTMENT = for_kind(Kind.ENTERPRISE_CODE).id  # market supervision signs the enterprise codes
URL = re.compile(rf"/e/({USCC_CHARS}{{18}})#(\d+)$")


class CodeError(errors.InvalidInput, ValueError):
    """Not an enterprise code, or one whose signature does not hold."""

    code = "invalid-code"  # the inspector's page tells a non-code (this) from a forged one


def _message(uscc: str, issued: int) -> bytes:
    return keccak(DOMAIN_TAG + uscc.encode() + issued.to_bytes(4, "big"))


def _eip191(message: bytes) -> bytes:
    return keccak(b"\x19Ethereum Signed Message:\n32" + message)


def code_url(base: str, uscc: str, issued: int, key: LocalAccount) -> str:
    signature = bytes(key.sign_message(encode_defunct(primitive=_message(uscc, issued))).signature)
    payload = bytes([1]) + issued.to_bytes(4, "big") + compact_signature(signature)
    return f"{base.rstrip('/')}/e/{uscc}#{to_digits(payload)}"


def enterprise_code(ledger: Ledger, key: LocalAccount, base: str, uscc: str) -> str:
    """The enterprise's current code: signed by market supervision's key, dated from that key's validity, so the
    same code prints every time until the key is rotated (then every enterprise gets a new one)."""
    return code_url(base, uscc, ledger.key_info(key.address).valid_from, key)


@dataclass(frozen=True)
class ScannedCode:
    uscc: str
    issued: int
    signer: str


def read_code(text: str) -> ScannedCode:
    """Parse a scanned enterprise code and recover its signer; `CodeError` says what is wrong."""
    match = URL.search(text.strip())
    if match is None:
        raise CodeError("not an enterprise code: expected …/e/<USCC>#<digits>")
    uscc, digits = match.groups()
    try:
        payload = from_digits(digits)
    except PayloadError as exc:
        raise CodeError(str(exc)) from exc
    if len(payload) != 69 or payload[0] != 1:
        raise CodeError("unknown enterprise-code format")
    issued = int.from_bytes(payload[1:5], "big")
    try:
        signer = recover_from_digest(_eip191(_message(uscc, issued)), expand_signature(payload[5:]))
    except ValueError as exc:
        raise CodeError(f"the code's signature is unusable: {exc}") from exc
    return ScannedCode(uscc, issued, signer)
