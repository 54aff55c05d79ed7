"""The rule file against DESIGN.md §5: display windows per penalty class, and the risk-based inspection frequency
(class A least often)."""

from __future__ import annotations

from datetime import date

import pytest

from credit import inspections
from credit.grading import Fact, add_months, displayed_until, grade, load_policy, on_display, repair_opens

DECIDED = date(2025, 3, 31)


@pytest.mark.parametrize(
    ("type", "repair_months", "display_months"),
    [("penalty_minor", 0, 3), ("penalty_general", 3, 12), ("penalty_serious", 12, 36)],
)
def test_display_and_repair_windows_follow_the_severity(type: str, repair_months: int, display_months: int) -> None:
    policy, fact = load_policy(), Fact("r1", type, DECIDED)
    assert repair_opens(policy, fact) == add_months(DECIDED, repair_months)
    end = displayed_until(policy, fact)
    assert end == add_months(DECIDED, display_months)
    assert on_display(policy, fact, DECIDED) and on_display(policy, fact, date.fromordinal(end.toordinal() - 1))
    assert not on_display(policy, fact, end)
    # a record counts in the grade exactly while it is on display
    assert grade([fact], date.fromordinal(end.toordinal() - 1)).score < policy.base
    assert grade([fact], end).score == policy.base


def test_court_entries_stay_until_removed() -> None:
    policy, fact = load_policy(), Fact("r1", "dishonest_debtor", DECIDED)
    assert displayed_until(policy, fact) is None and repair_opens(policy, fact) is None
    assert grade([fact], date(2040, 1, 1)).grade == "D"


def test_inspections_come_less_often_the_better_the_class() -> None:
    policy = load_policy()
    months = [policy.inspection_every_months[c] for c in "ABCD"]
    assert months == sorted(months, reverse=True) and months[0] > months[-1]
    on = date(2026, 6, 15)
    last = add_months(on, -7)  # inspected seven months ago
    due = {c: inspections.due(last, c, on) for c in "ABCD"}
    assert {c: d["due"] for c, d in due.items()} == {c: policy.inspection_every_months[c] <= 7 for c in "ABCD"}
    assert due["A"]["due_on"] == str(add_months(last, policy.inspection_every_months["A"]))
    never = inspections.due(None, "A", on)
    assert never["due"] and never["last_inspected"] is None


def test_a_red_listed_enterprise_is_at_least_b_unless_it_is_a_dishonest_debtor() -> None:
    on = date(2026, 6, 15)
    facts = [Fact("a", "penalty_general", add_months(on, -2)), Fact("b", "tax_arrears", add_months(on, -1))]
    assert grade(facts, on).grade == "C"
    lifted = grade(facts, on, red_listed=True)
    assert lifted.grade == "B" and any(line["type"] == "red_list" for line in lifted.explanation)
    assert grade(facts + [Fact("c", "dishonest_debtor", on)], on, red_listed=True).grade == "D"
    assert grade(facts, on, red_listed=True, black_listed=True).grade == "D"
