"""`zel network init`: the files a permissioned Besu QBFT network needs.

Writes, under OUT:
    genesis.json                  QBFT genesis: `config.qbft`, zero base fee, extraData naming the validators
    static-nodes.json             every node's enode URL
    permissions_config.toml       the node allowlist (node admission) and the account allowlist: only the
                                  signer accounts may send transactions, so free gas is no open door
    validator1..N/key, key.pub    node keys; a validator's address is its node key's address
    rpc/key, key.pub              the non-validator RPC node (the only node the application reaches)
    keys/*.json                   the service's encrypted signer keystores (admin and department keys)
    secrets/keystore-password     their password (from ZEL_KEYSTORE_PASSWORD, else generated; mode 0600)
    network.json                  a summary: chain id, validators, enodes, signer addresses

extraData is RLP([32-byte vanity, [validator addresses], [] (no vote), round 0, [] (no seals)]), the format
`besu rlp encode --type=QBFT_EXTRA_DATA` produces.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import rlp
from eth_keys import keys

from ledger.keys import Keystore

DEFAULT_CHAIN_ID = 440604
SUBNET = "172.28.0"
VALIDATOR_IP_BASE = 11
RPC_IP = f"{SUBNET}.20"
P2P_PORT = 30303
SIGNERS = ("admin", "tax", "si", "amr", "audit")
QBFT_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"


@dataclass(frozen=True)
class Node:
    name: str
    private_key: bytes
    ip: str

    @property
    def public_key(self) -> str:
        return keys.PrivateKey(self.private_key).public_key.to_hex()[2:]

    @property
    def address(self) -> str:
        return keys.PrivateKey(self.private_key).public_key.to_checksum_address()

    @property
    def enode(self) -> str:
        return f"enode://{self.public_key}@{self.ip}:{P2P_PORT}"


def encode_extra_data(validators: list[str]) -> str:
    """QBFT genesis extraData for `validators` (hex addresses), sorted as QBFT orders them."""
    addresses = sorted(bytes.fromhex(a.removeprefix("0x")) for a in validators)
    return "0x" + rlp.encode([b"\0" * 32, addresses, [], b"", []]).hex()


def decode_extra_data(extra: str) -> dict:
    """Split QBFT extraData into vanity, validators, vote, round and seals."""
    vanity, validators, vote, round_, seals = rlp.decode(bytes.fromhex(extra.removeprefix("0x")))
    return {
        "vanity": vanity,
        "validators": ["0x" + v.hex() for v in validators],
        "vote": vote,
        "round": int.from_bytes(round_, "big"),
        "seals": seals,
    }


def genesis(validators: list[str], chain_id: int, block_period: int, signers: list[str]) -> dict:
    if not 2 <= block_period <= 5:
        raise ValueError("the block period must be 2 to 5 seconds")
    return {
        "config": {
            "chainId": chain_id,
            "homesteadBlock": 0,
            "eip150Block": 0,
            "eip155Block": 0,
            "eip158Block": 0,
            "byzantiumBlock": 0,
            "constantinopleBlock": 0,
            "petersburgBlock": 0,
            "istanbulBlock": 0,
            "berlinBlock": 0,
            "londonBlock": 0,
            "shanghaiTime": 0,
            "zeroBaseFee": True,
            "qbft": {
                "blockperiodseconds": block_period,
                "epochlength": 30000,
                "requesttimeoutseconds": 2 * block_period,
            },
        },
        "nonce": "0x0",
        "timestamp": "0x0",
        "gasLimit": "0x1c9c380",
        "difficulty": "0x1",
        "mixHash": QBFT_MIX_HASH,
        "coinbase": "0x0000000000000000000000000000000000000000",
        # Gas is free (zero base fee, min-gas-price 0) for the allowlisted signers only (permissions_config.toml);
        # balances only keep tools that check them happy.
        "alloc": {s.removeprefix("0x").lower(): {"balance": "0x33b2e3c9fd0803ce8000000"} for s in signers},
        "extraData": encode_extra_data(validators),
    }


def permissions_config(enodes: list[str], accounts: list[str]) -> str:
    """Besu's local permissions file: the nodes that may connect and the accounts that may send transactions.

    Every node enforces the account allowlist on what it accepts (JSON-RPC submissions, gossip, blocks it
    proposes), so a container on the application network cannot spend the free gas from an account of its own.
    A new signer key (a department or an administrator) is added here, then the nodes restart.
    """
    nodes = ",\n  ".join(f'"{e}"' for e in enodes)
    signers = ",\n  ".join(f'"{a.lower()}"' for a in accounts)
    return f"nodes-allowlist=[\n  {nodes}\n]\naccounts-allowlist=[\n  {signers}\n]\n"


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def init_network(
    out: Path, validators: int = 4, chain_id: int = DEFAULT_CHAIN_ID, block_period: int = 2, password: str | None = None
) -> dict:
    """Generate every file of a new network under `out` (which must be empty or absent)."""
    if validators < 4:
        raise ValueError("QBFT tolerates f faults with 3f+1 validators: use at least 4")
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; choose a new directory (keys are never overwritten)")
    out.mkdir(parents=True, exist_ok=True)
    nodes = [
        Node(f"validator{i + 1}", secrets.token_bytes(32), f"{SUBNET}.{VALIDATOR_IP_BASE + i}")
        for i in range(validators)
    ]
    rpc = Node("rpc", secrets.token_bytes(32), RPC_IP)
    for node in [*nodes, rpc]:
        _write_private(out / node.name / "key", "0x" + node.private_key.hex())
        (out / node.name / "key.pub").write_text("0x" + node.public_key)
        (out / node.name / "address").write_text(node.address)

    password = password or secrets.token_urlsafe(24)  # the caller passes the deployment's (Settings), if any
    signer_store = Keystore(out)  # out/keys/NAME.json, the layout of a zel data directory
    signer_addresses = {name: signer_store.new(name, password).address for name in SIGNERS}
    _write_private(out / "secrets" / "keystore-password", password)

    enodes = [n.enode for n in [*nodes, rpc]]
    (out / "static-nodes.json").write_text(json.dumps(enodes, indent=2) + "\n")
    (out / "permissions_config.toml").write_text(permissions_config(enodes, list(signer_addresses.values())))
    spec = genesis([n.address for n in nodes], chain_id, block_period, list(signer_addresses.values()))
    (out / "genesis.json").write_text(json.dumps(spec, indent=2) + "\n")
    summary = {
        "chainId": chain_id,
        "blockPeriodSeconds": block_period,
        "validators": [{"name": n.name, "address": n.address, "enode": n.enode} for n in nodes],
        "rpc": {"address": rpc.address, "enode": rpc.enode, "url": f"http://{RPC_IP}:8545"},
        "signers": signer_addresses,
    }
    (out / "network.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
