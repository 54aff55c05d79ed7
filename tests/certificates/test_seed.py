"""`zel seed`: deterministic, valid identifiers and records."""

from __future__ import annotations

import json
import os
import subprocess

from sqlalchemy import func, select

from identifiers import is_valid_id_number, is_valid_uscc
from store.db import make_engine, session_factory, transaction, upgrade
from store.models import Person, SiContribution, TaxRecord
from store.pii import Pii
from tests.api.test_store import ring
from zero_errand.seed import seed_data


def _seed(tmp_path, name, seed):
    engine = make_engine(f"sqlite:///{tmp_path / name}")
    upgrade(engine)
    sessions = session_factory(engine)
    pii = Pii(ring("k1")[0])
    with transaction(sessions) as s:
        result = seed_data(s, pii, people=6, enterprises=3, seed=seed)
    with sessions() as s:
        totals = (
            s.scalar(select(func.sum(TaxRecord.amount_fen))),
            s.scalar(select(func.sum(SiContribution.amount_fen))),
            s.scalar(select(func.count()).select_from(Person)),
        )
    return result, totals, sessions, pii


def test_same_seed_same_data_and_valid_codes(tmp_path):
    a, totals_a, sessions, pii = _seed(tmp_path, "a.sqlite", 42)
    b, totals_b, _, _ = _seed(tmp_path, "b.sqlite", 42)
    c, _, _, _ = _seed(tmp_path, "c.sqlite", 43)
    assert (a.people, a.enterprises, totals_a) == (b.people, b.enterprises, totals_b)
    assert a.people != c.people
    assert all(is_valid_id_number(p) and p.startswith("440604") for p in a.people)
    assert all(is_valid_uscc(u) and u[2:8] == "440604" for u in a.enterprises)
    assert totals_a[2] == 6
    with transaction(sessions) as s:  # idempotent: seeding again adds nothing
        again = seed_data(s, pii, people=6, enterprises=3, seed=42)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Person)) == 6
        assert s.scalar(select(func.sum(TaxRecord.amount_fen))) == totals_a[0]
    assert again.people == a.people


def test_cli_json(zel_bin, tmp_path):
    env = {**os.environ, "ZEL_DATA_DIR": str(tmp_path / "d")}
    out = subprocess.run(
        [zel_bin, "seed", "--people", "4", "--enterprises", "2", "--seed", "9", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data["people"]) == 4 and len(data["enterprises"]) == 2
    assert all(is_valid_id_number(p) for p in data["people"])


def test_individual_income_tax_follows_wages_and_the_brackets(tmp_path):
    """Most people pay a non-zero, plausible IIT: withheld by the cumulative method from a wage the contribution base
    reveals (inside its floor and cap), over the 5,000 yuan threshold, the employee's contributions and one of the
    special deductions; a few earn too little to pay any."""
    from datetime import date

    from api.demo import DEMO_SEED
    from zero_errand.seed import (
        BASE_CAP,
        BASE_FLOOR,
        INSURANCES,
        SPECIAL_DEDUCTIONS,
        annual_iit,
        months_before,
        withheld_iit,
    )

    engine = make_engine(f"sqlite:///{tmp_path / 'iit.sqlite'}")
    upgrade(engine)
    sessions = session_factory(engine)
    pii = Pii(ring("k1")[0])
    with transaction(sessions) as s:
        seed_data(s, pii, people=40, enterprises=3, seed=7, until=date(2026, 1, 15))  # 2024-01 .. 2025-12
        demo = seed_data(s, pii, people=8, enterprises=3, seed=DEMO_SEED)  # the people `make run` shows
    with sessions() as s:
        iit: dict[int, dict[str, int]] = {}
        for r in s.scalars(select(TaxRecord).where(TaxRecord.tax_type == "individual_income")):
            iit.setdefault(r.person_id, {})[r.period] = r.amount_fen
        bases = {r.person_id: r.base_fen for r in s.scalars(select(SiContribution))}
        demo_ids = {
            p.id for p in s.scalars(select(Person)) if pii.decrypt(p.id_number_enc, "person.id_number") in demo.people
        }
    months = months_before(date(2026, 1, 15), 24)
    paying = [p for p, by_month in iit.items() if p not in demo_ids and sum(by_month.values()) > 0]
    assert 0.6 * 40 <= len(paying) < 40  # most pay, some do not
    assert sum(1 for p in demo_ids if sum(iit[p].values()) > 0) >= 5  # of the demo's 8
    explained = 0
    for person, by_month in iit.items():
        if person in demo_ids:
            continue
        assert sorted(by_month) == months
        for year in ("2024", "2025"):  # withholding grows (or holds, to the fen) through a year with a steady wage
            amounts = [by_month[f"{year}-{m:02d}"] for m in range(1, 13)]
            assert all(later >= earlier - 1 for earlier, later in zip(amounts, amounts[1:], strict=False))
            assert min(amounts) >= 0
        base = bases[person]
        assert by_month["2025-12"] <= 0.45 * max(base, 1) or base == BASE_CAP  # never above the top rate
        if BASE_FLOOR < base < BASE_CAP:  # the base is the wage: the tax is the brackets' to the fen
            own = sum(base * rate // 1000 for rate in INSURANCES.values())
            assert any(
                all(by_month[m] == withheld_iit(base, own + special, int(m[5:])) for m in months)
                for special in SPECIAL_DEDUCTIONS
            ), (base, by_month)
            explained += 1
    assert explained >= 20
    # the brackets (annual, quick deductions) meet at their bounds, 3% to 45%
    assert annual_iit(36_000_00) == 1_080_00 and annual_iit(144_000_00) == 11_880_00
    assert annual_iit(1_000_000_00) == 1_000_000_00 * 45 // 100 - 181_920_00 and annual_iit(-5) == 0
    assert withheld_iit(10_000_00, 0, 1) == 150_00  # 5,000 over the threshold at 3%
