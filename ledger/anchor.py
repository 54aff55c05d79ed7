"""The anchoring outbox: certificates in the store become Merkle batches whose roots go on chain.

Issued certificates wait in the store (state ISSUED, no batch). The worker, per department and on-chain
kind, takes up to `batch_size` of them, or fewer once the oldest has waited `max_wait` seconds, and:

1. PREPARED: in one transaction, builds the Merkle tree, fixes the root, and stores each certificate's
   batch and proof. A crash after this resumes the same batch with the same root.
2. anchors the root (`AttestationRegistry.anchorRoot`). Before sending it asks the chain whether the root
   is already anchored (a previous run may have died after sending), and the contract itself refuses a
   second anchor of the same root, so no root is ever anchored twice.
3. ANCHORED: in one transaction, records the transaction and block and marks the certificates ANCHORED.

A chain node that is down only delays steps 2 and 3; issuance never waits for the chain.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ledger.client import Ledger
from ledger.errors import AlreadyAnchored, LedgerError, NodeUnavailable
from ledger.kinds import Kind
from ledger.merkle import MerkleTree
from store.models import AnchorBatch, Certificate

log = logging.getLogger(__name__)
# One line per anchored batch, for operators (as api.http.access_log's one line per request).
batch_log = logging.getLogger("zel.anchor")
if batch_log.level == logging.NOTSET:  # shown at `zel`'s default WARNING root level; an operator's setting wins
    batch_log.setLevel(logging.INFO)
CERTIFICATE_KINDS = (Kind.TAX_CERTIFICATE, Kind.SOCIAL_INSURANCE_CERTIFICATE, Kind.CREDIT_REPORT)


class Anchorer:
    """Moves certificates from ISSUED to ANCHORED in batches."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        ledger: Ledger,
        keys: dict[str, LocalAccount],
        chain_kind: Callable[[str], Kind],
        *,
        batch_size: int = 4096,
        max_wait: float = 10.0,
        model: Any = Certificate,
        batch_kinds: tuple[Kind, ...] = CERTIFICATE_KINDS,
    ) -> None:
        """`model` is the anchored table (certificates, or inspections): it has the columns `state` (ISSUED →
        ANCHORED), `department`, `kind`, `digest`, `issued_at`, `batch_id` and `proof`. Batches of
        `batch_kinds` are this anchorer's to finish."""
        self.model, self.batch_kinds = model, tuple(int(k) for k in batch_kinds)
        self.sessions = sessions
        self.ledger = ledger
        self.keys = keys  # department id -> signing key
        self.chain_kind = chain_kind  # certificate kind slug -> on-chain kind
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.backoff_until = 0.0
        self.failures = 0

    # -- one pass ----------------------------------------------------------------------------------

    def run_once(self, *, force: bool = False) -> int:
        """Anchor every batch that is due (all pending ones if `force`); returns certificates anchored."""
        done = 0
        for batch_id in self._unfinished():
            done += self._send(batch_id)
        while (prepared := self._prepare(force)) is not None:
            done += self._send(prepared)
        return done

    def pending(self) -> int:
        with self.sessions() as s:
            m = self.model
            return s.scalar(select(func.count()).select_from(m).where(m.state == "ISSUED", m.batch_id.is_(None))) or 0

    def _unfinished(self) -> list[int]:
        with self.sessions() as s:
            return list(
                s.scalars(
                    select(AnchorBatch.id)
                    .where(AnchorBatch.state == "PREPARED", AnchorBatch.kind.in_(self.batch_kinds))
                    .order_by(AnchorBatch.id)
                )
            )

    def _prepare(self, force: bool) -> int | None:
        """Cut the next due batch; None when nothing is due."""
        m = self.model
        with self.sessions() as s, s.begin():
            groups = s.execute(
                select(m.department, m.kind, func.count(), func.min(m.issued_at))
                .where(m.state == "ISSUED", m.batch_id.is_(None))
                .group_by(m.department, m.kind)
            ).all()
            now = datetime.now(UTC)
            for department, slug, count, oldest in groups:
                if department not in self.keys:
                    continue
                if oldest.tzinfo is None:
                    oldest = oldest.replace(tzinfo=UTC)
                due = force or count >= self.batch_size or now - oldest >= timedelta(seconds=self.max_wait)
                if not due:
                    continue
                kind = self.chain_kind(slug)
                same_kind = [k for (_, k, _, _) in groups if self.chain_kind(k) == kind]
                certs = s.scalars(
                    select(m)
                    .where(m.state == "ISSUED", m.batch_id.is_(None), m.department == department, m.kind.in_(same_kind))
                    .order_by(m.id)
                    .limit(self.batch_size)
                    .with_for_update()
                ).all()
                if not certs:
                    continue
                digests = [bytes.fromhex(c.digest[2:]) for c in certs]
                tree = MerkleTree.of(digests)
                batch = AnchorBatch(
                    department=department,
                    kind=int(kind),
                    root="0x" + tree.root.hex(),
                    leaf_count=len(certs),
                    state="PREPARED",
                )
                s.add(batch)
                s.flush()
                for cert, d in zip(certs, digests, strict=True):
                    cert.batch_id = batch.id
                    cert.proof = ["0x" + p.hex() for p in tree.proof(d)]
                return batch.id
        return None

    def _send(self, batch_id: int) -> int:
        started, gas = time.perf_counter(), None
        tx_hash: str | None = None
        with self.sessions() as s:
            batch = s.get_one(AnchorBatch, batch_id)
            root, kind, leaves, department = (
                bytes.fromhex(batch.root[2:]),
                Kind(batch.kind),
                batch.leaf_count,
                batch.department,
            )
        key = self.keys[department]
        try:
            existing = self.ledger.anchor_of(root)
            if existing is None:
                try:
                    result = self.ledger.anchor_root(key, root, kind, leaves)
                    tx_hash, block, gas = result.tx_hash, result.block_number, result.gas_used
                except AlreadyAnchored:
                    existing = self.ledger.anchor_of(root)
            if existing is not None:
                block = existing["block_number"]
                tx_hash = self._find_tx(root, int(block))
        except LedgerError as exc:
            self._record_failure(batch_id, exc)
            raise
        with self.sessions() as s, s.begin():
            batch = s.get_one(AnchorBatch, batch_id)
            batch.state, batch.tx_hash, batch.block_number = "ANCHORED", tx_hash, block
            batch.anchored_at = datetime.now(UTC)
            batch.attempts += 1
            certs = s.scalars(select(self.model).where(self.model.batch_id == batch_id)).all()
            for cert in certs:
                if cert.state == "ISSUED":
                    cert.state = "ANCHORED"
        self.failures = 0
        ms = (time.perf_counter() - started) * 1000
        # gas "-": an earlier run had already anchored the root (a crash between sending and recording)
        batch_log.info(
            "anchored batch %s department %s kind %s leaves %d root 0x%s... tx %s gas %s block %s %.0fms",
            batch_id,
            department,
            kind.name.lower(),
            leaves,
            root.hex()[:16],
            tx_hash or "-",
            gas if gas is not None else "-",
            block,
            ms,
            extra={
                "batch": batch_id,
                "department": department,
                "kind": kind.name.lower(),
                "leaves": leaves,
                "root": "0x" + root.hex(),
                "tx_hash": tx_hash,
                "gas": gas,
                "block": block,
                "duration_ms": round(ms, 1),
            },
        )
        return len(certs)

    def _find_tx(self, root: bytes, block: int) -> str | None:
        logs = self.ledger.attestations.events.Anchored().get_logs(
            from_block=block, to_block=block, argument_filters={"root": root}
        )
        return "0x" + bytes(logs[0]["transactionHash"]).hex() if logs else None

    def _record_failure(self, batch_id: int, exc: Exception) -> None:
        with self.sessions() as s, s.begin():
            batch = s.get_one(AnchorBatch, batch_id)
            batch.attempts += 1
            batch.last_error = str(exc)[:1000]

    # -- after a chain reset ----------------------------------------------------------------------

    def reanchor(self) -> tuple[int, int]:
        """Re-anchor every batch whose root the chain does not know (a reset or a new chain), keeping
        each batch's root and proofs, then re-apply revocations and suspensions. Returns (batches, changes)."""
        with self.sessions() as s:
            anchored = s.scalars(select(AnchorBatch).where(AnchorBatch.state == "ANCHORED")).all()
        missing = [b.id for b in anchored if self.ledger.anchor_of(bytes.fromhex(b.root[2:])) is None]
        with self.sessions() as s, s.begin():
            for batch in s.scalars(select(AnchorBatch).where(AnchorBatch.id.in_(missing))):
                batch.state, batch.tx_hash, batch.block_number = "PREPARED", None, None
        for batch_id in missing:
            self._send(batch_id)
        changes = 0
        with self.sessions() as s:
            changed = s.scalars(
                select(Certificate).where(
                    Certificate.batch_id.in_(missing), Certificate.state.in_(("REVOKED", "SUSPENDED"))
                )
            ).all()
            roots = {b.id: b.root for b in s.scalars(select(AnchorBatch).where(AnchorBatch.id.in_(missing)))}
        for cert in changed:
            assert cert.batch_id is not None  # selected by batch_id
            root = bytes.fromhex(roots[cert.batch_id][2:])
            proof = [bytes.fromhex(p[2:]) for p in cert.proof or []]
            digest = bytes.fromhex(cert.digest[2:])
            key = self.keys[cert.department]
            if cert.state == "REVOKED":
                self.ledger.revoke(key, root, proof, digest, cert.status_reason or 0)
            else:
                self.ledger.suspend(key, root, proof, digest, cert.status_reason or 0)
            changes += 1
        return len(missing), changes

    # -- loop --------------------------------------------------------------------------------------

    def run_forever(self, stop: threading.Event, poll: float = 1.0) -> None:
        """Anchor until `stop` is set; a node that is down is retried with exponential backoff."""
        while not stop.is_set():
            if time.monotonic() >= self.backoff_until:
                try:
                    self.run_once()
                except NodeUnavailable as exc:
                    self.failures += 1
                    delay = min(2**self.failures, 60)
                    self.backoff_until = time.monotonic() + delay
                    log.warning("chain node unavailable, anchoring paused for %ss: %s", delay, exc)
                except LedgerError as exc:
                    self.failures += 1
                    self.backoff_until = time.monotonic() + min(2**self.failures, 60)
                    log.error("anchoring failed: %s", exc)
            stop.wait(poll)
