"""Double random draws: committed before, revealed after, redone by anyone from the published record."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from sqlalchemy import select

from api.security import Principal
from api.services import add_user
from credit import draws
from credit.ledger import CreditError
from store.db import transaction
from store.models import RandomDraw, Role


def test_commit_reveal_and_redraw(platform) -> None:
    credit = platform.ctx.credit
    with transaction(platform.ctx.sessions) as s:
        for name in ("inspector2", "inspector3"):
            add_user(
                s,
                platform.ctx.pii,
                Principal("user:admin", Role.ADMIN),
                username=name,
                role=Role.INSPECTOR,
                department="amr.440604",
                display_name=name,
            )
    with transaction(platform.ctx.sessions) as s:
        draw, seed = draws.commit(credit, s, targets=2, per_target=2, actor="user:test")
        uid = draw.uid
        assert draw.seed is None and draw.result is None  # nothing is known before the reveal
    with transaction(platform.ctx.sessions) as s:
        row = s.scalars(select(RandomDraw).where(RandomDraw.uid == uid)).one()
        with pytest.raises(CreditError, match="does not open"):
            draws.reveal(credit, s, row, os.urandom(32))
        draws.reveal(credit, s, row, seed)
        record = draws.published(row)
    assert len(record["result"]) == 2 and all(len(t["inspectors"]) == 2 for t in record["result"])
    assert len({t["uscc"] for t in record["result"]}) == 2
    assert draws.redraw(credit, record) == {"uid": uid, "ok": True, "problems": [], "result": record["result"]}
    swapped = {**record, "result": list(reversed(record["result"]))}
    assert not draws.redraw(credit, swapped)["ok"]
    other_inspectors = {**record, "inspectors": record["inspectors"][:-1]}
    assert "does not open" in draws.redraw(credit, other_inspectors)["problems"][0]
    with transaction(platform.ctx.sessions) as s:
        row = s.scalars(select(RandomDraw).where(RandomDraw.uid == uid)).one()
        with pytest.raises(CreditError, match="already drawn"):
            draws.reveal(credit, s, row, seed)


def test_the_draw_weighs_targets_by_class() -> None:
    params = {
        "targets": 1,
        "per_target": 1,
        "inspectors": ["a", "b"],
        "candidates": [
            {"uscc": f"{i:018d}", "grade": g, "weight": w}
            for i, (g, w) in enumerate([("A", 1), ("B", 2), ("C", 4), ("D", 8)])
        ],
    }
    picks = Counter(draws.compute(params, n.to_bytes(32, "big"))[0]["grade"] for n in range(3000))
    # expected shares 1:2:4:8 of 3000 = 200, 400, 800, 1600
    assert 140 < picks["A"] < 260 and 1480 < picks["D"] < 1720 and picks["A"] < picks["B"] < picks["C"] < picks["D"]
    again = draws.compute(params, b"\x07" * 32)
    assert again == draws.compute(params, b"\x07" * 32)  # a pure function of its inputs
