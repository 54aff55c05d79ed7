"""Trust lists for offline verification: department keys, kinds, validity windows, revoked certificates.

A trust list is JSON: `{"body": {...}, "signer": "0x…", "signature": "0x…"}` where the signature is an
EIP-191 personal signature by the district admin key over the canonical JSON of `body`. A verifier pins the
admin address it trusts (`--trust-anchor`); without a pin it says the list's origin was not checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from qr.signed import Domain, canonical
from qr.verify import ChainState

FORMAT = "zel-trustlist/1"
STALE_AFTER_DAYS = 7


class TrustListError(ValueError):
    """The trust list is malformed or its signature does not hold."""


def sign_list(body: dict[str, Any], admin: LocalAccount) -> dict[str, Any]:
    signed = admin.sign_message(encode_defunct(canonical(body)))
    return {"body": body, "signer": admin.address, "signature": "0x" + bytes(signed.signature).hex()}


@dataclass
class TrustList:
    body: dict[str, Any]
    signer: str

    @classmethod
    def load(cls, text: str) -> "TrustList":
        try:
            doc = json.loads(text)
            body, signature = doc["body"], bytes.fromhex(doc["signature"][2:])
            if body.get("format") != FORMAT:
                raise TrustListError(f"not a {FORMAT} trust list")
            signer = Account.recover_message(encode_defunct(canonical(body)), signature=signature)
        except (ValueError, KeyError, TypeError) as exc:
            raise TrustListError(f"unreadable trust list: {exc}") from exc
        if signer != doc.get("signer"):
            raise TrustListError("the trust list's signature does not match its signer")
        return cls(body, signer)

    @cached_property
    def resolver(self) -> "OfflineResolver":
        """The list's resolver, built once: its revocation sets hold every revoked digest."""
        return OfflineResolver(self)

    @property
    def issued_at(self) -> datetime:
        return datetime.fromisoformat(self.body["issued_at"])

    def age_days(self, now: datetime | None = None) -> float:
        now = now or datetime.now(timezone.utc)
        return (now - self.issued_at).total_seconds() / 86400


class OfflineResolver:
    """Answers the pipeline from a trust list: keys and windows, revocations known when it was made."""

    def __init__(self, trust: TrustList) -> None:
        self.trust = trust
        self.keys = {k["address"].lower(): k for k in trust.body["keys"]}
        self.retired = {d["id"]: d.get("retired_at", 0) for d in trust.body["departments"]}
        self.revoked = {d.lower() for d in trust.body.get("revoked", [])}
        self.suspended = {d.lower() for d in trust.body.get("suspended", [])}

    def domain(self) -> Domain:
        return Domain(self.trust.body["chain_id"], self.trust.body["verifying_contract"])

    def key_known(self, signer: str) -> bool:
        return signer.lower() in self.keys

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
        return "offline"  # type: ignore[return-value]
