"""The audit log's head on chain: someone with database access rewrites the log (recomputing every hash, so the
store's own chain checks out) or cuts its tail, and the anchored heads show it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess

from sqlalchemy import delete, select

from ledger.audit_anchor import AuditAnchorer, anchored_heads, head_root, verify_against_chain
from ledger.kinds import Kind
from store import audit
from store.db import transaction
from store.models import AuditAnchor, AuditEntry, AuditHead
from zero_errand.departments import AUDIT_DEPARTMENT


def _append(ctx, n: int, start: int = 0) -> None:
    with transaction(ctx.sessions) as s:
        for i in range(start, start + n):
            audit.append(s, actor="user:admin", role="admin", action="user.disable", target=f"official{i}")


def _rehash_from(session, first: int) -> None:
    """The attacker's step after an edit: recompute every later hash and the head, so audit.verify passes."""
    prev = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == first - 1)) or audit.GENESIS
    last = None
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.seq >= first).order_by(AuditEntry.seq)):
        entry.hash = audit.entry_hash(prev, entry)
        prev, last = entry.hash, entry
    head = session.get(AuditHead, 1)
    if last is not None:
        head.seq, head.hash = last.seq, last.hash


def test_a_rewritten_or_truncated_log_is_caught_by_the_anchored_head(platform):
    ctx = platform.ctx
    anchorer = AuditAnchorer(ctx.sessions, ctx.ledger, ctx.certificates.keys[AUDIT_DEPARTMENT], interval=0)
    _append(ctx, 5)
    first_head = anchorer.run_once(force=True)
    assert first_head is not None
    assert anchorer.run_once(force=True) is None  # the head did not move: nothing is anchored again
    _append(ctx, 3, start=5)
    second_head = anchorer.run_once(force=True)
    assert second_head == first_head + 3
    heads = anchored_heads(ctx.ledger)
    assert [h.seq for h in heads] == [first_head, second_head]
    with ctx.sessions() as s:
        assert verify_against_chain(s, ctx.ledger).ok

    # The attack: entry 3 is edited and every later hash recomputed; the store's own check cannot tell.
    with transaction(ctx.sessions) as s:
        s.get(AuditEntry, 3).target = "someone-else"
        _rehash_from(s, 3)
    with ctx.sessions() as s:
        assert audit.verify(s).ok
        report = verify_against_chain(s, ctx.ledger)
    assert not report.ok and report.seq == 1 and f"entries 1 to {first_head}" in report.problem

    # The API gives the administrator the same answer.
    answer = platform.client.get("/v1/admin/audit/verify", headers=platform.headers("admin")).json()
    assert answer["ok"] is False and answer["seq"] == 1 and answer["anchored_heads"] == 2


def test_deleting_the_tail_after_an_anchor_is_caught(platform):
    ctx = platform.ctx
    anchorer = AuditAnchorer(ctx.sessions, ctx.ledger, ctx.certificates.keys[AUDIT_DEPARTMENT], interval=0)
    _append(ctx, 4)
    head = anchorer.run_once(force=True)
    with transaction(ctx.sessions) as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq > head - 2))
        _rehash_from(s, 1)
    with ctx.sessions() as s:
        assert audit.verify(s).ok
        report = verify_against_chain(s, ctx.ledger)
    assert not report.ok and "deleted" in report.problem and report.seq == head - 1


def test_a_crash_after_sending_never_anchors_a_head_twice(platform):
    ctx = platform.ctx
    key = ctx.certificates.keys[AUDIT_DEPARTMENT]
    anchorer = AuditAnchorer(ctx.sessions, ctx.ledger, key, interval=0)
    _append(ctx, 2)
    seq = anchorer._prepare()
    with ctx.sessions() as s:
        root = bytes.fromhex(s.get(AuditAnchor, seq).root[2:])
    ctx.ledger.anchor_root(key, root, Kind.AUDIT_LOG, seq)  # sent, then the worker died before recording it
    assert anchorer.run_once() is None  # the restarted worker finishes the PREPARED row; the head did not move
    with ctx.sessions() as s:
        assert s.get(AuditAnchor, seq).state == "ANCHORED"
    assert [h.seq for h in anchored_heads(ctx.ledger)].count(seq) == 1


def test_only_the_audit_key_may_anchor_a_head(platform):
    ctx = platform.ctx
    import pytest

    from ledger.errors import NotAuthorized

    with pytest.raises(NotAuthorized) as refused:  # a department key cannot forge the log's head
        ctx.ledger.anchor_root(ctx.certificates.keys["tax.440604"], head_root(1, "00" * 32), Kind.AUDIT_LOG, 1)
    assert refused.value.error_name == "AttestationRegistryNotAuthorized"


def test_zel_audit_verify_checks_the_chain(zel_bin, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEL_")} | {
        "ZEL_KDF_N": "1024",
        "ZEL_DATA_DIR": str(tmp_path / "d"),
        "ZEL_ANCHOR_MAX_WAIT": "0",
    }

    def zel(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([zel_bin, *args], capture_output=True, text=True, env=env, timeout=180)
        assert not check or proc.returncode == 0, proc.stderr
        return proc

    zel("seed", "--people", "1", "--enterprises", "1")
    zel("users", "add", "auditor-test", "--role", "admin")
    zel("users", "disable", "auditor-test")
    assert "audit log head anchored" in zel("anchor", "run", "--once").stdout
    intact = json.loads(zel("audit", "verify", "--json").stdout)
    assert intact["ok"] and intact["anchored_heads"] == 1 and intact["anchored_through"] == intact["entries"]

    db = sqlite3.connect(tmp_path / "d" / "zel.sqlite")  # the attacker rewrites entry 1 and every later hash
    from datetime import datetime

    rows = db.execute("SELECT seq, at, actor, role, action, target, outcome, detail FROM audit_entry ORDER BY seq")
    prev = audit.GENESIS
    for seq, at, actor, role, action, target, outcome, detail in rows.fetchall():
        entry = AuditEntry(
            seq=seq,
            at=datetime.fromisoformat(at),
            actor=actor,
            role=role,
            action=action,
            target="nobody" if seq == 1 else target,
            outcome=outcome,
            detail=json.loads(detail),
        )
        entry_hash = audit.entry_hash(prev, entry)
        db.execute(
            "UPDATE audit_entry SET target = ?, hash = ? WHERE seq = ?",
            (entry.target, bytes.fromhex(entry_hash), seq),
        )
        prev = entry_hash
    db.execute("UPDATE audit_head SET hash = ?", (prev,))
    db.commit()
    db.close()
    assert json.loads(zel("audit", "verify", "--store-only", "--json").stdout)["ok"]  # the store alone is fooled
    caught = zel("audit", "verify", check=False)
    assert caught.returncode == 1 and "rewritten" in caught.stderr
