"""Merkle proofs derived on demand from a batch's leaves, instead of stored with every certificate.

A batch never changes once PREPARED: its leaves are the anchored table's rows with its `batch_id`, in id order
(the order `ledger.anchor.Anchorer` cut it in), and its root is fixed in `AnchorBatch.root`. So one certificate's
proof is rebuilt from the batch's digests (32 bytes a leaf, already stored) rather than kept as up to twelve
66-character strings per certificate: the store stays under 1 KB a certificate (issue 18).

The rebuilt root must equal the stored one, else the store was altered after the batch was cut (a digest
changed, a row added or removed): that is refused loudly, never answered with a proof that does not hold.
Built trees are kept in a small LRU cache keyed by (table, batch, root), so a verifier asking about many
certificates of one batch builds its tree once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.errors import LedgerError
from ledger.merkle import MerkleTree
from store.models import AnchorBatch

#: Trees kept: one 4,096-leaf tree is ~8,200 nodes (about 1 MB of Python objects).
CACHE_SIZE = 64


class BatchTampered(LedgerError):
    """The store's leaves of a batch do not rebuild its root: the store was altered after the batch was cut."""


class TreeCache:
    """A thread-safe LRU of built trees. Two threads missing the same batch may both build it (same result)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._trees: OrderedDict[tuple[str, int, str], MerkleTree] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, str]) -> MerkleTree | None:
        with self._lock:
            tree = self._trees.get(key)
            if tree is not None:
                self._trees.move_to_end(key)
            return tree

    def put(self, key: tuple[str, int, str], tree: MerkleTree) -> None:
        with self._lock:
            self._trees[key] = tree
            self._trees.move_to_end(key)
            while len(self._trees) > self.size:
                self._trees.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._trees.clear()


trees = TreeCache()


def batch_tree(session: Session, model: Any, batch_id: int, root: str | None = None) -> MerkleTree:
    """The Merkle tree of batch `batch_id` of `model`'s table (certificates or inspections), rebuilt from its
    leaves and checked against the batch's stored root (`root` if the caller has read it already)."""
    if root is None:
        batch = session.get(AnchorBatch, batch_id)
        if batch is None:
            raise BatchTampered(f"batch {batch_id} is not in the store")
        root = batch.root
    key = (model.__tablename__, batch_id, root)
    tree = trees.get(key)
    if tree is not None:
        return tree
    digests = session.scalars(select(model.digest).where(model.batch_id == batch_id).order_by(model.id)).all()
    try:
        tree = MerkleTree.of([bytes.fromhex(d[2:]) for d in digests])
    except ValueError as exc:  # no leaves, a duplicate or a malformed digest
        raise BatchTampered(f"batch {batch_id} of {model.__tablename__}: its leaves make no tree ({exc})") from None
    if "0x" + tree.root.hex() != root:
        raise BatchTampered(
            f"batch {batch_id} of {model.__tablename__}: its {len(digests)} leaves rebuild root "
            f"0x{tree.root.hex()}, not the stored {root}: the store was altered after the batch was cut"
        )
    trees.put(key, tree)
    return tree


def derive_proof(session: Session, model: Any, batch_id: int, digest: str, root: str | None = None) -> list[str]:
    """The proof (hex strings, root-ward) that `digest` is a leaf of batch `batch_id` of `model`'s table."""
    tree = batch_tree(session, model, batch_id, root)
    try:
        return ["0x" + p.hex() for p in tree.proof(bytes.fromhex(digest[2:]))]
    except KeyError:
        raise BatchTampered(
            f"{digest} is not a leaf of batch {batch_id} of {model.__tablename__}: the store was altered"
        ) from None


def proof_of(session: Session, model: Any, row: Any, root: str | None = None) -> list[str] | None:
    """`row`'s proof: the one stored with it (stores cut before proofs were derived), else derived from its
    batch's leaves; None while it has no batch."""
    if row.proof:
        return list(row.proof)
    if row.batch_id is None:
        return None
    return derive_proof(session, model, row.batch_id, row.digest, root)


def proof_bytes(proof: list[str] | None) -> list[bytes]:
    """A proof as the contract takes it."""
    return [bytes.fromhex(p[2:]) for p in proof or []]
