"""Deploying the contracts and the deployment record kept per chain id."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.errors import ArtifactError, ConfigurationError, NotDeployed
from ledger.tx import TxSender

ARTIFACT_DIR = Path(__file__).resolve().parent.parent / "contracts" / "artifacts"
CONTRACT_ORDER = ("IssuerRegistry", "AttestationRegistry", "CreditRegistry")


def load_artifact(name: str) -> dict[str, Any]:
    """A committed contract artifact (ABI, bytecode, compiler, source hashes)."""
    path = ARTIFACT_DIR / f"{name}.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ArtifactError(f"artifact {path} is missing: run `zel contracts build`") from exc


def artifact_hash(artifact: dict[str, Any]) -> str:
    """Digest of what a deployment depends on: the creation bytecode and the ABI."""
    blob = json.dumps({"bytecode": artifact["bytecode"], "abi": artifact["abi"]}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


@dataclass
class Deployment:
    """Where the contracts live on one chain."""

    chain_id: int
    addresses: dict[str, str]
    block: int
    admin: str
    deployed_at: int
    artifact_hashes: dict[str, str]
    compiler: str
    gas_used: dict[str, int] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)

    @staticmethod
    def path(data_dir: Path, chain_id: int) -> Path:
        return data_dir / "deployments" / f"{chain_id}.json"

    @classmethod
    def load(cls, data_dir: Path, chain_id: int) -> "Deployment":
        path = cls.path(data_dir, chain_id)
        if not path.exists():
            raise NotDeployed(
                f"no contracts deployed on chain {chain_id} for data directory {data_dir} "
                "(run `zel contracts deploy`)"
            )
        return cls(**json.loads(path.read_text()))

    def save(self, data_dir: Path) -> Path:
        path = self.path(data_dir, self.chain_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
        return path


def deploy_contracts(
    w3: Web3, sender: TxSender, admin: LocalAccount, data_dir: Path, *, redeploy: bool = False
) -> Deployment:
    """Deploy IssuerRegistry (with `admin` as district admin), AttestationRegistry and CreditRegistry.

    Refuses when this chain already has a live deployment for the data directory unless `redeploy`;
    a redeployment keeps the previous record in `history`.
    """
    chain_id = sender.chain_id
    previous: Deployment | None = None
    try:
        previous = Deployment.load(data_dir, chain_id)
    except NotDeployed:
        pass
    if previous is not None and not redeploy:
        live = w3.eth.get_code(previous.addresses["IssuerRegistry"])
        if live:
            raise ConfigurationError(
                f"contracts are already deployed on chain {chain_id} at "
                f"{previous.addresses['IssuerRegistry']}; pass --redeploy to replace them"
            )
    artifacts = {name: load_artifact(name) for name in CONTRACT_ORDER}
    addresses: dict[str, str] = {}
    gas: dict[str, int] = {}
    first_block = None
    for name in CONTRACT_ORDER:
        art = artifacts[name]
        factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
        arg = admin.address if name == "IssuerRegistry" else addresses["IssuerRegistry"]
        result = sender.transact(admin, factory.constructor(arg), f"deploying {name}")
        receipt = w3.eth.get_transaction_receipt(result.tx_hash)
        addresses[name] = receipt["contractAddress"]
        gas[name] = result.gas_used
        first_block = first_block or result.block_number
    record = Deployment(
        chain_id=chain_id,
        addresses=addresses,
        block=first_block or 0,
        admin=admin.address,
        deployed_at=int(time.time()),
        artifact_hashes={name: artifact_hash(art) for name, art in artifacts.items()},
        compiler=artifacts["IssuerRegistry"]["compiler"]["version"],
        gas_used=gas,
        history=(previous.history + [{k: v for k, v in asdict(previous).items() if k != "history"}])
        if previous
        else [],
    )
    record.save(data_dir)
    return record
