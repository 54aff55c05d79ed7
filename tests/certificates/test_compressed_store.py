"""Certificates' content and breakdown are stored deflated (store.models.CompressedJSON, migration 0009): the same
values come back, the bytes are smaller than the JSON, and a store made before keeps its certificates."""

from __future__ import annotations

import json
import zlib

import sqlalchemy as sa
from alembic import command
from hypothesis import example, given, settings
from hypothesis import strategies as st

from store.db import alembic_config, current_revision, head_revision, make_engine, session_factory, upgrade
from store.models import _ZDICT_1, Certificate, CompressedJSON
from zero_errand.certificates import CertKind
from zero_errand.standard_kinds import standard_kind

CONTENT = {
    "kind": 3,
    "version": 1,
    "number": "32026120412345678",
    "subject": "4406**********123X",
    "subjectName": "",
    "periodFrom": 20089,
    "periodTo": 20423,
    "totalFen": 1234567,
    "monthsPaid": 11,
    "monthsInArrears": 1,
    "detailHash": "0x" + "ab" * 32,
    "issuedAt": 1796400000,
    "expiresOn": 20516,
    "department": "si.440604",
}
DETAIL = {
    "lines": [
        {
            "month": f"2025-{m:02d}",
            "insurance": ins,
            "employer": "91440604MA4UABCD1X",
            "base_fen": 800000,
            "amount_fen": 64000 + m,
            "status": "paid" if m != 7 else "arrears",
        }
        for m in range(1, 13)
        for ins in ("pension", "medical", "unemployment", "injury", "maternity")
    ],
    "salt": "5f" * 32,
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(json_values)
@example([-(2**63) - 1, 2**64])  # beyond 64 bits: orjson refuses to write them and reads the first as a float
def test_any_json_value_comes_back_as_it_went_in(value) -> None:
    codec = CompressedJSON()
    stored = codec.process_bind_param(value, None)
    assert (stored is None) == (value is None)
    assert codec.process_result_value(stored, None) == value


SCHEMA_CONTENT = {  # what a certificate's content is since the kinds are schemas (kinds/standard/si-individual)
    "schema": "0x" + standard_kind(CertKind.SI_INDIVIDUAL).digest.hex(),
    "header": {
        "number": "32026120412345678",
        "subject": "4406**************",
        "subjectName": "",
        "issuedAt": 1796400000,
        "expiresOn": 20516,
        "department": "si.440604",
        "detailHash": "0x" + "ab" * 32,
    },
    "values": {
        "period_from": "2025-01",
        "period_to": "2025-12",
        "total_fen": 1234567,
        "months_paid": 11,
        "months_in_arrears": 1,
    },
}
SCHEMA_DETAIL = {"fields": {"lines": DETAIL["lines"]}, "salt": DETAIL["salt"]}


def test_a_certificate_is_a_fraction_of_its_json() -> None:
    codec = CompressedJSON()
    for value, most in ((SCHEMA_CONTENT, 0.45), (SCHEMA_DETAIL, 0.2), (CONTENT, 0.75), (DETAIL, 0.2)):
        raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        stored = codec.process_bind_param(value, None)
        assert stored[:1] == b"\x03" and len(stored) < most * len(raw), (len(stored), len(raw))


def test_what_the_first_dictionary_wrote_still_reads() -> None:
    """A store written before the second dictionary (format byte 1) keeps its certificates."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _ZDICT_1)
    text = json.dumps(CONTENT, separators=(",", ":")).encode()
    assert CompressedJSON().process_result_value(b"\x01" + packer.compress(text) + packer.flush(), None) == CONTENT


def test_an_unknown_format_is_refused_not_misread() -> None:
    import pytest

    with pytest.raises(ValueError, match="unknown compressed JSON format"):
        CompressedJSON().process_result_value(b"\x09" + b"x" * 10, None)


def test_the_migration_compresses_existing_certificates_and_goes_back(database_url) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0008")
    old = sa.table(
        "certificate",
        *(sa.column(c) for c in ("number", "kind", "version", "owner", "department", "digest", "signer")),
        *(sa.column(c) for c in ("signature", "issued_at", "expires_at", "state", "holder_wrong_guesses")),
        sa.column("content", sa.JSON()),
        sa.column("detail", sa.JSON()),
    )
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(old),
            [
                {
                    "number": f"3202612041234567{i}",
                    "kind": "si-individual",
                    "version": 1,
                    "owner": "person:1",
                    "department": "si.440604",
                    "digest": f"0x{i:064x}",
                    "signer": "0x" + "11" * 20,
                    "signature": "0x" + "22" * 65,
                    "issued_at": now,
                    "expires_at": now,
                    "state": "ANCHORED",
                    "holder_wrong_guesses": 0,
                    "content": {**CONTENT, "number": f"3202612041234567{i}"},
                    "detail": DETAIL,
                }
                for i in range(3)
            ],
        )
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with session_factory(engine)() as session:
        certs = session.scalars(sa.select(Certificate).order_by(Certificate.number)).all()
        assert [c.content["number"] for c in certs] == [f"3202612041234567{i}" for i in range(3)]
        assert all(c.detail == DETAIL for c in certs)
    with engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT content, detail FROM certificate")).all()
    assert all(bytes(c)[:1] == b"\x03" and bytes(d)[:1] == b"\x03" for c, d in raw)  # as written today
    command.downgrade(alembic_config(engine), "0008")
    with engine.connect() as conn:
        back = conn.execute(sa.select(old.c.number, old.c.content, old.c.detail).order_by(old.c.number)).all()
    assert [(n, c["number"], d) for n, c, d in back] == [(n, n, DETAIL) for n, _, _ in back]
    engine.dispose()
