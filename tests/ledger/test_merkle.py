"""Our Merkle trees match @openzeppelin/merkle-tree's StandardMerkleTree for bytes32 values."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from ledger.merkle import MerkleTree, leaf_hash, verify
from tests.conftest import ROOT

JS = """
const { StandardMerkleTree } = require("@openzeppelin/merkle-tree");
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const tree = StandardMerkleTree.of(input.values.map((v) => [v]), ["bytes32"]);
const ours = StandardMerkleTree.load(input.dump);
const proofsHold = input.values.every((v) =>
  StandardMerkleTree.verify(input.root, ["bytes32"], [v], input.proofs[v]));
console.log(JSON.stringify({ root: tree.root, loadedRoot: ours.root, proofsHold,
  firstProof: tree.getProof([input.values[0]]) }));
"""


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64])
def test_root_and_proofs_match_openzeppelin(n):
    values = [os.urandom(32) for _ in range(n)]
    tree = MerkleTree.of(values)
    hexes = ["0x" + v.hex() for v in values]
    payload = {
        "values": hexes,
        "root": "0x" + tree.root.hex(),
        "proofs": {h: ["0x" + p.hex() for p in tree.proof(v)] for h, v in zip(hexes, values, strict=True)},
        "dump": tree.dump(),
    }
    out = subprocess.run(
        ["node", "-e", JS], input=json.dumps(payload), capture_output=True, text=True, cwd=ROOT, check=True
    )
    js = json.loads(out.stdout)
    assert js["root"] == payload["root"] == js["loadedRoot"]
    assert js["proofsHold"] is True
    assert js["firstProof"] == payload["proofs"][hexes[0]]


def test_verify_rejects_foreign_values_and_bad_proofs():
    values = [os.urandom(32) for _ in range(5)]
    tree = MerkleTree.of(values)
    assert all(verify(tree.root, v, tree.proof(v)) for v in values)
    assert not verify(tree.root, os.urandom(32), tree.proof(values[0]))
    assert not verify(tree.root, values[0], tree.proof(values[1]))
    assert MerkleTree.of(list(reversed(values))).root == tree.root  # order-independent
    assert MerkleTree.of([values[0]]).root == leaf_hash(values[0])


def test_invalid_inputs():
    with pytest.raises(ValueError):
        MerkleTree.of([])
    v = os.urandom(32)
    with pytest.raises(ValueError, match="distinct"):
        MerkleTree.of([v, v])
    with pytest.raises(ValueError, match="32 bytes"):
        leaf_hash(b"short")
    with pytest.raises(KeyError):
        MerkleTree.of([v]).proof(os.urandom(32))
