"""Attestation kinds: bit positions in IssuerRegistry key masks, shared by every contract and service."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class Kind(IntEnum):
    """What a department key may sign. The value is the bit position in the on-chain kinds mask."""

    TAX_CERTIFICATE = 0
    SOCIAL_INSURANCE_CERTIFICATE = 1
    CREDIT_RECORD = 2
    INSPECTION = 3
    CREDIT_REPORT = 4
    ENTERPRISE_CODE = 5
    RANDOM_DRAW = 6
    AUDIT_LOG = 7  # heads of the service's audit log (leafCount = the entry they close)
    ATTESTATION = 8  # attestations of the key's own department's registered schemas (kinds from schema files)

    @property
    def slug(self) -> str:
        return self.name.lower().replace("_", "-")

    @classmethod
    def parse(cls, text: str) -> Kind:
        """Accept a slug (`tax-certificate`), a name (`TAX_CERTIFICATE`) or a short alias (`tax`)."""
        norm = text.strip().lower().replace("_", "-")
        aliases = {"tax": cls.TAX_CERTIFICATE, "si": cls.SOCIAL_INSURANCE_CERTIFICATE, "credit": cls.CREDIT_RECORD}
        if norm in aliases:
            return aliases[norm]
        for kind in cls:
            if kind.slug == norm:
                return kind
        if norm.isdigit() and int(norm) in cls._value2member_map_:
            return cls(int(norm))
        choices = ", ".join(k.slug for k in cls)
        raise ValueError(f"unknown attestation kind {text!r}; choose from {choices}")


class CreditScope(IntEnum):
    """What a department may write in CreditRegistry: the bit position in its admitted `creditScopes`.

    Record scopes (below 16) are record categories; the grade and the two lists are scopes of their own.
    """

    TAX = 0  # tax arrears
    SOCIAL_INSURANCE = 1  # social-insurance arrears
    PENALTY = 2  # administrative penalties
    INSPECTION = 3  # inspection results
    COMMENDATION = 4
    JUDICIAL = 5  # dishonest judgment debtors
    REPAIR = 6  # credit-repair steps
    GRADE = 16
    RED_LIST = 17
    BLACK_LIST = 18


def bit_mask(members: Iterable[IntEnum]) -> int:
    """The on-chain bit mask of a set of kinds or credit scopes (bit i set = member i)."""
    mask = 0
    for member in members:
        mask |= 1 << int(member)
    return mask


kinds_mask = bit_mask
scopes_mask = bit_mask


def kinds_from_mask(mask: int) -> list[Kind]:
    """The kinds set in an on-chain bit mask (unknown bits are ignored)."""
    return [kind for kind in Kind if mask >> int(kind) & 1]


def department_id(name: str) -> bytes:
    """A department identifier: its ASCII short name right-padded to 32 bytes (e.g. `tax.440604`)."""
    raw = name.strip().encode("ascii")
    if not raw or len(raw) > 32:
        raise ValueError(f"department name {name!r} must be 1 to 32 ASCII characters")
    return raw.ljust(32, b"\0")


def department_name(dept_id: bytes) -> str:
    """The short name inside a department identifier."""
    return dept_id.rstrip(b"\0").decode("ascii", errors="replace")
