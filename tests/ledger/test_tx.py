"""Transaction layer: concurrent senders, nonce resync, node outages, receipt timeouts, local signing."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from web3.middleware import ExtraDataToPOAMiddleware, Web3Middleware

from ledger.chain import ChainConfig, connect
from ledger.client import CertificateStatus, Ledger
from ledger.deploy import TRUST_MODEL, Deployment
from ledger.errors import NodeUnavailable, TransactionTimeout
from ledger.kinds import Kind
from ledger.merkle import leaf_hash
from ledger.tx import ErrorDecoder, TxSender
from tests.conftest import free_port, make_env, start_ganache


def test_concurrent_senders_share_one_key(env):
    digests = [os.urandom(32) for _ in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda d: env.ledger.anchor_digest(env.tax_key, d, Kind.TAX_CERTIFICATE), digests))
    hashes = {r.tx_hash for r in results}
    assert len(hashes) == len(digests)
    nonces = sorted(env.ledger.w3.eth.get_transaction(h)["nonce"] for h in hashes)
    assert nonces == list(range(nonces[0], nonces[0] + len(digests)))  # gap-free, none reused
    for d in digests:
        assert env.ledger.status(leaf_hash(d), [], d) == CertificateStatus.ANCHORED


def test_nonce_manager_resyncs_after_nonce_too_low(env):
    first = os.urandom(32)
    env.ledger.anchor_digest(env.tax_key, first, Kind.TAX_CERTIFICATE)  # caches the key's next nonce
    # Another process using the same key moves the nonce on behind our back.
    other = TxSender(env.ledger.w3, env.ledger.decoder)
    other.transact(env.tax_key, env.ledger.attestations.functions.anchorDigest(os.urandom(32), 0), "other")
    second = os.urandom(32)
    env.ledger.anchor_digest(env.tax_key, second, Kind.TAX_CERTIFICATE)  # stale cache: must resync
    assert env.ledger.status(leaf_hash(second), [], second) == CertificateStatus.ANCHORED


def test_no_eth_send_transaction(env):
    """Every write is signed locally and sent raw: Besu has no unlocked accounts."""
    seen: list[str] = []

    class Recorder(Web3Middleware):
        def request_processor(self, method, params):
            seen.append(method)
            return method, params

    env.ledger.w3.middleware_onion.inject(Recorder, name="recorder", layer=0)
    try:
        env.ledger.anchor_digest(env.tax_key, os.urandom(32), Kind.TAX_CERTIFICATE)
        env.ledger.fund(env.admin, env.outsider.address, minimum=10**30)
    finally:
        env.ledger.w3.middleware_onion.remove("recorder")
    assert "eth_sendRawTransaction" in seen
    assert "eth_sendTransaction" not in seen
    if env.backend == "ganache":  # node connections carry the PoA middleware (Besu QBFT extraData > 32 bytes)
        layers = [mw for mw, _name in env.ledger.w3.middleware_onion.middleware]
        assert ExtraDataToPOAMiddleware in layers


def test_unreachable_node_raises_node_unavailable(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens here
    cfg = ChainConfig(data_dir=tmp_path, rpc_url=url, retries=2, request_timeout=1)
    conn = connect(cfg)
    sender = TxSender(conn.w3, ErrorDecoder([]), retries=2, retry_delay=0.05)
    started = time.monotonic()
    with pytest.raises(NodeUnavailable, match="unreachable.*after 2 attempts"):
        _ = sender.chain_id
    assert time.monotonic() - started < 10


def test_node_going_down_mid_session_then_back(tmp_path):
    node = start_ganache()
    env = make_env(tmp_path / "data", node.url, "ganache")
    env.ledger.sender.retries, env.ledger.sender.retry_delay = 2, 0.05
    node.stop()
    with pytest.raises(NodeUnavailable):
        env.ledger.anchor_digest(env.tax_key, os.urandom(32), Kind.TAX_CERTIFICATE)
    with pytest.raises(NodeUnavailable):
        env.ledger.status(os.urandom(32), [], os.urandom(32))


def test_receipt_timeout(tmp_path):
    node = start_ganache(["--miner.blockTime", "30"])  # blocks every 30 s: nothing mines in time
    try:
        data = tmp_path / "data"
        from ledger.keys import Keystore
        from tests.conftest import GANACHE_ADMIN_KEY, TEST_PASSWORD

        os.environ["ZEL_KEYSTORE_PASSWORD"] = TEST_PASSWORD
        Keystore(data).new("admin", TEST_PASSWORD, private_key=bytes.fromhex(GANACHE_ADMIN_KEY[2:]))
        conn = connect(ChainConfig(data_dir=data, rpc_url=node.url))
        admin = Keystore(data).load("admin")
        sender = TxSender(conn.w3, ErrorDecoder([]), receipt_timeout=1.0)
        with pytest.raises(TransactionTimeout, match="not mined within"):
            sender.send_value(admin, admin.address, 1)
    finally:
        node.stop()


def test_ledger_open_without_deployment_says_how_to_fix(tmp_path):
    from ledger.errors import NotDeployed

    env = make_env(tmp_path / "a", None, "embedded")
    chain_id = env.ledger.sender.chain_id
    env.ledger.close()
    (tmp_path / "a" / "deployments" / f"{chain_id}.json").unlink()
    with pytest.raises(NotDeployed, match="zel issuer provision"):
        Ledger.open(ChainConfig(data_dir=tmp_path / "a"))
    assert not Deployment.path(tmp_path / "a", chain_id).exists()


def test_a_deployment_of_the_old_trust_model_is_never_reused_silently(tmp_path):
    import json

    from ledger.client import bootstrap
    from ledger.errors import OutdatedDeployment

    env = make_env(tmp_path / "a", None, "embedded")
    path = Deployment.path(tmp_path / "a", env.ledger.sender.chain_id)
    env.ledger.close()
    record = json.loads(path.read_text())
    for field in ("trust_model", "administrators", "threshold"):  # what a record of the first contracts holds
        record.pop(field)
    path.write_text(json.dumps(record))
    for opening in (
        lambda: Ledger.open(ChainConfig(data_dir=tmp_path / "a")),
        lambda: bootstrap(ChainConfig(data_dir=tmp_path / "a")),
    ):
        with pytest.raises(OutdatedDeployment, match="--redeploy") as refused:
            opening()
        assert "older zel (trust model 1" in refused.value.message
    assert json.loads(path.read_text()) == record  # nothing was deployed over it
    ledger, _admin, fresh = bootstrap(ChainConfig(data_dir=tmp_path / "a"), redeploy=True)
    with ledger:
        assert fresh and ledger.deployment.trust_model == TRUST_MODEL == 3 and ledger.deployment.history


def test_unfunded_key_gets_a_clear_error(env):
    from eth_account import Account

    from ledger.errors import InsufficientFunds
    from tests.conftest import TAX

    poor = Account.create()
    env.ledger.register_key(env.admin, poor.address, TAX, 1)
    with pytest.raises(InsufficientFunds, match="fund it first"):
        env.ledger.anchor_digest(poor, os.urandom(32), Kind.TAX_CERTIFICATE)
