"""The audit log: append-only, hash-chained entries of every privileged action.

`hash = sha256(previous entry's hash || canonical JSON of the entry)`. Appends lock the single `audit_head` row,
so concurrent writers on PostgreSQL serialise and the chain never forks. `verify()` recomputes the chain and
names the first entry that was edited, deleted or inserted out of place. An entry does not store its
predecessor's hash: the predecessor holds it, and the recomputed chain is what is compared.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
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
    head = _locked_head(session)
    entry = AuditEntry(
        seq=head.seq + 1,
        at=datetime.now(UTC),
        actor=actor,
        role=role,
        action=action,
        target=target,
        outcome=outcome,
        detail=detail or {},
    )
    entry.hash = entry_hash(head.hash, entry)
    session.add(entry)
    head.seq, head.hash = entry.seq, entry.hash
    return entry


@dataclass(frozen=True)
class Entry:
    """An audit entry to append (`append_many`): who did what to what."""

    actor: str
    role: str
    action: str
    target: str = ""
    outcome: str = "ok"
    detail: dict[str, Any] | None = None


def append_many(session: Session, entries: list[Entry]) -> int:
    """Append `entries`, in order, inside the caller's transaction; returns the new head's sequence number. The head
    is locked and moved once and the rows go in one `executemany` (a batch of certificates is logged entry by
    entry, exactly as if appended one at a time)."""
    head = _locked_head(session)
    if not entries:
        return head.seq
    at = datetime.now(UTC)
    stamp = at.isoformat(timespec="microseconds")
    rows, prev, seq = [], head.hash, head.seq
    for e in entries:
        seq += 1
        detail = e.detail or {}
        body = {
            "seq": seq,
            "at": stamp,
            "actor": e.actor,
            "role": e.role,
            "action": e.action,
            "target": e.target,
            "outcome": e.outcome,
            "detail": detail,
        }
        data = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        prev = hashlib.sha256(bytes.fromhex(prev) + data).hexdigest()
        rows.append({**body, "at": at, "detail": detail, "hash": prev})
    session.execute(insert(AuditEntry), rows)
    head.seq, head.hash = seq, prev
    return seq


def _locked_head(session: Session) -> AuditHead:
    """The head row, locked for this transaction (created at genesis on first use)."""
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    return head


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
        if entry_hash(prev, entry) != entry.hash:
            return AuditReport(False, count, f"entry {entry.seq} was altered after it was written", entry.seq)
        prev = entry.hash
        expected_seq += 1
        count += 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.seq != count or head.hash != prev):
        return AuditReport(False, count, f"the log ends at entry {count} but the head records {head.seq}", count)
    return AuditReport(True, count)
