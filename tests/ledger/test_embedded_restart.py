"""The embedded chain keeps its state across a restart of the process that holds it."""

from __future__ import annotations

import os
import subprocess
import sys

from ledger.chain import ChainConfig
from ledger.client import CertificateStatus, Ledger
from ledger.kinds import Kind
from ledger.merkle import MerkleTree
from tests.conftest import ROOT, make_env


def test_anchor_survives_close_and_reopen(tmp_path):
    env = make_env(tmp_path / "data", None, "embedded")
    digests = [os.urandom(32) for _ in range(4)]
    tree = MerkleTree.of(digests)
    mined = env.ledger.anchor_root(env.tax_key, tree.root, Kind.TAX_CERTIFICATE, 4)
    env.ledger.revoke(env.tax_key, tree.root, tree.proof(digests[1]), digests[1], 9)
    block = env.ledger.w3.eth.block_number
    env.ledger.close()

    reopened = Ledger.open(ChainConfig(data_dir=tmp_path / "data"))
    try:
        assert reopened.w3.eth.block_number == block
        assert reopened.anchor_of(tree.root)["block_number"] == mined.block_number
        assert reopened.status(tree.root, tree.proof(digests[0]), digests[0]) == CertificateStatus.ANCHORED
        assert reopened.status(tree.root, tree.proof(digests[1]), digests[1]) == CertificateStatus.REVOKED
        # The reopened chain keeps going: nonces continue and new anchors land on top.
        more = MerkleTree.of([os.urandom(32)])
        reopened.anchor_root(env.tax_key, more.root, Kind.TAX_CERTIFICATE, 1)
        assert reopened.w3.eth.block_number == block + 1
    finally:
        reopened.close()


def test_state_survives_a_new_process(tmp_path):
    """Write in one Python process, read in another: nothing lives only in memory."""
    data = tmp_path / "data"
    env = make_env(data, None, "embedded")
    digest = os.urandom(32)
    env.ledger.anchor_digest(env.tax_key, digest, Kind.TAX_CERTIFICATE)
    env.ledger.close()
    code = (
        "import sys; from pathlib import Path; from ledger.chain import ChainConfig; "
        "from ledger.client import Ledger; from ledger.merkle import leaf_hash; "
        "d = bytes.fromhex(sys.argv[2]); "
        "l = Ledger.open(ChainConfig(data_dir=Path(sys.argv[1]))); print(int(l.status(leaf_hash(d), [], d)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(data), digest.hex()], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == str(int(CertificateStatus.ANCHORED))
