"""The daily regrading pass on SQLite and PostgreSQL: batched by USCC, resumable from its persisted cursor, done
once per day, and run by one process at a time (issue 21)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from credit import workflows
from credit.grading import add_months
from credit.ledger import CreditLedger, PassProgress
from identifiers import uscc_check_char
from store.db import transaction
from store.models import CreditGrade, CreditPass, Enterprise, ListEntry, WorkerLease
from zero_errand.departments import credit_scopes
from zero_errand.people import add_enterprise

TODAY = date.today()
DAY = TODAY + timedelta(days=45)  # the pass's day: some records have left display by then, list entries changed
OWNER = {"tax_arrears": "tax.440604", "si_arrears": "si.440604"}

# Per enterprise: its records (type, days before today; None: decided so that it leaves display 20 days from now)
# and list entries (list, first day, last day exclusive; days from today).
MIX: list[tuple[list[tuple[str, int | None]], list[tuple[str, int, int | None]]]] = [
    ([], []),
    ([("penalty_minor", 60)], []),  # 3 months of display: gone by DAY
    ([("tax_arrears", None)], []),  # 12 months: leaves 20 days from now
    ([("commendation", 10), ("penalty_general", 400)], []),  # unchanged: one on display, one long gone
    ([("penalty_general", 30), ("si_arrears", 20)], [("red", 0, 30)]),  # C, lifted to B by a red entry that ends
    ([("inspection_pass", 5)], [("black", 5, None)]),  # black-listed from 5 days on: D
    ([("penalty_serious", 100)], []),  # shown for 3 years: unchanged
    ([("dishonest_debtor", 200)], [("red", 10, 20)]),  # D throughout; the red entry starts and ends in between
    ([("inspection_issues", None)], []),
    ([("penalty_minor", 80), ("commendation", 300)], []),
]


def uscc(n: int) -> str:
    first17 = f"91440604MA{n:07d}"
    return first17 + uscc_check_char(first17)


def seed_mix(platform, copies: int = 2) -> list[str]:
    """`copies` enterprises of each kind in MIX, recorded through the workflows (each write regrades, as today)."""
    credit, made = platform.ctx.credit, []
    with transaction(platform.ctx.sessions) as s:
        for i in range(copies * len(MIX)):
            records, entries = MIX[i % len(MIX)]
            code = uscc(7_000 + i)
            add_enterprise(s, code, f"测试企业{i}")
            made.append(code)
            for type, days in records:
                decided = add_months(TODAY + timedelta(days=20), -12) if days is None else TODAY - timedelta(days=days)
                workflows.record(
                    credit,
                    s,
                    uscc=code,
                    type=type,
                    department=OWNER.get(type, "amr.440604"),
                    decided_on=decided,
                    summary=f"{type} test",
                    reference="禅市监〔2026〕1号",
                    actor="user:test",
                )
            for name, start, end in entries:
                workflows.list_entry(
                    credit,
                    s,
                    uscc=code,
                    list_name=name,
                    department="amr.440604",
                    start_on=TODAY + timedelta(days=start),
                    end_on=None if end is None else TODAY + timedelta(days=end),
                    reason="test",
                    reference="禅信〔2026〕1号",
                    actor="user:test",
                )
    return made


def expected(platform, on: date) -> tuple[dict[str, str], set[str]]:
    """Per enterprise, the basis `regrade` would store on `on`, and the enterprises whose grade it would change."""
    credit = platform.ctx.credit
    with platform.ctx.sessions() as s:
        usccs = list(s.scalars(select(Enterprise.uscc)))
        bases = {u: credit.grade_on(s, u, on).basis for u in usccs}
        current = {u: getattr(credit.current_grade(s, u), "basis", None) for u in usccs}
    return bases, {u for u in usccs if current[u] != bases[u]}


def grade_rows(platform) -> Counter[str]:
    with platform.ctx.sessions() as s:
        rows = s.execute(select(CreditGrade.uscc, func.count()).group_by(CreditGrade.uscc))
        return Counter({uscc: count for uscc, count in rows})


def assert_graded_as_regrade_would(platform, bases: dict[str, str], changed: set[str], before: Counter[str]) -> None:
    credit, after = platform.ctx.credit, grade_rows(platform)
    with platform.ctx.sessions() as s:
        assert {u: credit.current_grade(s, u).basis for u in bases} == bases
        pending = s.scalars(select(CreditGrade.uscc).where(CreditGrade.state == "PENDING")).all()
    assert {u: after[u] - before[u] for u in bases} == {u: int(u in changed) for u in bases}  # one row per change
    assert changed <= set(pending)  # for the chain


def another_process(platform) -> CreditLedger:
    """A second credit ledger on the same store and chain, as another service process has (its own lease holder
    and its own memory of the day)."""
    ctx = platform.ctx
    return CreditLedger(ctx.sessions, ctx.pii, ctx.require_ledger(), ctx.require_credit().keys, credit_scopes())


def test_the_pass_grades_every_enterprise_as_regrade_would(platform) -> None:
    made = seed_mix(platform)
    bases, changed = expected(platform, DAY)
    before = grade_rows(platform)
    assert 0 < len(changed & set(made)) < len(made)  # the mix changes some grades and keeps others
    seen: list[str | None] = []
    done = platform.ctx.credit.daily_pass(DAY, chunk=3, after_chunk=lambda p: seen.append(p.cursor))
    assert done.state == "finished" and not done.resumed
    assert done.regraded == len(bases) and done.changed == len(changed) and done.chunks == -(-len(bases) // 3)
    assert seen == sorted(seen) and seen[-1] == max(bases)  # in USCC order, chunk by chunk
    assert_graded_as_regrade_would(platform, bases, changed, before)
    with platform.ctx.sessions() as s:
        row = s.get_one(CreditPass, DAY)
        assert row.finished_at is not None and (row.regraded, row.changed) == (len(bases), len(changed))
    # refresh (the entry point `zel credit sync` uses) answers what this call changed: nothing, the day is done
    assert platform.ctx.credit.refresh(DAY) == {"regraded": 0, "lists": 0}


def test_the_red_list_entries_that_start_and_end_are_queued_for_the_chain(platform) -> None:
    seed_mix(platform, copies=1)
    credit = platform.ctx.credit
    credit.sync()  # the entries on chain: the red one that started today WRITTEN, the later one WAITING
    later = TODAY + timedelta(days=10)
    assert credit.refresh(later)["lists"] == 1  # the later one has started
    credit.sync(on=later)
    with platform.ctx.sessions() as s:
        assert Counter(s.scalars(select(ListEntry.state).where(ListEntry.list == "red"))) == {"WRITTEN": 2}
    assert credit.refresh(DAY)["lists"] == 2  # by DAY both have ended (black entries the registry ends itself)


def test_a_killed_pass_continues_from_its_cursor(platform) -> None:
    seed_mix(platform)
    bases, changed = expected(platform, DAY)
    before = grade_rows(platform)

    class Killed(Exception):
        pass

    def kill_after_two(progress: PassProgress) -> None:
        if progress.chunks == 2:
            raise Killed

    with pytest.raises(Killed):
        platform.ctx.credit.daily_pass(DAY, chunk=4, after_chunk=kill_after_two)
    with platform.ctx.sessions() as s:
        row = s.get_one(CreditPass, DAY)
        assert row.finished_at is None and row.regraded == 8
        cursor = row.cursor
        assert cursor == sorted(bases)[7]
    # Another process (or this one restarted) takes it up at the cursor: the first chunk it does starts after it.
    firsts: list[str | None] = []
    done = another_process(platform).daily_pass(DAY, chunk=4, after_chunk=lambda p: firsts.append(p.cursor))
    assert done.state == "finished" and done.resumed
    assert done.regraded == len(bases) - 8 and done.total_regraded == len(bases)
    assert firsts[0] == sorted(bases)[11]
    assert_graded_as_regrade_would(platform, bases, changed, before)  # no enterprise graded twice


def test_a_finished_day_is_not_redone(platform) -> None:
    ctx = platform.ctx
    first = ctx.credit.daily_pass(TODAY)
    assert first.state == "finished"
    with transaction(ctx.sessions) as s:  # an enterprise never graded: a second pass today would grade it
        add_enterprise(s, uscc(9_999), "新设企业")
    assert ctx.credit.daily_pass(TODAY).state == "done"
    # A restarted service has no memory of the day: it reads the finished pass from the store.
    restarted, stop = another_process(platform), threading.Event()
    worker = threading.Thread(target=restarted.run_forever, args=(stop, 0.05))
    worker.start()
    try:
        for _ in range(600):
            if restarted._refreshed == TODAY:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(60)
    assert restarted._refreshed == TODAY
    assert grade_rows(platform)[uscc(9_999)] == 0
    with ctx.sessions() as s:
        assert s.get_one(CreditPass, TODAY).regraded == first.regraded


def test_a_second_process_does_not_run_the_pass_beside_the_first(platform) -> None:
    seed_mix(platform)
    bases, changed = expected(platform, DAY)
    before = grade_rows(platform)
    other = another_process(platform)
    beside: list[PassProgress] = []

    def try_the_other(progress: PassProgress) -> None:
        if progress.chunks == 1:
            beside.append(other.daily_pass(DAY, chunk=4))

    done = platform.ctx.credit.daily_pass(DAY, chunk=4, after_chunk=try_the_other)
    assert [p.state for p in beside] == ["busy"] and beside[0].regraded == 0
    assert done.state == "finished" and done.regraded == len(bases)
    assert_graded_as_regrade_would(platform, bases, changed, before)


def test_two_passes_started_together_do_the_work_once(platform) -> None:
    seed_mix(platform)
    bases, changed = expected(platform, DAY)
    before = grade_rows(platform)
    ledgers = [platform.ctx.credit, another_process(platform)]
    start, results = threading.Barrier(2), [None, None]

    def run(i: int) -> None:
        start.wait()
        results[i] = ledgers[i].daily_pass(DAY, chunk=2)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    states = sorted(r.state for r in results)
    assert states in (["busy", "finished"], ["done", "finished"])
    assert sum(r.regraded for r in results) == len(bases)
    assert_graded_as_regrade_would(platform, bases, changed, before)


def test_a_pass_whose_lease_expired_under_it_writes_nothing_more(platform) -> None:
    """A holder stalled beyond the lease's TTL: another process takes the pass over at the cursor and finishes it;
    the first, waking up, finds the cursor moved and writes nothing (no grade twice)."""
    seed_mix(platform)
    bases, changed = expected(platform, DAY)
    before = grade_rows(platform)
    other = another_process(platform)
    took_over: list[PassProgress] = []

    def stall(progress: PassProgress) -> None:
        if progress.chunks == 1:
            with transaction(platform.ctx.sessions) as s:  # the lease runs out while this one stalls
                s.execute(update(WorkerLease).values(expires_at=datetime.now(UTC) - timedelta(hours=1)))
            took_over.append(other.daily_pass(DAY, chunk=4))

    done = platform.ctx.credit.daily_pass(DAY, chunk=4, after_chunk=stall)
    assert took_over[0].state == "finished" and took_over[0].resumed
    assert done.state == "lost" and done.regraded == 4
    assert_graded_as_regrade_would(platform, bases, changed, before)
    with transaction(platform.ctx.sessions) as s:  # and no lease is left behind
        assert s.execute(delete(WorkerLease).where(WorkerLease.name == "credit:pass")).rowcount == 0


def test_zel_credit_refresh_runs_the_days_pass_once(zel_bin: str, tmp_path: Path) -> None:
    env = {**os.environ, "ZEL_DATA_DIR": str(tmp_path / "data")}

    def zel(*args: str) -> str:
        out = subprocess.run([zel_bin, *args], env=env, capture_output=True, text=True, timeout=180)
        assert out.returncode == 0, f"zel {' '.join(args)} exited {out.returncode}: {out.stderr[-600:]}"
        return out.stdout

    zel("issuer", "provision", "--demo")
    seeded = json.loads(zel("seed", "--people", "2", "--enterprises", "5", "--json"))["enterprises"]
    day = (TODAY + timedelta(days=3)).isoformat()
    first = json.loads(zel("credit", "refresh", "--on", day, "--chunk", "2", "--json"))
    assert first["state"] == "finished" and first["day"] == day and not first["resumed"]
    assert first["regraded"] == len(seeded) and first["chunks"] == 3
    assert first["changed"] == len(seeded)  # never graded before: each gets its first grade
    again = json.loads(zel("credit", "refresh", "--on", day, "--json"))
    assert again["state"] == "done" and again["regraded"] == 0 and again["total_regraded"] == len(seeded)
    assert "finished before" in zel("credit", "refresh", "--on", day)
