"""Gas of each contract deployment and of the ledger's common writes, on the embedded chain, next to the
peers' (EAS and OpenAttestation's DocumentStore) deployed on the same chain in the same run.

    .venv/bin/python bench/gas.py [--leaves 4096] [--no-peers]

Prints one JSON object. Gas is deterministic for a given input, except that the first write to a
storage slot costs more than later ones: both are reported where they differ. The peers' npm packages
are installed into bench/peers/ on first use (see bench/peer_gas.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("ZEL_KDF_N", "1024")

from eth_account import Account  # noqa: E402

from api.settings import Settings  # noqa: E402
from ledger import keys  # noqa: E402
from ledger.chain import ChainConfig  # noqa: E402
from ledger.client import Grade, bootstrap  # noqa: E402
from ledger.kinds import CreditScope, Kind, department_id, kinds_mask, scopes_mask  # noqa: E402
from ledger.merkle import MerkleTree  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer_gas  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leaves", type=int, default=4096, help="certificates in the batch (default 4096)")
    parser.add_argument("--no-peers", action="store_true", help="skip EAS and DocumentStore")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("ZEL_KEYSTORE_PASSWORD", "bench-only")
        keys.configure(Settings().key_policy())  # the cheap scrypt cost above, the password just set
        ledger, admin, _ = bootstrap(ChainConfig(data_dir=Path(tmp)))
        with ledger:
            dept = department_id("tax.440604")
            ledger.admit_department(
                admin, dept, "国家税务总局佛山市禅城区税务局", scopes_mask([CreditScope.TAX, CreditScope.GRADE])
            )
            key = Account.create()
            ledger.register_key(admin, key.address, dept, kinds_mask([Kind.TAX_CERTIFICATE, Kind.CREDIT_RECORD]))
            ledger.fund(admin, key.address)

            single = ledger.anchor_digest(key, os.urandom(32), Kind.TAX_CERTIFICATE)
            digests = [os.urandom(32) for _ in range(args.leaves)]
            started = time.perf_counter()
            tree = MerkleTree.of(digests)
            tree_seconds = time.perf_counter() - started
            batch = ledger.anchor_root(key, tree.root, Kind.TAX_CERTIFICATE, len(digests))
            target = digests[len(digests) // 2]
            proof = tree.proof(target)
            revoke = ledger.revoke(key, tree.root, proof, target, 1)
            subject = os.urandom(32)
            first_append = ledger.append_credit_record(key, subject, os.urandom(32), CreditScope.TAX)
            next_append = ledger.append_credit_record(key, subject, os.urandom(32), CreditScope.TAX)
            grade = ledger.set_grade(key, subject, Grade.B, os.urandom(32))
            result = {
                "chain": "embedded (py-evm, Cancun rules; contracts compiled for paris)",
                "compiler": ledger.deployment.compiler,
                "deployment_gas": ledger.deployment.gas_used,
                "anchor_single_digest_gas": single.gas_used,
                "anchor_batch_root_gas": batch.gas_used,
                "batch_leaves": len(digests),
                "anchor_gas_per_certificate_in_batch": round(batch.gas_used / len(digests), 2),
                "revocation_gas": revoke.gas_used,
                "revocation_proof_length": len(proof),
                "credit_append_gas_first": first_append.gas_used,
                "credit_append_gas_next": next_append.gas_used,
                "set_grade_gas": grade.gas_used,
                "merkle_tree_build_seconds": round(tree_seconds, 3),
                "floors": {"anchor_gas_per_certificate_in_batch": 15, "revocation_gas": 65000},
            }
            if not args.no_peers:
                result["peers"] = peer_gas.measure(ledger, admin)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
