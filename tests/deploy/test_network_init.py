"""`zel network init` output: the QBFT genesis, node keys, allowlist and signer keystores."""

from __future__ import annotations

import json
import os
import subprocess
import tomllib

import pytest
import rlp
from eth_keys import keys

from ledger.keys import Keystore
from ledger.network import decode_extra_data, encode_extra_data, init_network


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    out = tmp_path_factory.mktemp("net") / "besu"
    os.environ["ZEL_KDF_N"] = "1024"
    summary = init_network(out, validators=4, chain_id=440604, block_period=3, password="net-test-password")
    return out, summary


def test_extra_data_round_trips_and_lists_exactly_the_validators(network):
    out, summary = network
    spec = json.loads((out / "genesis.json").read_text())
    extra = spec["extraData"]
    decoded = decode_extra_data(extra)
    validator_addresses = sorted(v["address"].lower() for v in summary["validators"])
    assert decoded["validators"] == validator_addresses
    assert decoded["vanity"] == b"\0" * 32 and decoded["vote"] == [] and decoded["round"] == 0
    assert decoded["seals"] == []
    assert encode_extra_data(decoded["validators"]) == extra
    raw = rlp.decode(bytes.fromhex(extra[2:]))
    assert len(raw) == 5 and rlp.encode(raw).hex() == extra[2:]
    assert extra.endswith("c080c0")  # empty vote list, round 0, empty seal list, as Besu writes it
    rpc_address = summary["rpc"]["address"].lower()
    assert rpc_address not in decoded["validators"]  # the RPC node does not validate


def test_validator_keys_match_their_addresses(network):
    out, summary = network
    for v in summary["validators"]:
        key = (out / v["name"] / "key").read_text()
        assert keys.PrivateKey(bytes.fromhex(key[2:])).public_key.to_checksum_address() == v["address"]
        assert oct((out / v["name"] / "key").stat().st_mode)[-3:] == "600"


def test_genesis_is_qbft_with_free_gas(network):
    out, _ = network
    spec = json.loads((out / "genesis.json").read_text())
    assert spec["config"]["qbft"]["blockperiodseconds"] == 3
    assert spec["config"]["zeroBaseFee"] is True and spec["config"]["chainId"] == 440604
    assert "clique" not in spec["config"] and "ethash" not in spec["config"]


def test_static_nodes_and_allowlist_name_every_node(network):
    out, summary = network
    enodes = [v["enode"] for v in summary["validators"]] + [summary["rpc"]["enode"]]
    assert json.loads((out / "static-nodes.json").read_text()) == enodes
    allow = tomllib.loads((out / "permissions_config.toml").read_text())["nodes-allowlist"]
    assert allow == enodes
    for v in summary["validators"]:
        pub = (out / v["name"] / "key.pub").read_text()[2:]
        assert v["enode"].startswith(f"enode://{pub}@172.28.0.")


def test_only_the_signer_accounts_may_send_transactions(network):
    """Gas is free (zero base fee), so the account allowlist is what keeps any other account, for instance one made
    up by a container on the application network, from sending transactions through the RPC node."""
    out, summary = network
    allowed = tomllib.loads((out / "permissions_config.toml").read_text())["accounts-allowlist"]
    assert sorted(allowed) == sorted(a.lower() for a in summary["signers"].values())
    assert set(summary["signers"]) == {"admin", "tax", "si", "amr", "audit"}
    nodes = {v["address"].lower() for v in summary["validators"]} | {summary["rpc"]["address"].lower()}
    assert nodes.isdisjoint(allowed)  # node keys sign blocks, never transactions
    spec = json.loads((out / "genesis.json").read_text())
    assert {"0x" + a for a in spec["alloc"]} == set(allowed)  # only allowlisted accounts hold a balance


def test_signer_keystores_decrypt_to_the_listed_addresses(network):
    out, summary = network
    store = Keystore(out)
    password = (out / "secrets" / "keystore-password").read_text()
    assert password == "net-test-password"
    for name, address in summary["signers"].items():
        assert store.load(name, password).address == address
    spec = json.loads((out / "genesis.json").read_text())
    assert {a.lower() for a in summary["signers"].values()} == {"0x" + a for a in spec["alloc"]}


def test_refusals(tmp_path, network):
    out, _ = network
    with pytest.raises(FileExistsError):
        init_network(out)
    with pytest.raises(ValueError, match="at least 4"):
        init_network(tmp_path / "small", validators=3)
    with pytest.raises(ValueError, match="2 to 5 seconds"):
        init_network(tmp_path / "slow", block_period=10)


def test_cli(zel_bin, tmp_path):
    env = {**os.environ, "ZEL_KDF_N": "1024"}
    ok = subprocess.run(
        [zel_bin, "network", "init", "--validators", "5", "--out", str(tmp_path / "n")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert (
        len(decode_extra_data(json.loads((tmp_path / "n" / "genesis.json").read_text())["extraData"])["validators"])
        == 5
    )
    again = subprocess.run(
        [zel_bin, "network", "init", "--out", str(tmp_path / "n")], capture_output=True, text=True, env=env, timeout=120
    )
    assert again.returncode == 2 and "not empty" in again.stderr
