"""The audit log's head on chain: what makes a rewrite of the log by someone with database access visible.

The log is hash-chained (store.audit), but whoever can write the database can also recompute every hash
after an edit. So the anchor worker, at most every batch window, anchors the current head through
`AttestationRegistry.anchorRoot(root, AUDIT_LOG, seq)`: `root = keccak256("zel-audit-head-v1" ‖ seq ‖ hash)`
commits to the entry number and its chained hash, and the event's `leafCount` carries the entry number. Only a
key registered for the AUDIT_LOG kind (the data office's) may anchor one.

`verify_against_chain` recomputes the chain from the store and checks every head the chain holds: the first
head whose entry now hashes differently names the span of entries where the log was rewritten, and a log that
ends before the newest anchored head was truncated.

The worker writes an outbox row (PREPARED → ANCHORED) before sending, and asks the chain whether the root is
already there before sending again, so a crash never anchors one head twice.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger.client import Ledger
from ledger.errors import AlreadyAnchored, LedgerError
from ledger.kinds import Kind
from ledger.tx import map_errors
from store import audit
from store.models import AuditAnchor, AuditEntry, AuditHead

log = logging.getLogger(__name__)
DOMAIN = b"zel-audit-head-v1"


def head_root(seq: int, entry_hash: str) -> bytes:
    """The anchored commitment to entry `seq` whose chained hash is `entry_hash` (64 hex digits)."""
    return keccak(DOMAIN + seq.to_bytes(8, "big") + bytes.fromhex(entry_hash))


class AuditAnchorer:
    """Anchors the audit log's head when it moved, at most once per `interval` seconds."""

    def __init__(
        self, sessions: sessionmaker[Session], ledger: Ledger, key: LocalAccount, *, interval: float = 10.0
    ) -> None:
        self.sessions, self.ledger, self.key, self.interval = sessions, ledger, key, interval
        self._last = 0.0

    def run_once(self, *, force: bool = False) -> int | None:
        """Finish an unfinished anchor, then anchor the head if it moved and the interval passed; returns the
        entry number anchored, or None."""
        for seq in self._unfinished():
            self._send(seq)
        if not force and time.monotonic() - self._last < self.interval:
            return None
        prepared = self._prepare()
        if prepared is None:
            return None
        self._send(prepared)
        self._last = time.monotonic()
        return prepared

    def _unfinished(self) -> list[int]:
        with self.sessions() as s:
            return list(
                s.scalars(select(AuditAnchor.seq).where(AuditAnchor.state == "PREPARED").order_by(AuditAnchor.seq))
            )

    def _prepare(self) -> int | None:
        with self.sessions() as s, s.begin():
            head = s.get(AuditHead, 1)
            if head is None or head.seq == 0:
                return None
            last = s.scalar(select(AuditAnchor.seq).order_by(AuditAnchor.seq.desc()).limit(1)) or 0
            if head.seq <= last:
                return None
            s.add(AuditAnchor(seq=head.seq, root="0x" + head_root(head.seq, head.hash).hex(), state="PREPARED"))
            return head.seq

    def _send(self, seq: int) -> None:
        with self.sessions() as s:
            root = bytes.fromhex(s.get_one(AuditAnchor, seq).root[2:])
        existing = self.ledger.anchor_of(root)
        tx_hash, block = None, None
        if existing is None:
            try:
                result = self.ledger.anchor_root(self.key, root, Kind.AUDIT_LOG, seq)
                tx_hash, block = result.tx_hash, result.block_number
            except AlreadyAnchored:
                existing = self.ledger.anchor_of(root)
        if existing is not None:
            block = existing["block_number"]
        with self.sessions() as s, s.begin():
            row = s.get_one(AuditAnchor, seq)
            row.state, row.tx_hash, row.block_number = "ANCHORED", tx_hash, block
            row.anchored_at = datetime.now(UTC)
        log.info("anchored the audit log's head at entry %d (block %s)", seq, block)


@dataclass(frozen=True)
class AnchoredHead:
    seq: int
    root: bytes
    block_number: int


def anchored_heads(ledger: Ledger, chunk: int = 10_000) -> list[AnchoredHead]:
    """Every audit-log head on chain, oldest first (AttestationRegistry's Anchored events of the AUDIT_LOG kind,
    read in block ranges of `chunk`)."""
    heads = []
    event = ledger.attestations.events.Anchored()
    with map_errors(ledger.decoder, "reading the audit log's heads on chain"):
        head_block = ledger.w3.eth.block_number
        for start in range(ledger.deployment.block, head_block + 1, chunk):
            for e in event.get_logs(from_block=start, to_block=min(start + chunk - 1, head_block)):
                if e["args"]["kind"] == int(Kind.AUDIT_LOG):
                    heads.append(AnchoredHead(e["args"]["leafCount"], bytes(e["args"]["root"]), e["blockNumber"]))
    return sorted(heads, key=lambda h: (h.seq, h.block_number))


def verify_against_chain(session: Session, ledger: Ledger) -> audit.AuditReport:
    """The local hash chain (`audit.verify`, which names an edited entry exactly), then every head anchored on
    chain against the store's entries (which catches an edit whose later hashes were all recomputed)."""
    report = audit.verify(session)
    heads = anchored_heads(ledger)
    if not report.ok:
        return audit.AuditReport(False, report.entries, report.problem, report.seq, anchored=len(heads))
    hashes = dict(session.execute(select(AuditEntry.seq, AuditEntry.hash)).tuples().all())
    last = max(hashes, default=0)
    previous = 0
    for head in heads:
        entry_hash = hashes.get(head.seq)
        if entry_hash is None:
            return audit.AuditReport(
                False,
                report.entries,
                f"entries after {last} were deleted: the chain holds "
                f"the head of entry {head.seq} (block {head.block_number})",
                last + 1,
                anchored=len(heads),
            )
        if head_root(head.seq, entry_hash) != head.root:
            first = previous + 1
            where = f"entry {first}" if first == head.seq else f"entries {first} to {head.seq}"
            return audit.AuditReport(
                False,
                report.entries,
                f"the log was rewritten: {where} differ from the head "
                f"anchored on chain at entry {head.seq} (block {head.block_number})",
                first,
                anchored=len(heads),
            )
        previous = head.seq
    return audit.AuditReport(True, report.entries, anchored=len(heads), anchored_through=previous)


def run_forever(anchorer: AuditAnchorer, stop: threading.Event, poll: float = 1.0) -> None:
    """Anchor the head every interval until `stop` is set; a failure (node down) is retried with backoff."""
    failures = 0
    while not stop.is_set():
        try:
            anchorer.run_once()
            failures = 0
        except Exception as exc:  # noqa: BLE001 - a node down, a locked store, a race with another worker: retry
            failures += 1
            level = logging.WARNING if isinstance(exc, LedgerError) else logging.ERROR
            log.log(level, "anchoring the audit log's head failed (retrying): %s", exc, exc_info=level >= logging.ERROR)
            stop.wait(min(2**failures, 60))
        stop.wait(poll)
