"""The anchoring outbox: certificates in the store become Merkle batches whose roots go on chain.

Issued certificates wait in the store (state ISSUED, no batch). The worker, per department and on-chain
kind, takes up to `batch_size` of them, or fewer once the oldest has waited `max_wait` seconds, and:

1. PREPARED: in one transaction, builds the Merkle tree, fixes the root, and stores each certificate's
   batch (its proof is derived from the batch's leaves when asked for: `ledger.proofs`). A crash after this
   resumes the same batch with the same root.
2. anchors the root (`AttestationRegistry.anchorRoot`). Before sending it asks the chain whether the root
   is already anchored (a previous run may have died after sending), and the contract itself refuses a
   second anchor of the same root, so no root is ever anchored twice.
3. ANCHORED: in one transaction, records the transaction and block and marks the certificates ANCHORED.

A chain node that is down only delays steps 2 and 3; issuance never waits for the chain.

Several workers may run on one store (replicas, a spare): only the holder of the store lease
"anchor:<table>" (`store.lease`) anchors, renewing it every pass. One killed mid-batch stops renewing; after
the lease's TTL another takes it and finishes the PREPARED batches as above, never anchoring a root twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from ledger.client import Ledger
from ledger.errors import AlreadyAnchored, LedgerError, NodeUnavailable
from ledger.kinds import Kind
from ledger.merkle import MerkleTree
from ledger.proofs import proof_bytes, proof_of
from store.lease import Lease
from store.models import AnchorBatch, Certificate

log = logging.getLogger(__name__)
# One line per anchored batch, for operators (as api.http.access_log's one line per request).
batch_log = logging.getLogger("zel.anchor")
if batch_log.level == logging.NOTSET:  # shown at `zel`'s default WARNING root level; an operator's setting wins
    batch_log.setLevel(logging.INFO)
CERTIFICATE_KINDS = (Kind.TAX_CERTIFICATE, Kind.SOCIAL_INSURANCE_CERTIFICATE, Kind.CREDIT_REPORT)
SCHEMA_KIND_BASE = 256  # a batch of attestations: its `kind` is this plus its schema's on-chain number


class Anchorer:
    """Moves certificates from ISSUED to ANCHORED in batches."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        ledger: Ledger,
        keys: dict[str, LocalAccount],
        chain_kind: Callable[[str], int],
        *,
        batch_size: int = 4096,
        max_wait: float = 10.0,
        model: Any = Certificate,
        batch_kinds: tuple[Kind, ...] = CERTIFICATE_KINDS,
        lease_ttl: float = 30.0,
        holder: str | None = None,
    ) -> None:
        """`model` is the anchored table (certificates, or inspections): it has the columns `state` (ISSUED →
        ANCHORED), `department`, `kind`, `digest`, `issued_at`, `batch_id` and `proof`. Batches of
        `batch_kinds` are this anchorer's to finish (and batches of attestations, when it anchors certificates). It
        anchors only while it holds the store lease
        "anchor:<table>" (`lease_ttl` seconds, renewed each pass; `holder` names it, default unique)."""
        self.model, self.batch_kinds = model, tuple(int(k) for k in batch_kinds)
        self.attestations = model is Certificate  # attestations are stored with the certificates
        self.lease = Lease(sessions, f"anchor:{model.__tablename__}", lease_ttl, holder)
        self._looping = False  # inside run_forever: keep the lease between passes
        self.sessions = sessions
        self.ledger = ledger
        self.keys = keys  # department id -> signing key
        # certificate kind slug -> on-chain kind; an attestation's -> SCHEMA_KIND_BASE + its schema's number
        self.chain_kind = chain_kind
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.backoff_until = 0.0
        self.failures = 0

    # -- one pass ----------------------------------------------------------------------------------

    @property
    def lease_ttl(self) -> float:
        return self.lease.ttl

    @lease_ttl.setter
    def lease_ttl(self, seconds: float) -> None:
        self.lease.ttl = seconds

    def run_once(self, *, force: bool = False) -> int:
        """Anchor every batch that is due (all pending ones if `force`); returns certificates anchored. Does nothing
        (returns 0) while another worker holds the lease. Outside `run_forever` the lease is released after the
        pass, so that a one-off pass (`zel anchor run --once`) never holds a worker up."""
        if not self.lease.acquire():
            return 0
        try:
            done = 0
            for batch_id in self._unfinished():
                if not self.lease.acquire():  # renewed before each batch; lost only if a pass outlived the TTL
                    return done
                done += self._send(batch_id)
            while self.lease.acquire() and (prepared := self._prepare(force)) is not None:
                done += self._send(prepared, fresh=True)
            return done
        finally:
            if not self._looping:
                self.lease.release()

    def pending(self) -> int:
        with self.sessions() as s:
            m = self.model
            return s.scalar(select(func.count()).select_from(m).where(m.state == "ISSUED", m.batch_id.is_(None))) or 0

    def _mine(self) -> ColumnElement[bool]:
        """The batches this anchorer finishes: of its kinds, and of attestations when it anchors certificates."""
        kinds = AnchorBatch.kind.in_(self.batch_kinds)
        return or_(kinds, AnchorBatch.kind >= SCHEMA_KIND_BASE) if self.attestations else kinds

    def _unfinished(self) -> list[int]:
        with self.sessions() as s:
            return list(
                s.scalars(
                    select(AnchorBatch.id).where(AnchorBatch.state == "PREPARED", self._mine()).order_by(AnchorBatch.id)
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
                rows = s.execute(
                    select(m.id, m.digest)
                    .where(m.state == "ISSUED", m.batch_id.is_(None), m.department == department, m.kind.in_(same_kind))
                    .order_by(m.id)
                    .limit(self.batch_size)
                    .with_for_update()
                ).all()
                if not rows:
                    continue
                digests = [bytes.fromhex(digest[2:]) for _, digest in rows]
                tree = MerkleTree.of(digests)
                batch = AnchorBatch(
                    department=department,
                    kind=int(kind),
                    root="0x" + tree.root.hex(),
                    leaf_count=len(rows),
                    state="PREPARED",
                )
                s.add(batch)
                s.flush()
                # one UPDATE per 500 rows, not an ORM object per certificate; no proof is stored (ledger.proofs)
                ids = [row_id for row_id, _ in rows]
                for start in range(0, len(ids), 500):
                    s.execute(
                        update(m)
                        .where(m.id.in_(ids[start : start + 500]))
                        .values(batch_id=batch.id)
                        .execution_options(synchronize_session=False)
                    )
                return batch.id
        return None

    def _send(self, batch_id: int, fresh: bool = False) -> int:
        """Anchor a prepared batch's root and mark its certificates ANCHORED. A batch left PREPARED by an earlier
        pass may be on chain already (a crash after sending): the chain is asked first. A `fresh` batch, cut in
        this pass under the lease, was never sent; were it anyway, the contract's AlreadyAnchored says so."""
        started, gas = time.perf_counter(), None
        tx_hash: str | None = None
        with self.sessions() as s:
            batch = s.get_one(AnchorBatch, batch_id)
            root, kind_code, leaves, department = (
                bytes.fromhex(batch.root[2:]),
                batch.kind,
                batch.leaf_count,
                batch.department,
            )
        schema = kind_code - SCHEMA_KIND_BASE if kind_code >= SCHEMA_KIND_BASE else None
        kind_name = f"attestation:{schema}" if schema is not None else Kind(kind_code).name.lower()
        key = self.keys[department]
        try:
            existing = None if fresh else self.ledger.anchor_of(root)
            if existing is None:
                try:
                    result = (
                        self.ledger.anchor_root(key, root, Kind(kind_code), leaves)
                        if schema is None
                        else self.ledger.anchor_schema_root(key, root, schema, leaves)
                    )
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
            m = self.model
            leaves = s.scalar(select(func.count()).select_from(m).where(m.batch_id == batch_id)) or 0
            s.execute(
                update(m)
                .where(m.batch_id == batch_id, m.state == "ISSUED")
                .values(state="ANCHORED")
                .execution_options(synchronize_session=False)
            )
        self.failures = 0
        ms = (time.perf_counter() - started) * 1000
        # gas "-": an earlier run had already anchored the root (a crash between sending and recording)
        batch_log.info(
            "anchored batch %s department %s kind %s leaves %d root 0x%s... tx %s gas %s block %s %.0fms",
            batch_id,
            department,
            kind_name,
            leaves,
            root.hex()[:16],
            tx_hash or "-",
            gas if gas is not None else "-",
            block,
            ms,
            extra={
                "batch": batch_id,
                "department": department,
                "kind": kind_name,
                "leaves": leaves,
                "root": "0x" + root.hex(),
                "tx_hash": tx_hash,
                "gas": gas,
                "block": block,
                "duration_ms": round(ms, 1),
            },
        )
        return leaves

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
                if batch.kind >= SCHEMA_KIND_BASE:  # the schema's number on this chain, not the lost one's
                    slug = s.scalar(select(self.model.kind).where(self.model.batch_id == batch.id).limit(1))
                    if slug is not None:
                        batch.kind = int(self.chain_kind(slug))
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
            proofs = {c.id: proof_of(s, Certificate, c, roots[c.batch_id]) for c in changed if c.batch_id}
        for cert in changed:
            assert cert.batch_id is not None  # selected by batch_id
            root = bytes.fromhex(roots[cert.batch_id][2:])
            proof = proof_bytes(proofs[cert.id])
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
        """Anchor until `stop` is set; a node that is down is retried with exponential backoff. Each pass takes or
        renews the lease (a worker without it waits); a clean stop releases it."""
        self._looping = True
        try:
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
        finally:
            self._looping = False
            self.lease.release()
