"""The 2026 repair rules (《信用修复管理办法》, NDRC Order No. 36, grading-v2), one test per tier: a record is displayed
from its decision until its tier's maximum and then stops by itself; a minor record is in principle not published
though it counts; repair is refused before the tier's minimum, without a statement of the correction or without
the credit promise (信用承诺), and accepted after, by the department that recorded it; a repaired record is withdrawn
from what is shared. grading-v1 keeps working as it did."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from credit import workflows
from credit.grading import (
    CURRENT,
    Fact,
    Policy,
    PolicyError,
    add_months,
    displayed_until,
    grade,
    load_policy,
    on_display,
    published,
    repair_opens,
)
from credit.ledger import CreditError
from store.db import transaction
from store.models import CreditRecord, RepairApplication

TODAY = date.today()
DECIDED = date(2026, 4, 15)
TIERS = [
    # record type, tier, published at all, minimum and maximum months
    ("penalty_minor", "minor", False, 0, 3),
    ("penalty_general", "general", True, 3, 12),
    ("penalty_serious", "serious", True, 12, 36),
]


def _day_before(day: date) -> date:
    return day - timedelta(days=1)


def test_grading_v2_is_current_and_cites_the_order() -> None:
    policy = load_policy()
    assert CURRENT == policy.version == "grading-v2"
    assert {t: policy.tiers[t] for t, *_ in TIERS} == {t: tier for t, tier, *_ in TIERS}
    assert "第36号" in policy.legal_basis["repair"] and "2026年4月1日" in policy.legal_basis["repair"]
    assert policy.legal_basis["withdrawal"].startswith("第三条")  # the article found in the order's text
    for _, tier, *_ in TIERS:  # no article number is claimed that was not found
        assert policy.tier_rules[tier]["article"] is None and "第36号" in policy.tier_rules[tier]["basis"]


@pytest.mark.parametrize(("type", "tier", "shown", "min_months", "max_months"), TIERS)
def test_each_tier_is_displayed_until_its_maximum_and_published_as_its_rule_says(
    type: str, tier: str, shown: bool, min_months: int, max_months: int
) -> None:
    policy, fact = load_policy(), Fact("r1", type, DECIDED)
    end = add_months(DECIDED, max_months)
    assert displayed_until(policy, fact) == end
    assert not on_display(policy, fact, _day_before(DECIDED))  # not before its decision
    assert on_display(policy, fact, DECIDED) and on_display(policy, fact, _day_before(end))
    assert not on_display(policy, fact, end)  # publication stops by itself at the maximum
    # the public sees a general or serious record while it is displayed; a minor one never
    assert published(policy, fact, DECIDED) is shown and published(policy, fact, _day_before(end)) is shown
    assert not published(policy, fact, end)
    # it counts for the grade exactly while displayed, published or not
    assert grade([fact], _day_before(end), policy=policy).score == policy.base + policy.points[type]
    assert grade([fact], end, policy=policy).score == policy.base
    assert repair_opens(policy, fact) == add_months(DECIDED, min_months)


def test_the_tiers_maximum_wins_over_display_months_under_v2_and_v1_is_as_it_was() -> None:
    v2, v1 = load_policy(), load_policy("grading-v1")
    fact = Fact("r1", "penalty_general", DECIDED)
    longer = dataclasses.replace(v2, display_months={**v2.display_months, "penalty_general": 24})
    assert displayed_until(longer, fact) == add_months(DECIDED, 12)  # the tier's maximum, not 24 months
    longer_v1 = dataclasses.replace(v1, display_months={**v1.display_months, "penalty_general": 24})
    assert displayed_until(longer_v1, fact) == add_months(DECIDED, 24)  # v1 has no tiers: display_months
    # grading-v1 loads as published: no tiers, every record published while displayed, its repair windows
    assert v1.tiers == {} and v1.tier_rules == {} and v1.version == "grading-v1"
    minor = Fact("r2", "penalty_minor", DECIDED)
    assert published(v1, minor, DECIDED) and displayed_until(v1, minor) == add_months(DECIDED, 3)
    assert repair_opens(v1, Fact("r3", "penalty_serious", DECIDED)) == add_months(DECIDED, 12)


def test_a_repaired_record_leaves_display_from_its_repair_day() -> None:
    policy = load_policy()
    repaired_on = add_months(DECIDED, 4)
    fact = Fact("r1", "penalty_general", DECIDED, repaired_on)
    assert on_display(policy, fact, _day_before(repaired_on))  # it counted until then (a report's span end)
    assert not on_display(policy, fact, repaired_on) and not published(policy, fact, repaired_on)


@pytest.mark.parametrize(
    ("rules", "problem"),
    [
        ({"minor": {"published": False, "min_months": 4, "max_months": 3}}, "min <= max"),
        ({"minor": {"published": False, "min_months": 0}}, "min <= max"),
        ({"minor": {"published": "no", "min_months": 0, "max_months": 3}}, "published"),
    ],
)
def test_a_malformed_tier_rule_is_refused(rules: dict, problem: str) -> None:
    doc = dataclasses.asdict(load_policy())
    doc["classes"] = [list(c) for c in doc["classes"]]
    doc |= {"tiers": {"penalty_minor": "minor"}, "tier_rules": rules}
    with pytest.raises(PolicyError, match=problem):
        Policy.parse(doc)


def _record(platform, type: str, decided_on: date) -> str:
    with transaction(platform.ctx.sessions) as s:
        return workflows.record(
            platform.ctx.credit,
            s,
            uscc=platform.usccs[0],
            type=type,
            department="amr.440604",
            decided_on=decided_on,
            summary=f"{type} 处罚",
            reference="禅市监罚〔2026〕7号",
            actor="user:amr",
        ).uid


def _apply(platform, s, uid: str, on: date, *, corrected: str = "罚款已缴清，违法行为已改正", promise: bool = True):
    return workflows.apply_repair(
        platform.ctx.credit,
        s,
        uscc=platform.usccs[0],
        record_uid=uid,
        statement="申请信用修复",
        corrected=corrected,
        promise=promise,
        on=on,
        actor="client:ent",
    )


@pytest.mark.parametrize(("type", "tier", "shown", "min_months", "max_months"), TIERS)
def test_repair_of_each_tier_needs_the_minimum_the_correction_and_the_promise(
    platform, type: str, tier: str, shown: bool, min_months: int, max_months: int
) -> None:
    credit, uscc = platform.ctx.credit, platform.usccs[0]
    decided = add_months(TODAY, -min_months) - timedelta(days=10)  # still displayed today, repairable 10 days ago
    uid = _record(platform, type, decided)
    opens = add_months(decided, min_months)
    with platform.ctx.sessions() as s:
        assert any(line["record"] == uid for line in credit.grade_on(s, uscc, TODAY).explanation)
        assert credit.grade_on(s, uscc, add_months(decided, max_months)).score == load_policy().base  # stops by itself
    with transaction(platform.ctx.sessions) as s:
        with pytest.raises(CreditError, match=str(opens)) as early:
            _apply(platform, s, uid, _day_before(opens))
        assert early.value.code == "too-early"
        with pytest.raises(CreditError) as uncorrected:
            _apply(platform, s, uid, opens, corrected="  ")
        assert (uncorrected.value.code, uncorrected.value.field) == ("not-corrected", "corrected")
        with pytest.raises(CreditError, match="信用承诺") as unpromised:
            _apply(platform, s, uid, opens, promise=False)
        assert (unpromised.value.code, unpromised.value.field) == ("no-promise", "promise")
        assert s.scalars(select(RepairApplication)).all() == []  # nothing was stored for the refusals
        app = _apply(platform, s, uid, opens)
        assert app.state == "APPLIED"
        with pytest.raises(CreditError, match="only the department"):  # 谁认定、谁修复
            workflows.review_repair(
                credit, s, application_id=app.id, approve=True, department="tax.440604", note="", actor="user:tax"
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
    with platform.ctx.sessions() as s:
        target = s.scalars(select(CreditRecord).where(CreditRecord.uid == uid)).one()
        step = s.scalars(
            select(CreditRecord).where(CreditRecord.target_id == target.id, CreditRecord.type == "repair_applied")
        ).one()
        assert step.public["corrected"] == "罚款已缴清，违法行为已改正"
        assert step.public["promise"] == workflows.PROMISE_ZH  # the promise is on the chain step
        assert target.repaired_on == opens
        fact = Fact(target.uid, target.type, target.decided_on, target.repaired_on)
        policy = load_policy()
        # withdrawn from sharing: neither public, nor in force for departments, nor counted
        assert not on_display(policy, fact, TODAY) and not published(policy, fact, TODAY)
        assert all(line["record"] != uid for line in credit.current_grade(s, uscc).explanation)
        # before its repair day it was in force (what a report whose span ended then states)
        if opens > decided:
            assert on_display(policy, fact, _day_before(opens))
