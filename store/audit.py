"""The audit log: append-only, hash-chained entries of every privileged action.

`hash = sha256(prev_hash || canonical JSON of the entry)`. Appends lock the single `audit_head` row, so
concurrent writers on PostgreSQL serialise and the chain never forks. `verify()` recomputes the chain and
names the first entry that was edited, deleted or inserted out of place.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import AuditEntry, AuditHead

GENESIS = "0" * 64


def _canonical(
    seq: int, at: datetime, actor: str, role: str, action: str, target: str, outcome: str, detail: dict[str, Any]
) -> bytes:
    at_utc = at if at.tzinfo else at.replace(tzinfo=UTC)
    body = {
        "seq": seq,
        "at": at_utc.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "role": role,
        "action": action,
        "target": target,
        "outcome": outcome,
        "detail": detail,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(prev: str, entry: AuditEntry) -> str:
    data = _canonical(
        entry.seq, entry.at, entry.actor, entry.role, entry.action, entry.target, entry.outcome, entry.detail or {}
    )
    return hashlib.sha256(bytes.fromhex(prev) + data).hexdigest()


def append(
    session: Session,
    *,
    actor: str,
    role: str,
    action: str,
    target: str = "",
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry inside the caller's transaction (so it commits or rolls back with the action)."""
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    entry = AuditEntry(
        seq=head.seq + 1,
        at=datetime.now(UTC),
        actor=actor,
        role=role,
        action=action,
        target=target,
        outcome=outcome,
        detail=detail or {},
        prev_hash=head.hash,
        hash="",
    )
    entry.hash = entry_hash(head.hash, entry)
    session.add(entry)
    head.seq, head.hash = entry.seq, entry.hash
    return entry


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    entries: int
    problem: str | None = None
    seq: int | None = None  # the first entry that differs
    anchored: int | None = None  # heads found on chain (None: the chain was not checked)
    anchored_through: int | None = None  # the newest entry an anchored head covers


def verify(session: Session) -> AuditReport:
    """Recompute the chain from the first entry to the recorded head."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(500):
        if entry.seq != expected_seq:
            return AuditReport(False, count, f"entry {expected_seq} is missing (next is {entry.seq})", expected_seq)
        if entry.prev_hash != prev:
            return AuditReport(False, count, f"entry {entry.seq} does not link to its predecessor", entry.seq)
        if entry_hash(prev, entry) != entry.hash:
            return AuditReport(False, count, f"entry {entry.seq} was altered after it was written", entry.seq)
        prev = entry.hash
        expected_seq += 1
        count += 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != count or head.hash != prev):
        return AuditReport(False, count, f"the log ends at entry {count} but the head records {head.seq}", count)
    return AuditReport(True, count)
