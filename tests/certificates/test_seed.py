"""`zel seed`: deterministic, valid identifiers and records."""

from __future__ import annotations

import json
import os
import subprocess

from sqlalchemy import func, select

from credit.codes import is_valid_id_number, is_valid_uscc
from ledger.store.db import make_engine, session_factory, transaction, upgrade
from ledger.store.models import Person, SiContribution, TaxRecord
from ledger.store.pii import Pii
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
        totals = (s.scalar(select(func.sum(TaxRecord.amount_fen))), s.scalar(select(func.sum(SiContribution.amount_fen))),
                  s.scalar(select(func.count()).select_from(Person)))
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
    out = subprocess.run([zel_bin, "seed", "--people", "4", "--enterprises", "2", "--seed", "9", "--json"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data["people"]) == 4 and len(data["enterprises"]) == 2
    assert all(is_valid_id_number(p) for p in data["people"])
