"""Gas of the peers bench/gas.py compares us with, measured on the same chain in the same run.

- Ethereum Attestation Service (npm `@ethereum-attestation-service/eas-contracts`), compiled from its
  sources with its own pinned solc by `bench/peers/build.js`: one `attest`, `multiAttest` of 100, `revoke`.
- OpenAttestation's DocumentStore (npm `@govtechsg/document-store`), the bytecode the package ships:
  `issue` of one document root and `revoke` of it.

The npm packages live in `bench/peers/` with their own lock file and are installed on first use, so
`make test` never downloads them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from ledger.client import Ledger

PEERS_DIR = Path(__file__).resolve().parent / "peers"
ZERO_ADDRESS = "0x" + "00" * 20
# One EAS schema holding what we anchor per certificate: its digest.
EAS_SCHEMA = "bytes32 digest"
MULTI = 100


def build() -> dict[str, Any]:
    """Install bench/peers' pinned packages when needed and return the built peer contracts."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise SystemExit("bench/gas.py needs Node.js and npm to build the peer contracts")
    stamp = PEERS_DIR / "node_modules" / ".installed"
    lock = PEERS_DIR / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            cwd=PEERS_DIR,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        stamp.touch()
    out = subprocess.run(["node", "build.js"], cwd=PEERS_DIR, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def _deploy(ledger: Ledger, account: LocalAccount, artifact: dict[str, Any], name: str, *args: Any) -> tuple[Any, int]:
    factory = ledger.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    result = ledger.sender.transact(account, factory.constructor(*args), f"deploying {name}")
    address = ledger.w3.eth.get_transaction_receipt(result.tx_hash)["contractAddress"]
    return ledger.w3.eth.contract(address=address, abi=artifact["abi"]), result.gas_used


def _request(digest: bytes) -> tuple[Any, ...]:
    # AttestationRequestData: recipient, expirationTime, revocable, refUID, data, value
    return (ZERO_ADDRESS, 0, True, b"\x00" * 32, digest, 0)


def measure_eas(ledger: Ledger, account: LocalAccount, built: dict[str, Any]) -> dict[str, Any]:
    """Deploy SchemaRegistry and EAS, register a one-digest schema, and measure attest, multiAttest, revoke."""
    send = ledger.sender.transact
    registry, registry_gas = _deploy(ledger, account, built["SchemaRegistry"], "EAS SchemaRegistry")
    eas, eas_gas = _deploy(ledger, account, built["EAS"], "EAS", registry.address)
    register = registry.functions.register(EAS_SCHEMA, ZERO_ADDRESS, True)
    schema = register.call({"from": account.address})
    send(account, register, "registering the EAS schema")

    def attest() -> tuple[bytes, int]:
        result = send(account, eas.functions.attest((schema, _request(os.urandom(32)))), "EAS attest")
        # The uid mixes in the block time, so it comes from the mined Attested event, not a dry call.
        uid = eas.events.Attested().process_log(result.logs[-1])["args"]["uid"]
        return uid, result.gas_used

    attest()  # the first attestation of a run also warms EAS's counters; report a steady one
    uid, attest_gas = attest()
    multi = eas.functions.multiAttest([(schema, [_request(os.urandom(32)) for _ in range(MULTI)])])
    multi_gas = send(account, multi, f"EAS multiAttest of {MULTI}").gas_used
    revoke_gas = send(account, eas.functions.revoke((schema, (uid, 0))), "EAS revoke").gas_used
    return {
        "package": built["package"],
        "compiler": built["compiler"],
        "settings": built["settings"],
        "build_matches_published_artifacts": built["matches_published_artifacts"],
        "schema": EAS_SCHEMA,
        "deployment_gas": {"SchemaRegistry": registry_gas, "EAS": eas_gas},
        "attest_gas": attest_gas,
        "multi_attest_count": MULTI,
        "multi_attest_gas": multi_gas,
        "multi_attest_gas_per_attestation": round(multi_gas / MULTI, 2),
        "revoke_gas": revoke_gas,
    }


def measure_document_store(ledger: Ledger, account: LocalAccount, built: dict[str, Any]) -> dict[str, Any]:
    """Deploy DocumentStore and measure issuing one document root and revoking it."""
    send = ledger.sender.transact
    store, deploy_gas = _deploy(ledger, account, built, "DocumentStore", "ZEL gas bench", account.address)
    send(account, store.functions.issue(os.urandom(32)), "DocumentStore issue")  # warm-up, as for EAS
    root = os.urandom(32)
    issue_gas = send(account, store.functions.issue(root), "DocumentStore issue").gas_used
    revoke_gas = send(account, store.functions.revoke(root), "DocumentStore revoke").gas_used
    return {
        "package": built["package"],
        "bytecode": "as shipped in the npm package (it ships no Solidity sources)",
        "deployment_gas": deploy_gas,
        "issue_gas": issue_gas,
        "revoke_gas": revoke_gas,
        "revoke_note": "revokes a whole issued root by its hash; no Merkle proof, no per-certificate status",
    }


def measure(ledger: Ledger, account: LocalAccount) -> dict[str, Any]:
    """Every peer's figures, keyed by peer."""
    built = build()
    return {
        "eas": measure_eas(ledger, account, built["eas"]),
        "document_store": measure_document_store(ledger, account, built["document_store"]),
    }
