"""Trust lists for offline verification: department keys, kinds, validity windows, revoked certificates.

A trust list is JSON: `{"body": {...}, "signer": "0x…", "signature": "0x…"}` where the signature is an EIP-191
personal signature by the district admin key over the canonical JSON of `body`; or, signed with an SM2 key (issue
20), `{"body", "suite": "sm2", "public_key": "0x" X || Y, "signer": its address, "signature": r || s}`, the SM2
signature (SM3, default user id) of `SM2_PURPOSE` followed by the same canonical JSON, and the signer the key's
IssuerRegistry-style address (`ledger.sm2_address`).

Anyone can sign a well-formed list, so a signature alone proves nothing: a verifier pins what it trusts (an
`Anchor`), and without one the verdict is never VALID. A pin is the district admin's address (`--trust-anchor`, or
the `admin` of the data directory's deployment record for the list's chain), or the list's fingerprint (SHA-256 of
its canonical body, which `zel trustlist export` prints for publication out of band; `--trust-fingerprint`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct

import errors
from kinds.schema import KindSchema, KindSchemaError, parse
from ledger import sm2
from ledger.keys import Signer, Sm2Account
from ledger.sm2_address import sm2_key_address, sm2_key_id
from qr.attestation import schema_id
from qr.signed import Domain, canonical
from qr.verify import ChainState, Check, Verdict, verify_offline, verify_text

FORMAT = "zel-trustlist/1"
# What an SM2 list signature signs before the body: no certificate payload (format 3 signs a domain separator, then a
# version byte) can be read as a trust list, or a list as a certificate.
SM2_PURPOSE = b"zel-trustlist/1 sm2\n"
STALE_AFTER_DAYS = 7


class TrustListError(errors.InvalidInput, ValueError):
    """The trust list is malformed or its signature does not hold."""


def fingerprint(body: dict[str, Any]) -> str:
    """A trust list's fingerprint: the SHA-256 of its canonical body, in hex."""
    return hashlib.sha256(canonical(body)).hexdigest()


def sign_list(body: dict[str, Any], admin: Signer) -> dict[str, Any]:
    """The list `body` signed by `admin`: a secp256k1 key (EIP-191) or an SM2 key."""
    if isinstance(admin, Sm2Account):
        return {
            "body": body,
            "suite": "sm2",
            "public_key": "0x" + admin.public_key.hex(),
            "signer": admin.address,
            "signature": "0x" + admin.sign(SM2_PURPOSE + canonical(body)).hex(),
        }
    signed = admin.sign_message(encode_defunct(canonical(body)))
    return {"body": body, "signer": admin.address, "signature": "0x" + bytes(signed.signature).hex()}


def _sm2_signer(doc: dict[str, Any], message: bytes, signature: bytes) -> str:
    """The address of the SM2 key whose signature of `message` the list carries; `TrustListError` when it fails."""
    try:
        public = sm2.public_key(bytes.fromhex(str(doc["public_key"]).removeprefix("0x")))
    except (sm2.Sm2Error, ValueError) as exc:
        raise TrustListError(f"the trust list's signer is not an SM2 public key: {exc}") from exc
    if not public.verify(message, signature):
        raise TrustListError("the trust list's SM2 signature does not hold")
    return public.address


@dataclass
class TrustList:
    body: dict[str, Any]
    signer: str

    @classmethod
    def load(cls, text: str) -> TrustList:
        try:
            doc = json.loads(text)
            body, signature = doc["body"], bytes.fromhex(doc["signature"][2:])
            if body.get("format") != FORMAT:
                raise TrustListError(f"not a {FORMAT} trust list")
            suite = doc.get("suite", "secp256k1")
            if suite == "sm2":
                signer = _sm2_signer(doc, SM2_PURPOSE + canonical(body), signature)
            elif suite == "secp256k1":
                signer = Account.recover_message(encode_defunct(canonical(body)), signature=signature)
            else:
                raise TrustListError(f"unknown signature suite {suite!r} (secp256k1 or sm2)")
        except TrustListError:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise TrustListError(f"unreadable trust list: {exc}") from exc
        if signer != doc.get("signer"):
            raise TrustListError("the trust list's signature does not match its signer")
        return cls(body, signer)

    @cached_property
    def resolver(self) -> OfflineResolver:
        """The list's resolver, built once: its revocation sets hold every revoked digest."""
        return OfflineResolver(self)

    @cached_property
    def fingerprint(self) -> str:
        """What the district publishes beside the list for verifiers to compare (`fingerprint`)."""
        return fingerprint(self.body)

    @property
    def issued_at(self) -> datetime:
        return datetime.fromisoformat(self.body["issued_at"])

    def age_days(self, now: datetime | None = None) -> float:
        now = now or datetime.now(UTC)
        return (now - self.issued_at).total_seconds() / 86400


class OfflineResolver:
    """Answers the pipeline from a trust list: keys and windows, revocations known when it was made."""

    def __init__(self, trust: TrustList) -> None:
        self.trust = trust
        self.keys = {k["address"].lower(): k for k in trust.body["keys"]}
        self.sm2_keys = sm2_keys(trust.body["keys"])
        self.retired = {d["id"]: d.get("retired_at", 0) for d in trust.body["departments"]}
        self.revoked = {d.lower() for d in trust.body.get("revoked", [])}
        self.suspended = {d.lower() for d in trust.body.get("suspended", [])}
        self._kinds: dict[bytes, KindSchema] | None = None

    def kinds(self) -> dict[bytes, KindSchema]:
        """The kinds the list carries, by payload id: each schema as registered on chain (its digest and department
        as the list states them, which the list's signature covers); one that does not hash to its digest is left
        out, so its attestations read as an unknown kind."""
        if self._kinds is None:
            found = {}
            for entry in self.trust.body.get("kinds", []):
                try:
                    kind = parse(entry["schema"])
                except (KindSchemaError, KeyError, TypeError):
                    continue
                if "0x" + kind.digest.hex() == entry.get("digest") and kind.department == entry.get("department"):
                    found[schema_id(kind)] = kind
            self._kinds = found
        return self._kinds

    def domain(self) -> Domain:
        return Domain(self.trust.body["chain_id"], self.trust.body["verifying_contract"])

    def key_known(self, signer: str) -> bool:
        return signer.lower() in self.keys

    def sm2_key(self, key_id: bytes) -> tuple[str, bytes] | None:
        return self.sm2_keys.get(key_id)

    def key_department(self, signer: str) -> str | None:
        key = self.keys.get(signer.lower())
        return None if key is None else key["department"]

    def key_migrated(self, signer: str) -> bool:
        key = self.keys.get(signer.lower())
        return bool(key and key.get("migrated"))

    def is_authorized(self, signer: str, chain_kind: int, timestamp: int) -> bool:
        """IssuerRegistry.isAuthorized, replayed from the list."""
        key = self.keys.get(signer.lower())
        if key is None or not (key["kinds"] >> chain_kind) & 1 or timestamp < key["valid_from"]:
            return False
        if key["revoked_at"] and timestamp >= key["revoked_at"]:
            return False
        retired = self.retired.get(key["department"], 0)
        return not retired or timestamp < retired

    def state(self, digest_hex: str, department: str = "") -> ChainState:
        if digest_hex.lower() in self.revoked:
            return "revoked"
        if digest_hex.lower() in self.suspended:
            return "suspended"
        return "offline"


def sm2_keys(keys: list[dict[str, Any]]) -> dict[bytes, tuple[str, bytes]]:
    """The list's SM2 keys by key id: address and public key. An entry whose address is not its public key's
    (`ledger.sm2_address`) is left out: no payload can name it."""
    found = {}
    for k in keys:
        if k.get("suite") != "sm2":
            continue
        try:
            public = bytes.fromhex(str(k["public_key"]).removeprefix("0x"))
            if sm2_key_address(public).lower() == str(k["address"]).lower():
                found[sm2_key_id(public)] = (k["address"], public)
        except (KeyError, ValueError):
            continue
    return found


# -- pinning: what a verifier trusts a list's origin by -----------------------------------------------------

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Anchor:
    """What a verifier pins a trust list to: admin addresses and/or one list fingerprint, and where the pin came
    from (`source`, shown in the verdict). An anchor pinning nothing says in `source` where none was found."""

    addresses: tuple[str, ...] = ()
    fingerprint: str | None = None
    source: str = ""

    @property
    def pins(self) -> bool:
        return bool(self.addresses or self.fingerprint)


def parse_address(text: str) -> str:
    if not _ADDRESS.fullmatch(text.strip()):
        raise TrustListError(f"not an address (0x and 40 hex digits): {text!r}")
    return text.strip()


def parse_fingerprint(text: str) -> str:
    """A published fingerprint, as people copy it: any case, `sha256:` prefix, colons, spaces or dashes."""
    value = re.sub(r"[\s:\-]", "", text.strip().lower()).removeprefix("sha256")
    if not _FINGERPRINT.fullmatch(value):
        raise TrustListError(f"not a trust list fingerprint (64 hex digits): {text!r}")
    return value


def deployment_anchor(data_dir: Path, chain_id: Any) -> Anchor:
    """The admin address the data directory's deployment record knows for `chain_id` (the key `zel trustlist
    export` signs with), or an empty anchor saying where no record was found."""
    from ledger.deploy import Deployment

    if not isinstance(chain_id, int) or isinstance(chain_id, bool) or chain_id <= 0:
        return Anchor(source="the trust list names no chain id")
    path = Deployment.path(data_dir, chain_id)
    try:
        admin = json.loads(path.read_text())["admin"]
        return Anchor((parse_address(admin),), source=f"deployment record {path}")
    except FileNotFoundError:
        return Anchor(source=f"no deployment record at {path}")
    except (OSError, ValueError, KeyError, TypeError):
        return Anchor(source=f"unreadable deployment record {path}")


def anchor_from(address: str | None, fingerprint_text: str | None, data_dir: Path | None, chain_id: Any) -> Anchor:
    """The verifier's pins: the flags when given (each one must hold), else the deployment record of `data_dir`."""
    if address or fingerprint_text:
        return Anchor(
            (parse_address(address),) if address else (),
            parse_fingerprint(fingerprint_text) if fingerprint_text else None,
            " and ".join(f for f, v in (("--trust-anchor", address), ("--trust-fingerprint", fingerprint_text)) if v),
        )
    return deployment_anchor(data_dir, chain_id) if data_dir is not None else Anchor(source="no data directory")


def origin_check(trust: TrustList, anchor: Anchor) -> Check:
    """Whether the list is the one the verifier pinned, in Chinese and English."""
    signer = trust.signer
    if not anchor.pins:
        return Check(
            "trust-anchor",
            False,
            f"信任列表由 {signer} 签名，但未固定信任锚（{anchor.source}），无法确认其来源："
            "请用 --trust-anchor 指定区管理员地址，或用 --trust-fingerprint 核对公布的列表指纹",
            f"The trust list is signed by {signer}, but no trust anchor is pinned ({anchor.source}), so its "
            "origin is unknown: pin the district admin address (--trust-anchor) or check the list's published "
            "fingerprint (--trust-fingerprint)",
        )
    if anchor.addresses and signer.lower() not in {a.lower() for a in anchor.addresses}:
        pinned = ", ".join(anchor.addresses)
        return Check(
            "trust-anchor",
            False,
            f"信任列表签名者 {signer} 不是固定的信任锚 {pinned}（来源：{anchor.source}）",
            f"The trust list is signed by {signer}, not by the pinned anchor {pinned} (from {anchor.source})",
        )
    if anchor.fingerprint and not hmac.compare_digest(anchor.fingerprint, trust.fingerprint):
        return Check(
            "trust-anchor",
            False,
            f"信任列表指纹 {trust.fingerprint} 与固定的指纹 {anchor.fingerprint} 不符（来源：{anchor.source}）",
            f"The trust list's fingerprint {trust.fingerprint} does not match the pinned fingerprint "
            f"{anchor.fingerprint} (from {anchor.source})",
        )
    what_zh, what_en = ("签名者", "signer") if anchor.addresses else ("指纹", "fingerprint")
    return Check(
        "trust-anchor",
        True,
        f"信任列表{what_zh}与固定的信任锚相符（来源：{anchor.source}）",
        f"The trust list's {what_en} matches the pinned anchor (from {anchor.source})",
    )


def verify_pinned(
    text: str,
    trust: TrustList,
    anchor: Anchor,
    *,
    today: date | None = None,
    now: datetime | None = None,
    stale_after_days: float = STALE_AFTER_DAYS,
) -> Verdict:
    """Verify offline with a trust list whose origin `anchor` vouches for. A list no pin vouches for decides
    nothing: the verdict is UNTRUSTED_ISSUER (INVALID for an unreadable payload) and names the missing or
    mismatched anchor; only the certificate's claimed content is shown."""
    origin = origin_check(trust, anchor)
    if origin.ok:
        verdict = verify_offline(
            text, trust, trust_anchor=trust.signer, today=today, now=now, stale_after_days=stale_after_days
        )
        verdict.checks.insert(1, origin)
        return verdict
    claimed = verify_text(text, trust.resolver, today)
    unreadable = [c for c in claimed.checks if c.name == "format" and c.ok is False]
    return Verdict(
        "INVALID" if unreadable else "UNTRUSTED_ISSUER",
        [origin, *unreadable],
        claimed.certificate,
        unchecked=["trustlist-origin", "signature", "issuer", "status", "expiry"],
    )
