"""The departments that issue certificates, their signing keys, and provisioning them on chain."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger.client import Ledger
from ledger.keys import Keystore
from ledger.kinds import CreditScope, Kind, department_id, kinds_mask, scopes_mask


@dataclass(frozen=True)
class Department:
    id: str
    name_zh: str
    name_en: str
    key_name: str  # keystore name in DATA_DIR/keys (its password: ZEL_KEYSTORE_PASSWORD_<KEY_NAME>)
    kinds: tuple[Kind, ...]
    credit_scopes: tuple[CreditScope, ...]  # what it may write in CreditRegistry, set at admission


DEPARTMENTS = {
    "tax.440604": Department("tax.440604", "国家税务总局佛山市禅城区税务局",
                             "Chancheng District Tax Bureau, STA", "tax",
                             (Kind.TAX_CERTIFICATE, Kind.CREDIT_RECORD), (CreditScope.TAX, CreditScope.REPAIR)),
    "si.440604": Department("si.440604", "佛山市禅城区社会保险基金管理局",
                            "Chancheng District Social Insurance Fund Administration", "si",
                            (Kind.SOCIAL_INSURANCE_CERTIFICATE, Kind.CREDIT_RECORD),
                            (CreditScope.SOCIAL_INSURANCE, CreditScope.REPAIR)),
    "amr.440604": Department("amr.440604", "佛山市禅城区市场监督管理局",
                             "Chancheng District Administration for Market Regulation", "amr",
                             (Kind.CREDIT_RECORD, Kind.INSPECTION, Kind.CREDIT_REPORT, Kind.ENTERPRISE_CODE,
                              Kind.RANDOM_DRAW),
                             (CreditScope.PENALTY, CreditScope.INSPECTION, CreditScope.COMMENDATION,
                              CreditScope.JUDICIAL, CreditScope.REPAIR, CreditScope.GRADE, CreditScope.RED_LIST,
                              CreditScope.BLACK_LIST)),
    # The district's government-service data office keeps the platform: its key only anchors the audit log's
    # head (every batch window), so that nobody with database access can rewrite the log unseen.
    "dsj.440604": Department("dsj.440604", "佛山市禅城区政务服务数据管理局",
                             "Chancheng District Government Service Data Administration", "audit",
                             (Kind.AUDIT_LOG,), ()),
}


AUDIT_DEPARTMENT = next(d.id for d in DEPARTMENTS.values() if Kind.AUDIT_LOG in d.kinds)


def credit_scopes() -> dict[str, tuple[CreditScope, ...]]:
    """Per department id, the CreditRegistry scopes it is admitted for: the one table both provisioning (on chain)
    and the credit service (before storing a record) go by."""
    return {d.id: d.credit_scopes for d in DEPARTMENTS.values()}


def load_department_keys(store: Keystore) -> dict[str, LocalAccount]:
    """Each department's signing key, decrypted with that department's own password; what the service and the
    anchor worker hold (never an administrator's key). Departments without a keystore here are left out."""
    return {d.id: store.load(d.key_name) for d in DEPARTMENTS.values() if store.exists(d.key_name)}


def provision(ledger: Ledger, admin: LocalAccount, store: Keystore, *, development: bool = False,
              signed_since: dict[str, int] | None = None, migrate: bool = False) -> dict[str, str]:
    """The district admin's act: admit each department with its credit scopes and register its key (creating
    the keystore) where not done yet; idempotent. Each proposal needs the deployment's k-of-n approvals: with a
    threshold above 1 this only proposes, and prints nothing executes until `zel issuer approve`.

    `development` creates missing department passwords as development files. `signed_since` gives, per
    department, the issue time of its oldest stored certificate: on a chain that was reset, `migrate` registers
    the key through the recorded migration path valid from then, so the certificates it signed keep verifying
    (flagged as migrated); without `migrate` the key is valid from now only. Returns department id -> address.
    """
    admitted = {bytes(d[0]) for d in ledger.departments()}
    out = {}
    for dept in DEPARTMENTS.values():
        dept_bytes = department_id(dept.id)
        if dept_bytes not in admitted:
            ledger.admit_department(admin, dept_bytes, dept.name_zh, scopes_mask(dept.credit_scopes))
        if not store.exists(dept.key_name):
            password = store.ensure_dev_password(dept.key_name) if development else store.password(dept.key_name)
            store.new(dept.key_name, password)
        address = store.address(dept.key_name)
        if ledger.key_info(address).department != dept_bytes:
            since = (signed_since or {}).get(dept.id)
            if migrate and since is not None and since <= ledger.block_timestamp():  # the next block is later
                basis = keccak(text=f"zel-migration:{ledger.deployment.chain_id}:{dept.id}:{since}")
                ledger.migrate_key(admin, address, dept_bytes, kinds_mask(dept.kinds), since, basis)
            else:
                ledger.register_key(admin, address, dept_bytes, kinds_mask(dept.kinds))
        ledger.fund(admin, address)
        out[dept.id] = address
    return out
