"""The departments' signing keys, and provisioning the departments on chain (who they are: ledger.departments)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger import departments as registry
from ledger.client import KeyInfo, Ledger
from ledger.departments import Department
from ledger.keys import Keystore, Signer
from ledger.kinds import CreditScope, Kind, department_id, kinds_mask, scopes_mask

# The registry (ledger.departments) by id, as the PDF and provisioning read it.
DEPARTMENTS: dict[str, Department] = {d.id: d for d in registry.DEPARTMENTS}
AUDIT_DEPARTMENT = registry.for_kind(Kind.AUDIT_LOG).id
log = logging.getLogger(__name__)


def credit_scopes() -> dict[str, tuple[CreditScope, ...]]:
    """Per department id, the CreditRegistry scopes it is admitted for: the one table both provisioning (on chain)
    and the credit service (before storing a record) go by."""
    return {d.id: d.credit_scopes for d in DEPARTMENTS.values()}


def load_department_keys(store: Keystore) -> dict[str, LocalAccount]:
    """Each department's signing key, decrypted with that department's own password; what the service and the
    anchor worker hold (never an administrator's key). Departments without a keystore here are left out."""
    return {d.id: store.load(d.key_name) for d in DEPARTMENTS.values() if store.exists(d.key_name)}


def sm2_key_name(department: Department) -> str:
    """The keystore of `department`'s SM2 certificate-signing key (issue 20): `si-sm2` beside `si`."""
    return f"{department.key_name}-sm2"


def certificate_signers(
    store: Keystore, keys: dict[str, LocalAccount], key_info: Callable[[str], KeyInfo]
) -> dict[str, Signer]:
    """Per department, the key that signs its certificates: its SM2 key where the data directory holds one
    (`sm2_key_name`) that the registry (`key_info`, e.g. `Ledger.key_info`) lists as a current key of that department,
    under that public key, for the attestation kind; else its secp256k1 key, which signs and anchors as before. Chain
    transactions are always the secp256k1 key's. A revoked SM2 key is left at the next start (its certificates would
    verify as an untrusted issuer)."""
    out: dict[str, Signer] = dict(keys)
    for d in DEPARTMENTS.values():
        name = sm2_key_name(d)
        if d.id not in keys or not store.exists(name):
            continue
        account = store.load_sm2(name)
        info = key_info(account.address)
        if info.department != department_id(d.id) or info.public_key != account.public_key:
            why = "is not registered on chain for it"
        elif info.revoked_at:
            why = "was revoked on chain"
        elif Kind.ATTESTATION not in info.kinds:
            why = "may not sign certificates (no attestation kind)"
        else:
            out[d.id] = account
            continue
        log.warning("%s's SM2 key %s %s: signing with %s", d.id, name, why, d.key_name)
    return out


def provision(
    ledger: Ledger,
    admin: LocalAccount,
    store: Keystore,
    *,
    development: bool = False,
    signed_since: dict[str, int] | None = None,
    migrate: bool = False,
    sm2: tuple[str, ...] = (),
) -> dict[str, str]:
    """The district admin's act: admit each department with its credit scopes and register its key (creating
    the keystore) where not done yet; idempotent. Each proposal needs the deployment's k-of-n approvals: with a
    threshold above 1 this only proposes, and prints nothing executes until `zel issuer approve`.

    `development` creates missing department passwords as development files. `signed_since` gives, per signing key
    (lower-case address), the issue time of the oldest stored certificate it signed: on a chain that was reset,
    `migrate` registers that key through the recorded migration path valid from then, so the certificates it signed
    keep verifying (flagged as migrated); a key that signed nothing stored is valid from now only, as is every key
    without `migrate`. The departments in `sm2` get an SM2 certificate-signing key besides, and so does every
    department whose SM2 keystore the data directory holds (`provision_sm2_key`). Returns department id -> address.
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
            since = _migration_start(ledger, address, signed_since if migrate else None)
            if since is not None:
                basis = keccak(text=f"zel-migration:{ledger.deployment.chain_id}:{dept.id}:{since}")
                ledger.migrate_key(admin, address, dept_bytes, kinds_mask(dept.kinds), since, basis)
            else:
                ledger.register_key(admin, address, dept_bytes, kinds_mask(dept.kinds))
        ledger.fund(admin, address)
        out[dept.id] = address
        if dept.id in sm2 or store.exists(sm2_key_name(dept)):  # a department's SM2 key, where it has one
            provision_sm2_key(
                ledger, admin, store, dept, development=development, signed_since=signed_since if migrate else None
            )
    return out


def _migration_start(ledger: Ledger, address: str, signed_since: dict[str, int] | None) -> int | None:
    """When the migration path registers `address` from: the oldest stored certificate it signed, if any and if
    the chain's next block is later; else None (registered from now)."""
    since = (signed_since or {}).get(address.lower())
    return since if since is not None and since <= ledger.block_timestamp() else None


# What a department's SM2 key may sign: certificates and attestations (its chain writes stay with its secp256k1 key).
SM2_KEY_KINDS = (Kind.TAX_CERTIFICATE, Kind.SOCIAL_INSURANCE_CERTIFICATE, Kind.CREDIT_REPORT, Kind.ATTESTATION)


def provision_sm2_key(
    ledger: Ledger,
    admin: LocalAccount,
    store: Keystore,
    dept: Department,
    *,
    development: bool = False,
    signed_since: dict[str, int] | None = None,
) -> str:
    """Create `dept`'s SM2 keystore (`sm2_key_name`) where missing and register its public key on chain for the
    department's certificate kinds, where not done yet; its certificates are then signed with SM2. `signed_since`
    (per key, as `provision` takes it): on a reset chain, the recorded migration path from the oldest certificate
    this key signed. Returns its address."""
    name = sm2_key_name(dept)
    if not store.exists(name):
        password = store.ensure_dev_password(name) if development else store.password(name)
        store.new(name, password, suite="sm2")
    address, dept_bytes = store.address(name), department_id(dept.id)
    if ledger.key_info(address).department != dept_bytes:
        mask = kinds_mask([k for k in dept.kinds if k in SM2_KEY_KINDS])
        since = _migration_start(ledger, address, signed_since)
        if since is not None:
            basis = keccak(text=f"zel-migration:{ledger.deployment.chain_id}:{dept.id}:sm2:{since}")
            ledger.migrate_sm2_key(admin, store.public_key(name), dept_bytes, mask, since, basis)
        else:
            ledger.register_sm2_key(admin, store.public_key(name), dept_bytes, mask)
    return address
