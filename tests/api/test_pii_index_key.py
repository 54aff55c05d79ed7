"""Issue 15.11: the personal-data index key is checked at start; a wrong or missing key over existing data is refused.

A new index key over existing data would find no one (every lookup hashes differently) and give every enterprise
another credit subject on chain: the service refuses to start instead, whatever made the key wrong.
"""

from __future__ import annotations

import base64
import os

import pytest
from sqlalchemy import select

from api.context import build_context
from api.settings import Settings
from store.db import make_engine, session_factory, transaction, upgrade
from store.models import Setting
from store.pii import INDEX_FINGERPRINT, Pii, PiiError, PiiKeys
from zero_errand.people import add_person, find_person

ID_NUMBER = "11010519491231002X"


def _keys(ring: bytes | None = None, index: bytes | None = None) -> PiiKeys:
    ring_b64 = base64.b64encode(ring or os.urandom(32)).decode()
    return PiiKeys.parse(f"k1:{ring_b64}", base64.b64encode(index or os.urandom(32)).decode())


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _store_person(engine, pii: Pii) -> None:
    with transaction(session_factory(engine)) as session:
        add_person(session, pii, ID_NUMBER, "王五")


def test_a_wrong_index_key_over_existing_data_is_refused(engine):
    ring = os.urandom(32)
    right = _keys(ring)
    pii = Pii.for_store(engine, right)  # a new store: the key's fingerprint is recorded
    _store_person(engine, pii)
    wrong = _keys(ring)  # the same encryption key, another index key
    with pytest.raises(PiiError, match="not the one this store's data was written with"):
        Pii.for_store(engine, wrong)
    again = Pii.for_store(engine, right)  # the right key still opens it
    with session_factory(engine)() as session:
        assert find_person(session, again, ID_NUMBER) is not None
        assert session.get(Setting, INDEX_FINGERPRINT).value == right.fingerprint()


def test_a_store_without_a_fingerprint_is_checked_against_its_data(engine):
    """Stores written before fingerprints were kept: the key is tried on the data before it is recorded."""
    ring = os.urandom(32)
    right = _keys(ring)
    _store_person(engine, Pii(right))  # no fingerprint recorded
    with pytest.raises(PiiError, match="does not match the stored data"):
        Pii.for_store(engine, _keys(ring))
    with session_factory(engine)() as session:
        assert session.get(Setting, INDEX_FINGERPRINT) is None  # nothing recorded for the wrong key
    Pii.for_store(engine, right)
    with session_factory(engine)() as session:
        assert session.get(Setting, INDEX_FINGERPRINT).value == right.fingerprint()


def test_the_service_refuses_to_start_over_data_with_a_new_development_key(tmp_path, database_url):
    """The development key file beside the data directory is lost; starting again would generate a new one."""
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url, mode="development")
    ctx = build_context(settings, open_chain=False)
    with transaction(ctx.sessions) as session:
        add_person(session, ctx.pii, ID_NUMBER, "王五")
    ctx.engine.dispose()
    settings.dev_pii_key_path.unlink()
    with pytest.raises(PiiError, match="fingerprint"):
        build_context(
            Settings(data_dir=tmp_path / "data", database_url=database_url, mode="development"), open_chain=False
        )
    engine = make_engine(database_url)  # and the refused start changed nothing in the store
    with session_factory(engine)() as session:
        assert (
            session.scalars(select(Setting.value).where(Setting.key == INDEX_FINGERPRINT)).one()
            == ctx.pii.keys.fingerprint()
        )
    engine.dispose()


def test_credit_subjects_on_chain_count_as_existing_data(engine):
    """Enterprises are known on chain by the index key's hash of their USCC: a new key would orphan their records."""
    from datetime import date

    from store.models import CreditRecord

    right = _keys()
    uscc = "91440604MA4W000001"
    with transaction(session_factory(engine)) as session:
        session.add(
            CreditRecord(
                uid="r-1",
                uscc=uscc,
                seq=0,
                type="commendation",
                department="amr.440604",
                decided_on=date(2026, 1, 5),
                digest="0x" + "11" * 32,
                state="WRITTEN",
                created_by="test",
                public={"subject": "0x" + Pii(right).index("uscc:" + uscc)},
            )
        )
    with pytest.raises(PiiError, match="credit record r-1 names its subject under another key"):
        Pii.for_store(engine, _keys())
    Pii.for_store(engine, right)
