"""The departments that issue certificates, their signing keys, and provisioning them on chain."""

from __future__ import annotations

import time
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from ledger.client import Ledger
from ledger.keys import Keystore
from ledger.kinds import Kind, department_id, kinds_mask


@dataclass(frozen=True)
class Department:
    id: str
    name_zh: str
    name_en: str
    key_name: str  # keystore name in DATA_DIR/keys
    kinds: tuple[Kind, ...]


DEPARTMENTS = {
    "tax.440604": Department("tax.440604", "国家税务总局佛山市禅城区税务局",
                             "Chancheng District Tax Bureau, STA", "tax",
                             (Kind.TAX_CERTIFICATE, Kind.CREDIT_RECORD)),
    "si.440604": Department("si.440604", "佛山市禅城区社会保险基金管理局",
                            "Chancheng District Social Insurance Fund Administration", "si",
                            (Kind.SOCIAL_INSURANCE_CERTIFICATE, Kind.CREDIT_RECORD)),
    "amr.440604": Department("amr.440604", "佛山市禅城区市场监督管理局",
                             "Chancheng District Administration for Market Regulation", "amr",
                             (Kind.CREDIT_RECORD, Kind.INSPECTION, Kind.CREDIT_REPORT, Kind.ENTERPRISE_CODE,
                              Kind.RANDOM_DRAW)),
}


def provision(ledger: Ledger, admin: LocalAccount, store: Keystore, password: str,
              signed_since: dict[str, int] | None = None) -> dict[str, str]:
    """Admit each department and register its key (creating the keystore) where not done yet; idempotent.

    `signed_since` gives, per department, the issue time of its oldest certificate in the store: on a chain
    that was reset, the key is registered valid from then, so certificates it signed keep verifying.
    Returns department id -> signing key address.
    """
    admitted = {bytes(d[0]) for d in ledger.departments()}
    out = {}
    for dept in DEPARTMENTS.values():
        dept_bytes = department_id(dept.id)
        if dept_bytes not in admitted:
            ledger.admit_department(admin, dept_bytes, dept.name_zh)
        if not store.exists(dept.key_name):
            store.new(dept.key_name, password)
        address = store.address(dept.key_name)
        if ledger.key_info(address).department != dept_bytes:
            # Valid from the wall-clock time of provisioning: a chain that mines a block per transaction
            # (the embedded one) runs seconds ahead of the clock during a burst, and certificates are
            # stamped with the clock.
            since = min(int(time.time()), (signed_since or {}).get(dept.id, int(time.time())))
            ledger.register_key(admin, address, dept_bytes, kinds_mask(dept.kinds), since)
        ledger.fund(admin, address)
        out[dept.id] = address
    return out
