"""The tax bureau's 纳税缴费信用 grade beside market supervision's risk class: recorded only by the tax department,
on the credit chain, the latest decided by a day is the one in force, and neither grade moves the other."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from credit import workflows
from credit.ledger import CreditError
from credit.tax_credit import record_tax_grade, tax_grade_on
from store.db import transaction
from store.models import CreditRecord, TaxCreditGrade

TODAY = date.today()
TAX, AMR = "tax.440604", "amr.440604"


def _grade(platform, grade: str, year: int, decided_on: date, department: str = TAX) -> TaxCreditGrade:
    with transaction(platform.ctx.sessions) as s:
        return record_tax_grade(
            platform.ctx.credit,
            s,
            uscc=platform.usccs[0],
            year=year,
            grade=grade,
            department=department,
            decided_on=decided_on,
            actor="user:tax",
        )


def _counts(platform) -> tuple[int, int]:
    with platform.ctx.sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(TaxCreditGrade)) or 0,
            s.scalar(select(func.count()).select_from(CreditRecord)) or 0,
        )


def test_the_tax_grade_is_on_the_chain_and_the_latest_by_a_day_is_in_force(platform) -> None:
    credit, uscc = platform.ctx.credit, platform.usccs[0]
    first, second = TODAY - timedelta(days=400), TODAY - timedelta(days=30)
    _grade(platform, "m", first.year - 1, first)  # a new enterprise: M (lower case is taken)
    _grade(platform, "B", second.year - 1, second)
    with platform.ctx.sessions() as s:
        assert tax_grade_on(s, uscc, first - timedelta(days=1)) is None
        before = tax_grade_on(s, uscc, second - timedelta(days=1))
        assert before is not None and before["grade"] == "M" and "新设立" in before["label"]["zh"]
        now = tax_grade_on(s, uscc, TODAY)
        assert now == {
            "grade": "B",
            "year": second.year - 1,
            "decided_on": second.isoformat(),
            "department": TAX,
            "label": {"zh": "纳税缴费信用 B 级", "en": "Tax and fee payment credit grade B"},
        }
        steps = s.scalars(
            select(CreditRecord).where(CreditRecord.uscc == uscc, CreditRecord.type == "tax_credit_grade")
        ).all()
        assert sorted((r.public["grade"], r.public["year"]) for r in steps) == [
            ("B", second.year - 1),
            ("M", first.year - 1),
        ]
    assert credit.sync()["records"] == 2
    assert credit.audit(uscc)["ok"] and credit.audit(uscc)["chain_length"] == 2


def test_only_the_tax_department_records_a_tax_grade(platform) -> None:
    before = _counts(platform)
    for department in (AMR, "si.440604", "nobody"):
        with pytest.raises(CreditError) as refused:
            _grade(platform, "D", TODAY.year - 1, TODAY, department)
        assert refused.value.code == "forbidden" and "TAX" in refused.value.message
    assert _counts(platform) == before  # nothing stored


@pytest.mark.parametrize(
    ("grade", "year", "decided_on", "field"),
    [("E", TODAY.year - 1, TODAY, "grade"), ("A", TODAY.year + 1, TODAY, "year"), ("A", 1999, TODAY, "year")],
)
def test_a_wrong_grade_or_year_is_refused(platform, grade: str, year: int, decided_on: date, field: str) -> None:
    before = _counts(platform)
    with pytest.raises(CreditError) as refused:
        _grade(platform, grade, year, decided_on)
    assert (refused.value.code, refused.value.field) == ("invalid", field)
    assert _counts(platform) == before


def test_neither_grade_overwrites_the_other(platform) -> None:
    credit, uscc = platform.ctx.credit, platform.usccs[0]
    with platform.ctx.sessions() as s:
        assert credit.grade_on(s, uscc, TODAY).grade == "A"
    # a D from the tax bureau leaves the risk class A
    _grade(platform, "D", TODAY.year - 1, TODAY - timedelta(days=2))
    with platform.ctx.sessions() as s:
        assert credit.current_grade(s, uscc) is None or credit.current_grade(s, uscc).grade == "A"
        assert credit.grade_on(s, uscc, TODAY).grade == "A"
        assert tax_grade_on(s, uscc, TODAY)["grade"] == "D"
    # and the reverse: an A from the tax bureau, then a serious penalty makes the risk class C; the tax grade stays A
    _grade(platform, "A", TODAY.year - 1, TODAY - timedelta(days=1))
    with transaction(platform.ctx.sessions) as s:
        workflows.record(
            credit,
            s,
            uscc=uscc,
            type="penalty_serious",
            department=AMR,
            decided_on=TODAY,
            summary="严重违法",
            reference="禅市监罚〔2026〕8号",
            actor="user:amr",
        )
    with platform.ctx.sessions() as s:
        assert credit.current_grade(s, uscc).grade == "C"
        assert tax_grade_on(s, uscc, TODAY)["grade"] == "A"
