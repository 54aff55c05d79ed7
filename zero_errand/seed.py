"""`zel seed`: deterministic, realistic department data for the built-in adapters.

People get zh-CN names and citizen ID numbers from Chancheng (440604) with valid GB 11643 check characters;
enterprises get USCCs registered in 440604 with valid GB 32100 check characters. Each person works for one
of the enterprises; tax records (individual income tax; enterprise VAT and corporate income tax) and
social-insurance contributions cover the 24 months before `until`; a few months are left in arrears.
The same seed always gives the same data.

Wages follow a log-normal distribution (median about 9,000 yuan a month, as for urban employees in the Pearl River
Delta); the contribution base is the wage within the province's floor and cap; individual income tax is what the
employer withholds by the cumulative method (累计预扣法): 5,000 yuan a month and the employee's own contributions
and special additional deductions (专项附加扣除) off, the 3%–45% annual brackets over the year so far. People
earning little pay none.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from identifiers import USCC_ALPHABET, id_check_char, uscc_check_char
from store.models import Enterprise, SiContribution, TaxRecord
from store.pii import Pii
from zero_errand.people import add_enterprise, add_person, find_person

SURNAMES = "陈黄李梁张何林罗吴周冯邓苏谢潘杜叶郭区麦"
GIVEN = "志明丽华建国伟强秀英嘉欣俊杰婉婷家豪子轩梓涵浩然雅琪文锋淑芬永康晓东美玲国栋慧敏"
TRADES = ["陶瓷", "五金制品", "纺织", "家具", "电子科技", "物流", "食品", "建材", "机械设备", "贸易"]
SHOPS = ["明发", "顺和", "金润", "宏达", "佳美", "华盛", "永利", "恒通", "祥富", "新景", "瑞丰", "德隆"]
INSURANCES = {  # employee rates (per mille of the contribution base)
    "pension": 80,
    "medical": 20,
    "unemployment": 2,
    "injury": 0,
    "maternity": 0,
}
EMPLOYER_RATES = {"pension": 140, "medical": 55, "unemployment": 8, "injury": 4, "maternity": 10}
REGION = "440604"
WAGE_MEDIAN, WAGE_SIGMA = 9_000_00, 0.55  # fen a month; about one in ten earns under 4,500, one in ten over 18,000
WAGE_FLOOR, WAGE_CAP = 2_300_00, 150_000_00  # about the local minimum wage; a senior executive
BASE_FLOOR, BASE_CAP = 4_588_00, 27_501_00  # contribution base floor and cap: about 60% / 300% of the mean wage
THRESHOLD = 5_000_00  # 基本减除费用, a month
SPECIAL_DEDUCTIONS = (0, 0, 0, 1_000_00, 2_000_00, 3_000_00)  # a month: none; housing loan; one child; elderly care
# Comprehensive income, annual brackets (个人所得税法 2018): (upper bound in fen or None, rate %, quick deduction fen)
IIT_BRACKETS = (
    (36_000_00, 3, 0),
    (144_000_00, 10, 2_520_00),
    (300_000_00, 20, 16_920_00),
    (420_000_00, 25, 31_920_00),
    (660_000_00, 30, 52_920_00),
    (960_000_00, 35, 85_920_00),
    (None, 45, 181_920_00),
)


@dataclass
class SeedResult:
    people: list[str]
    enterprises: list[str]


def months_before(until: date, count: int) -> list[str]:
    """The `count` months before `until`'s month, oldest first, as YYYY-MM."""
    y, m = until.year, until.month
    out = []
    for _ in range(count):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append(f"{y:04d}-{m:02d}")
    return out[::-1]


def _id_number(rng: random.Random) -> str:
    born = date(rng.randint(1960, 2002), rng.randint(1, 12), rng.randint(1, 28))
    first17 = f"{REGION}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    return first17 + id_check_char(first17)


def annual_iit(taxable_fen: int) -> int:
    """Individual income tax on `taxable_fen` of comprehensive income (the annual brackets, quick deduction)."""
    if taxable_fen <= 0:
        return 0
    for upper, rate, quick in IIT_BRACKETS:
        if upper is None or taxable_fen <= upper:
            return taxable_fen * rate // 100 - quick
    raise AssertionError("unreachable: the last bracket is open")


def withheld_iit(wage_fen: int, deductions_fen: int, month_of_year: int) -> int:
    """The tax withheld in the `month_of_year`th month (1-12) under the cumulative method, for a steady wage and
    monthly deductions (the 5,000 yuan threshold not included): the tax on the year's income so far less the
    tax withheld in the months before."""
    taxable = wage_fen - THRESHOLD - deductions_fen
    return annual_iit(taxable * month_of_year) - annual_iit(taxable * (month_of_year - 1))


def _wage(rng: random.Random) -> int:
    wage = round(rng.lognormvariate(math.log(WAGE_MEDIAN), WAGE_SIGMA), -2)  # whole yuan
    return int(min(max(wage, WAGE_FLOOR), WAGE_CAP))


def _uscc(rng: random.Random) -> str:
    org = "MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(7))
    first17 = f"91{REGION}{org}"
    return first17 + uscc_check_char(first17)


def seed_data(
    session: Session, pii: Pii, people: int, enterprises: int, seed: int = 1, until: date | None = None
) -> SeedResult:
    """Create `people` people and `enterprises` enterprises with 24 months of records before `until`
    (default today); idempotent per seed. Identities depend on the seed only; record months on `until`."""
    rng = random.Random(seed)
    until = until or date.today()
    months = months_before(until, 24)
    usccs: list[str] = []
    for _ in range(max(enterprises, 1 if people else 0)):
        uscc = _uscc(rng)
        name = f"佛山市禅城区{rng.choice(SHOPS)}{rng.choice(TRADES)}有限公司"
        # Draw every random value before looking at the store, so reruns follow the same sequence.
        arrears = set(rng.sample(months, 1)) if rng.random() < 0.3 else set()
        vat = {m: rng.randint(20_000_00, 400_000_00) for m in months}
        cit = {m: rng.randint(10_000_00, 200_000_00) for m in months if m.endswith(("03", "06", "09", "12"))}
        existed = _exists_enterprise(session, uscc)
        add_enterprise(session, uscc, name)
        usccs.append(uscc)
        if existed:
            continue
        for month in months:
            session.add(
                TaxRecord(
                    uscc=uscc,
                    tax_type="vat",
                    period=month,
                    amount_fen=vat[month],
                    status="arrears" if month in arrears else "paid",
                )
            )
            if month in cit:
                session.add(
                    TaxRecord(
                        uscc=uscc, tax_type="corporate_income", period=month, amount_fen=cit[month], status="paid"
                    )
                )
    ids: list[str] = []
    for index in range(people):
        id_number = _id_number(rng)
        name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))
        phone = f"13{rng.randint(0, 9)}{rng.randint(0, 99_999_999):08d}"
        employer = usccs[index % len(usccs)]  # round-robin: every enterprise has employees
        wage, special = _wage(rng), rng.choice(SPECIAL_DEDUCTIONS)
        base = min(max(wage, BASE_FLOOR), BASE_CAP)
        own_contributions = sum(base * rate // 1000 for rate in INSURANCES.values())
        arrears = set(rng.sample(months, rng.choice((0, 0, 0, 1, 2))))
        ids.append(id_number)
        if find_person(session, pii, id_number) is not None:
            continue
        person = add_person(session, pii, id_number, name, phone)
        for month in months:
            status = "arrears" if month in arrears else "paid"
            for insurance, rate in INSURANCES.items():
                amount = base * (rate + EMPLOYER_RATES[insurance]) // 1000
                session.add(
                    SiContribution(
                        person_id=person.id,
                        employer_uscc=employer,
                        month=month,
                        insurance=insurance,
                        base_fen=base,
                        amount_fen=amount,
                        status=status,
                    )
                )
            # Below the threshold the monthly declaration is a zero declaration (零申报).
            iit = withheld_iit(wage, own_contributions + special, int(month[5:]))
            session.add(
                TaxRecord(
                    person_id=person.id, tax_type="individual_income", period=month, amount_fen=iit, status="paid"
                )
            )
    session.flush()
    return SeedResult(ids, usccs[:enterprises])


def _exists_enterprise(session: Session, uscc: str) -> bool:
    return session.get(Enterprise, uscc) is not None
