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
from eth_typing import HexStr
from eth_utils import to_checksum_address
from web3 import Web3

from ledger.errors import ArtifactError, ConfigurationError, NotDeployed, OutdatedDeployment
from ledger.tx import TxSender

ARTIFACT_DIR = Path(__file__).resolve().parent.parent / "contracts" / "artifacts"
CONTRACT_ORDER = ("IssuerRegistry", "AttestationRegistry", "CreditRegistry")
# The trust model the contracts implement. 2: certificates belong to their anchoring department, keys are never
# back-dated, administration through k-of-n approvals, credit state with owners. 3: attestation kinds registered
# from schema files, each anchored only by its own department's attestation keys.
TRUST_MODEL = 3


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
    administrators: list[str] = field(default_factory=list)
    threshold: int = 1
    trust_model: int = 1

    @staticmethod
    def path(data_dir: Path, chain_id: int) -> Path:
        return data_dir / "deployments" / f"{chain_id}.json"

    @classmethod
    def load(cls, data_dir: Path, chain_id: int) -> Deployment:
        path = cls.path(data_dir, chain_id)
        if not path.exists():
            raise NotDeployed(
                f"no contracts deployed on chain {chain_id} for data directory {data_dir} "
                "(an administrator runs `zel issuer provision`, or `zel serve --demo` for a demo)"
            )
        record = cls(**json.loads(path.read_text()))
        record.require_current(data_dir)
        return record

    def require_current(self, data_dir: Path) -> None:
        """Refuse a deployment made with contracts of an older trust model: never reuse it silently."""
        if self.trust_model >= TRUST_MODEL:
            return
        raise OutdatedDeployment(
            f"the contracts on chain {self.chain_id} for data directory {data_dir} were deployed by an older zel "
            f"(trust model {self.trust_model}; this one needs {TRUST_MODEL}: certificates owned by their department, "
            "no back-dated keys, k-of-n administration, kinds registered from schema files). Re-create the "
            "deployment: `zel contracts deploy --redeploy` "
            "then `zel issuer provision --migrate` (re-registers the department keys through the recorded migration "
            "path) and `zel anchor reanchor` (anchors the stored batches again); or start from a new data directory"
        )

    def save(self, data_dir: Path) -> Path:
        path = self.path(data_dir, self.chain_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
        return path


def deploy_contracts(
    w3: Web3,
    sender: TxSender,
    admin: LocalAccount,
    data_dir: Path,
    *,
    redeploy: bool = False,
    administrators: list[str] | None = None,
    threshold: int = 1,
) -> Deployment:
    """Deploy IssuerRegistry (with `administrators`, default `admin` alone, approving `threshold` of n),
    AttestationRegistry and CreditRegistry; `admin` pays for the deployment.

    Refuses when this chain already has a live deployment for the data directory unless `redeploy`;
    a redeployment keeps the previous record in `history`.
    """
    chain_id = sender.chain_id
    previous: Deployment | None = None
    try:
        previous = Deployment.load(data_dir, chain_id)
    except OutdatedDeployment:
        if not redeploy:
            raise
        path = Deployment.path(data_dir, chain_id)
        previous = Deployment(**json.loads(path.read_text()))
    except NotDeployed:
        pass
    if previous is not None and not redeploy:
        live = w3.eth.get_code(to_checksum_address(previous.addresses["IssuerRegistry"]))
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
        admins = administrators or [admin.address]
        args = (admins, threshold) if name == "IssuerRegistry" else (addresses["IssuerRegistry"],)
        result = sender.transact(admin, factory.constructor(*args), f"deploying {name}")
        receipt = w3.eth.get_transaction_receipt(HexStr(result.tx_hash))
        addresses[name] = str(receipt["contractAddress"])
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
        administrators=list(administrators or [admin.address]),
        threshold=threshold,
        trust_model=TRUST_MODEL,
        history=(previous.history + [{k: v for k, v in asdict(previous).items() if k != "history"}])
        if previous
        else [],
    )
    record.save(data_dir)
    return record
