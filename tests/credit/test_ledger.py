"""The credit ledger on SQLite and PostgreSQL with the embedded chain: records appended to the subject's hash
chain, the audit, a crash between chain and store, grades and lists on chain, and credit repair windows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from eth_utils import keccak
from sqlalchemy import select

from credit import workflows
from credit.grading import add_months, load_policy
from credit.ledger import ZERO, CreditError, chain_head
from ledger.client import Grade
from store.db import transaction
from store.models import CreditRecord

TODAY = date.today()
BASE = load_policy().base  # the rule file's starting score


def add(platform, uscc: str, type: str, decided_on: date, department: str = "amr.440604") -> CreditRecord:
    with transaction(platform.ctx.sessions) as session:
        row = workflows.record(
            platform.ctx.credit,
            session,
            uscc=uscc,
            type=type,
            department=department,
            decided_on=decided_on,
            summary=f"{type} test",
            reference="禅市监罚〔2026〕1号",
            actor="user:test",
        )
        return row.uid


def test_records_go_on_the_subjects_chain_and_the_audit_holds(platform) -> None:
    credit, uscc = platform.ctx.credit, platform.usccs[0]
    add(platform, uscc, "penalty_general", TODAY - timedelta(days=30))
    add(platform, uscc, "tax_arrears", TODAY - timedelta(days=10), "tax.440604")
    assert credit.audit(uscc)["pending"] == 2
    assert credit.sync()["records"] == 2
    report = credit.audit(uscc)
    assert report["ok"] and report["appended"] == report["chain_length"] == 2
    with platform.ctx.sessions() as s:
        digests = [
            bytes.fromhex(r.digest[2:])
            for r in s.scalars(select(CreditRecord).where(CreditRecord.uscc == uscc).order_by(CreditRecord.seq))
        ]
    assert report["chain_head"] == "0x" + chain_head(chain_head(ZERO, digests[0]), digests[1]).hex()
    assert credit.subject(uscc).hex() not in uscc and uscc.encode() not in credit.subject(uscc)  # a commitment
    other = credit.audit(platform.usccs[1])
    assert other["ok"] and other["records"] == 0 and other["chain_length"] == 0


def test_the_audit_finds_an_altered_record(platform) -> None:
    credit, uscc = platform.ctx.credit, platform.usccs[0]
    add(platform, uscc, "penalty_serious", TODAY - timedelta(days=5))
    credit.sync()
    with transaction(platform.ctx.sessions) as s:
        row = s.scalars(select(CreditRecord).where(CreditRecord.uscc == uscc)).one()
        row.public = {**row.public, "summary": "nothing happened"}
    report = credit.audit(uscc)
    assert not report["ok"] and "altered" in report["problems"][0]


def test_a_crash_after_the_chain_write_appends_nothing_twice(platform) -> None:
    credit, uscc = platform.ctx.credit, platform.usccs[1]
    add(platform, uscc, "commendation", TODAY)
    credit.sync()
    with transaction(platform.ctx.sessions) as s:  # as if the process died before recording the append
        row = s.scalars(select(CreditRecord).where(CreditRecord.uscc == uscc)).one()
        row.state, row.tx_hash = "PENDING", None
    assert credit.sync()["records"] == 1
    report = credit.audit(uscc)
    assert report["ok"] and report["chain_length"] == 1


def test_grades_follow_the_rules_and_change_on_chain(platform) -> None:
    credit, uscc = platform.ctx.credit, platform.usccs[0]
    add(platform, uscc, "commendation", TODAY - timedelta(days=3))
    credit.sync()
    assert platform.ctx.ledger.standing(credit.subject(uscc)).grade == Grade.A  # nothing bad on display: class A
    add(platform, uscc, "penalty_serious", TODAY - timedelta(days=2))
    credit.sync()
    with platform.ctx.sessions() as s:
        current = credit.current_grade(s, uscc)
    assert current.grade == "C" and current.score == BASE + 5 - 30
    assert sorted(line["points"] for line in current.explanation) == [-30, 5]
    assert sum(line["points"] for line in current.explanation) == current.score - BASE
    standing = platform.ctx.ledger.standing(credit.subject(uscc))
    assert standing.grade == Grade.C and current.state == "WRITTEN"


def test_a_black_list_entry_forces_d_and_is_on_chain_with_its_dates(platform) -> None:
    credit, uscc = platform.ctx.credit, platform.usccs[1]
    end = TODAY + timedelta(days=365)
    with transaction(platform.ctx.sessions) as s:
        workflows.list_entry(
            credit,
            s,
            uscc=uscc,
            list_name="black",
            department="amr.440604",
            start_on=TODAY - timedelta(days=1),
            end_on=end,
            reason="严重违法失信",
            reference="禅市监〔2026〕9号",
            actor="user:test",
        )
    credit.sync()
    standing = platform.ctx.ledger.standing(credit.subject(uscc))
    assert standing.grade == Grade.D and standing.black_list_end > standing.black_list_start > 0
    with platform.ctx.sessions() as s:
        assert credit.flags(s, uscc, TODAY) == {"red_list": False, "black_list": True, "joint_punishment": True}
        assert credit.flags(s, uscc, end)["black_list"] is False
    assert credit.audit(uscc)["ok"]


@pytest.mark.parametrize(("type", "months"), [("penalty_minor", 0), ("penalty_general", 3), ("penalty_serious", 12)])
def test_repair_waits_for_the_minimum_display_period(platform, type: str, months: int) -> None:
    credit, uscc = platform.ctx.credit, platform.usccs[0]
    decided = TODAY - timedelta(days=400)
    uid = add(platform, uscc, type, decided)
    opens = add_months(decided, months)
    with transaction(platform.ctx.sessions) as s:
        if months:
            with pytest.raises(CreditError, match=str(opens)):
                workflows.apply_repair(
                    credit,
                    s,
                    uscc=uscc,
                    record_uid=uid,
                    statement="已整改",
                    corrected="罚款已缴清，违法行为已改正",
                    promise=True,
                    on=opens - timedelta(days=1),
                    actor="client:x",
                )
        app = workflows.apply_repair(
            credit,
            s,
            uscc=uscc,
            record_uid=uid,
            statement="已整改",
            corrected="罚款已缴清，违法行为已改正",
            promise=True,
            on=opens,
            actor="client:x",
        )
        with pytest.raises(CreditError, match="already under review"):
            workflows.apply_repair(
                credit,
                s,
                uscc=uscc,
                record_uid=uid,
                statement="again",
                corrected="again",
                promise=True,
                on=opens,
                actor="client:x",
            )
        with pytest.raises(CreditError, match="only the department"):
            workflows.review_repair(
                credit,
                s,
                application_id=app.id,
                approve=True,
                department="tax.440604",
                note="",
                on=opens,
                actor="user:tax",
            )
        workflows.review_repair(
            credit,
            s,
            application_id=app.id,
            approve=True,
            department="amr.440604",
            note="整改到位",
            on=opens,
            actor="user:amr",
        )
    credit.sync()
    with platform.ctx.sessions() as s:
        target = s.scalars(select(CreditRecord).where(CreditRecord.uid == uid)).one()
        steps = [
            r.type
            for r in s.scalars(
                select(CreditRecord).where(CreditRecord.target_id == target.id).order_by(CreditRecord.seq)
            )
        ]
        grade = credit.current_grade(s, uscc)
    assert target.repaired_on == opens and steps == ["repair_applied", "repair_approved"]
    assert all(line["record"] != uid for line in grade.explanation)  # a repaired record no longer counts
    assert credit.audit(uscc)["ok"] and credit.audit(uscc)["chain_length"] == 3


def test_court_entries_are_not_repaired_by_departments(platform) -> None:
    uid = add(platform, platform.usccs[0], "dishonest_debtor", TODAY - timedelta(days=900))
    with transaction(platform.ctx.sessions) as s, pytest.raises(CreditError, match="cannot be repaired"):
        workflows.apply_repair(
            platform.ctx.credit,
            s,
            uscc=platform.usccs[0],
            record_uid=uid,
            statement="x",
            corrected="已履行",
            promise=True,
            actor="client:x",
        )
    with platform.ctx.sessions() as s:
        assert platform.ctx.credit.current_grade(s, platform.usccs[0]).grade == "D"


def test_the_days_refresh_regrades_as_records_leave_display_and_red_lists_end(platform) -> None:
    """Nothing is written when a record's display period ends or a list entry runs out: the daily refresh
    regrades every enterprise and clears the red flag on chain."""
    credit, uscc = platform.ctx.credit, platform.usccs[0]
    decided = TODAY - timedelta(days=300)
    add(platform, uscc, "penalty_general", decided)  # -12, shown for 12 months
    add(platform, uscc, "tax_arrears", decided, "tax.440604")  # -8, shown for 12 months
    end = TODAY + timedelta(days=30)
    with transaction(platform.ctx.sessions) as s:
        workflows.list_entry(
            credit,
            s,
            uscc=uscc,
            list_name="red",
            department="amr.440604",
            start_on=TODAY,
            end_on=end,
            reason="守信激励",
            reference="禅信〔2026〕1号",
            actor="user:test",
        )
        assert credit.current_grade(s, uscc).grade == "B"  # 70 is C; the red list lifts it to B
    credit.sync()
    chain = platform.ctx.ledger.standing(credit.subject(uscc))
    assert chain.red_listed and chain.grade == Grade.B
    credit.refresh(TODAY)  # grades the enterprises nothing was ever recorded about
    assert credit.refresh(TODAY) == {"regraded": 0, "lists": 0}  # nothing changed today
    # A month on, the red entry has ended: the grade falls back to C, and the chain says so.
    assert credit.refresh(end) == {"regraded": 1, "lists": 1}
    credit.sync(on=end)
    chain = platform.ctx.ledger.standing(credit.subject(uscc))
    assert not chain.red_listed and chain.grade == Grade.C
    # A year after the decisions both records have left public display: class A again.
    later = add_months(decided, 12)
    credit.refresh(later)
    credit.sync(on=later)
    assert platform.ctx.ledger.standing(credit.subject(uscc)).grade == Grade.A
    with platform.ctx.sessions() as s:
        assert credit.current_grade(s, uscc).score == BASE
    assert credit.audit(uscc)["ok"]


@pytest.mark.parametrize("batched", [True, False], ids=["setGrades", "older-deployment"])
def test_pending_grades_reach_the_chain_in_one_transaction(platform, batched: bool) -> None:
    from store.models import CreditGrade

    credit, ledger = platform.ctx.credit, platform.ctx.ledger
    assert ledger.batch_grades  # this deployment has setGrades
    assert keccak(text="setGrades(bytes32[],uint8[],bytes32[])")[:4] not in bytes(
        ledger.w3.eth.get_code(ledger.attestations.address)
    )  # what the detection sees in contract code without the function
    if not batched:  # as on contracts deployed before setGrades: the same writes, one transaction each
        ledger.__dict__["batch_grades"] = False
    for uscc in platform.usccs[:2]:
        with transaction(platform.ctx.sessions) as s:
            credit.add(
                s,
                uscc=uscc,
                type="penalty_serious",
                department="amr.440604",
                decided_on=TODAY,
                summary="x",
                actor="user:test",
            )
            credit.regrade(s, uscc)  # C: a pending grade each
    assert credit.sync()["grades"] == 2
    with platform.ctx.sessions() as s:
        rows = [credit.current_grade(s, u) for u in platform.usccs[:2]]
        assert s.scalar(select(CreditGrade.id).where(CreditGrade.state == "PENDING").limit(1)) is None
    assert [r.state for r in rows] == ["WRITTEN", "WRITTEN"]
    assert (rows[0].tx_hash == rows[1].tx_hash) is batched
    assert [ledger.standing(credit.subject(u)).grade for u in platform.usccs[:2]] == [Grade.C, Grade.C]


def test_a_request_never_waits_for_the_workers_sync(platform) -> None:
    credit, uscc = platform.ctx.credit, platform.usccs[0]
    add(platform, uscc, "coercive_measure", TODAY - timedelta(days=1))  # 行政强制措施: market supervision's
    with pytest.raises(CreditError, match="may not write coercive_measure"):
        add(platform, uscc, "coercive_measure", TODAY, department="tax.440604")
    with credit._lock:  # the worker is writing (a day's grade changes): a request's sync leaves it the work
        assert credit.sync(wait=False) == {}
        assert credit.audit(uscc)["pending"] == 1
    assert credit.sync(wait=False)["records"] == 1
    assert credit.audit(uscc)["ok"] and platform.ctx.ledger.standing(credit.subject(uscc)).grade == Grade.B
