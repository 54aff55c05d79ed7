"""The district's departments: who they are on chain, what their keys sign, and where each is looked up.

The one registry of department ids. Code names a department by what it does (`for_kind(Kind.RANDOM_DRAW)`: the
department that draws the inspections) or, where the department itself is meant (demo staff, a form's choices),
by the named constants below; nothing else writes an id. Provisioning and key loading are
`zero_errand.departments`; the compact QR payload carries a department as its `code` (`qr.payload`).
"""

from __future__ import annotations

from dataclasses import dataclass

import errors
from ledger.kinds import CreditScope, Kind


@dataclass(frozen=True)
class Department:
    """A department: its id (on chain: `ledger.kinds.department_id`), names, keystore and what it is admitted for."""

    id: str
    code: int | None  # its byte in the compact QR payload; None: its key signs nothing a QR code carries
    name_zh: str
    name_en: str
    key_name: str  # keystore name in DATA_DIR/keys (its password: ZEL_KEYSTORE_PASSWORD_<KEY_NAME>)
    kinds: tuple[Kind, ...]  # what its key may sign (the kinds mask registered with the key)
    credit_scopes: tuple[CreditScope, ...]  # what it may write in CreditRegistry, set at admission


class UnknownDepartment(errors.NotFound, LookupError):
    """No department has that id or payload code, or not exactly one signs that kind."""


TAX = Department(
    "tax.440604",
    1,
    "国家税务总局佛山市禅城区税务局",
    "Chancheng District Tax Bureau, STA",
    "tax",
    (Kind.TAX_CERTIFICATE, Kind.CREDIT_RECORD, Kind.ATTESTATION),
    (CreditScope.TAX, CreditScope.REPAIR),
)
SOCIAL_INSURANCE = Department(
    "si.440604",
    2,
    "佛山市禅城区社会保险基金管理局",
    "Chancheng District Social Insurance Fund Administration",
    "si",
    (Kind.SOCIAL_INSURANCE_CERTIFICATE, Kind.CREDIT_RECORD, Kind.ATTESTATION),
    (CreditScope.SOCIAL_INSURANCE, CreditScope.REPAIR),
)
MARKET_SUPERVISION = Department(
    "amr.440604",
    3,
    "佛山市禅城区市场监督管理局",
    "Chancheng District Administration for Market Regulation",
    "amr",
    (
        Kind.CREDIT_RECORD,
        Kind.INSPECTION,
        Kind.CREDIT_REPORT,
        Kind.ENTERPRISE_CODE,
        Kind.RANDOM_DRAW,
        Kind.ATTESTATION,
    ),
    (
        CreditScope.PENALTY,
        CreditScope.INSPECTION,
        CreditScope.COMMENDATION,
        CreditScope.JUDICIAL,
        CreditScope.REPAIR,
        CreditScope.GRADE,
        CreditScope.RED_LIST,
        CreditScope.BLACK_LIST,
    ),
)
# The district's government-service data office keeps the platform: its key only anchors the audit log's head
# (every batch window), so that nobody with database access can rewrite the log unseen.
DATA_ADMINISTRATION = Department(
    "dsj.440604",
    None,
    "佛山市禅城区政务服务数据管理局",
    "Chancheng District Government Service Data Administration",
    "audit",
    (Kind.AUDIT_LOG,),
    (),
)

# Departments that issue only kinds registered from schema files (issue 19): the residence proof and the school
# enrolment receipt of the demo. Their attestations' QR payloads name the kind, whose schema names the department.
PUBLIC_SECURITY = Department(
    "ps.440604",
    None,
    "佛山市公安局禅城分局",
    "Chancheng Branch, Foshan Public Security Bureau",
    "ps",
    (Kind.ATTESTATION,),
    (),
)
EDUCATION = Department(
    "edu.440604",
    None,
    "佛山市禅城区教育局",
    "Chancheng District Education Bureau",
    "edu",
    (Kind.ATTESTATION,),
    (),
)

DEPARTMENTS: tuple[Department, ...] = (
    TAX,
    SOCIAL_INSURANCE,
    MARKET_SUPERVISION,
    DATA_ADMINISTRATION,
    PUBLIC_SECURITY,
    EDUCATION,
)


def by_id(department_id: str) -> Department:
    """The department with this id (`tax.440604`)."""
    for department in DEPARTMENTS:
        if department.id == department_id:
            return department
    raise UnknownDepartment(f"no department {department_id!r}", field="department")


def by_code(code: int) -> Department:
    """The department a compact QR payload names by `code`."""
    for department in DEPARTMENTS:
        if department.code is not None and department.code == code:
            return department
    raise UnknownDepartment(f"no department has payload code {code}")


def with_kind(kind: Kind) -> tuple[Department, ...]:
    """Every department whose key may sign `kind` (credit records: each department writes its own)."""
    return tuple(d for d in DEPARTMENTS if kind in d.kinds)


def for_kind(kind: Kind) -> Department:
    """The one department that issues or anchors `kind` (tax certificates: the tax bureau; inspections, enterprise
    codes, credit reports and random draws: market supervision; the audit log: the data office)."""
    found = with_kind(kind)
    if len(found) != 1:
        raise UnknownDepartment(f"{len(found)} departments sign {kind.slug}: name the department")
    return found[0]


def for_scope(scope: CreditScope) -> Department:
    """The one department admitted to write `scope` in CreditRegistry (grades and lists: market supervision)."""
    found = [d for d in DEPARTMENTS if scope in d.credit_scopes]
    if len(found) != 1:
        raise UnknownDepartment(f"{len(found)} departments write {scope.name.lower()}: name the department")
    return found[0]
