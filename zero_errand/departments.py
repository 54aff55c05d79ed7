"""The departments' signing keys, and provisioning the departments on chain (who they are: ledger.departments)."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger import departments as registry
from ledger.client import Ledger
from ledger.departments import Department
from ledger.keys import Keystore
from ledger.kinds import CreditScope, Kind, department_id, kinds_mask, scopes_mask

# The registry (ledger.departments) by id, as the PDF and provisioning read it.
DEPARTMENTS: dict[str, Department] = {d.id: d for d in registry.DEPARTMENTS}
AUDIT_DEPARTMENT = registry.for_kind(Kind.AUDIT_LOG).id


def credit_scopes() -> dict[str, tuple[CreditScope, ...]]:
    """Per department id, the CreditRegistry scopes it is admitted for: the one table both provisioning (on chain)
    and the credit service (before storing a record) go by."""
    return {d.id: d.credit_scopes for d in DEPARTMENTS.values()}


def load_department_keys(store: Keystore) -> dict[str, LocalAccount]:
    """Each department's signing key, decrypted with that department's own password; what the service and the
    anchor worker hold (never an administrator's key). Departments without a keystore here are left out."""
    return {d.id: store.load(d.key_name) for d in DEPARTMENTS.values() if store.exists(d.key_name)}


def provision(
    ledger: Ledger,
    admin: LocalAccount,
    store: Keystore,
    *,
    development: bool = False,
    signed_since: dict[str, int] | None = None,
    migrate: bool = False,
) -> dict[str, str]:
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
