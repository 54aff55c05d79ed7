"""The event-replayed status index answers exactly what AttestationRegistry.status answers, on the embedded
chain and on ganache, through anchoring, revocation, suspension and reinstatement."""

from __future__ import annotations

import os

from ledger.index import StatusIndex
from ledger.kinds import Kind
from ledger.merkle import MerkleTree, leaf_hash


def test_the_index_agrees_with_the_contract_after_every_change(env) -> None:
    ledger = env.ledger
    digests = [os.urandom(32) for _ in range(6)]
    tree = MerkleTree.of(digests[:5])
    lone, stranger = digests[5], os.urandom(32)
    polling = StatusIndex(ledger, max_age=0)  # refreshes before every answer, never told about writes

    def questions() -> list[tuple[bytes, list[bytes], bytes]]:
        asks = [(tree.root, tree.proof(d), d) for d in digests[:5]]
        asks += [
            (tree.root, tree.proof(digests[0]), digests[1]),  # a proof for another leaf
            (tree.root, [], stranger),
            (os.urandom(32), [], digests[0]),
        ]
        asks.append((leaf_hash(lone), [], lone))  # a digest anchored on its own
        return asks

    def agree() -> list[int]:
        seen = []
        for root, proof, digest in questions():
            truth = ledger.status(root, proof, digest)
            assert ledger.indexed_status(root, proof, digest) == truth
            assert polling.status(root, proof, digest) == truth
            seen.append(int(truth))
        return seen

    assert set(agree()) == {0}  # nothing anchored yet
    ledger.anchor_root(env.tax_key, tree.root, Kind.TAX_CERTIFICATE, 5)
    ledger.anchor_digest(env.tax_key, lone, Kind.TAX_CERTIFICATE)
    assert agree().count(1) == 6
    ledger.revoke(env.tax_key, tree.root, tree.proof(digests[0]), digests[0], 3)
    ledger.suspend(env.tax_key, tree.root, tree.proof(digests[1]), digests[1], 4)
    assert agree()[:2] == [2, 3]
    ledger.reinstate(env.tax_key, tree.root, tree.proof(digests[1]), digests[1])
    assert agree()[:2] == [2, 1]


def test_a_fresh_index_replays_the_whole_history(env) -> None:
    tree = MerkleTree.of([os.urandom(32) for _ in range(3)])
    env.ledger.anchor_root(env.tax_key, tree.root, Kind.TAX_CERTIFICATE, 3)
    d = tree.values[0]
    env.ledger.revoke(env.tax_key, tree.root, tree.proof(d), d, 1)
    index = StatusIndex(env.ledger, chunk=2)  # several log pages
    assert int(index.status(tree.root, tree.proof(d), d)) == 2
    assert int(index.status(tree.root, tree.proof(tree.values[1]), tree.values[1])) == 1
