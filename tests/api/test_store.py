"""The store: encrypted personal data, keyed-hash lookups, key rotation, the hash-chained audit log."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from api.security import Principal
from api.services import add_user, find_person
from store import audit
from store.db import make_engine, session_factory, transaction, upgrade
from store.models import AuditEntry, Person, Role
from store.pii import Pii, PiiError, PiiKeys, rotate_people
from tests.platform_fixtures import CITIZENS

ADMIN = Principal("user:admin", Role.ADMIN)


def ring(*ids: str, index: bytes = b"i" * 32) -> tuple[PiiKeys, dict[str, bytes]]:
    keys = {i: os.urandom(32) for i in ids}
    spec = ",".join(f"{i}:{base64.b64encode(k).decode()}" for i, k in keys.items())
    return PiiKeys.parse(spec, base64.b64encode(index).decode()), keys


@pytest.fixture
def store(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


def test_personal_data_is_encrypted_and_indexed(store, database_url, tmp_path):
    keys, _ = ring("k1")
    pii = Pii(keys)
    with transaction(store) as s:
        for username, name, id_number in CITIZENS:
            add_user(
                s, pii, ADMIN, username=username, role=Role.CITIZEN, id_number=id_number, name=name, phone="13800138000"
            )
    with store() as s:
        dump = " ".join(str(v) for row in s.execute(text("SELECT * FROM person")) for v in row)
        dump += " ".join(str(v) for row in s.execute(text("SELECT * FROM app_user")) for v in row)
        person = find_person(s, pii, CITIZENS[0][2])
        assert person is not None and pii.decrypt(person.name_enc, "person.name") == CITIZENS[0][1]
    for _, name, id_number in CITIZENS:
        assert id_number not in dump and id_number[6:14] not in dump and name not in dump
        assert "13800138000" not in dump
    if database_url.startswith("sqlite"):
        raw = Path(database_url.removeprefix("sqlite:///")).read_bytes()
        assert CITIZENS[0][2].encode() not in raw and CITIZENS[0][1].encode() not in raw
    # A different index key finds nobody: the index is keyed, not a plain hash.
    other, _ = ring("k1", index=b"j" * 32)
    with store() as s:
        assert find_person(s, Pii(other), CITIZENS[0][2]) is None


def test_ciphertexts_are_bound_to_their_field(store):
    pii = Pii(ring("k1")[0])
    blob = pii.encrypt("陈志明", "person.name")
    with pytest.raises(PiiError, match="failed authentication"):
        pii.decrypt(blob, "person.id_number")  # a name pasted into the ID column does not decrypt
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(PiiError):
        pii.decrypt(tampered, "person.name")


def test_key_rotation_reencrypts_online(store):
    old, old_keys = ring("k1")
    with transaction(store) as s:
        for username, name, id_number in CITIZENS:
            add_user(s, Pii(old), ADMIN, username=username, role=Role.CITIZEN, id_number=id_number, name=name)
    both = PiiKeys("k2", {"k2": os.urandom(32), "k1": old_keys["k1"]}, old.index_key)
    pii = Pii(both)
    with store() as s:  # during the rotation both keys read
        assert pii.decrypt(find_person(s, pii, CITIZENS[1][2]).name_enc, "person.name") == CITIZENS[1][1]
    assert rotate_people(store, pii, batch=1) == len(CITIZENS)
    new_only = Pii(PiiKeys("k2", {"k2": both.keys["k2"]}, old.index_key))
    with store() as s:
        people = s.scalars(select(Person)).all()
        assert {p.key_id for p in people} == {"k2"}
        assert sorted(new_only.decrypt(p.id_number_enc, "person.id_number") for p in people) == sorted(
            c[2] for c in CITIZENS
        )
    with store() as s, pytest.raises(PiiError, match="unknown key"):
        Pii(old).decrypt(s.scalars(select(Person)).first().name_enc, "person.name")
    assert rotate_people(store, pii) == 0  # idempotent


def test_audit_chain_detects_edits_deletions_and_insertions(store):
    with transaction(store) as s:
        for i in range(5):
            audit.append(s, actor="user:admin", role="admin", action="user.add", target=f"u{i}", detail={"i": i})
    with store() as s:
        report = audit.verify(s)
        assert report.ok and report.entries == 5
    with transaction(store) as s:  # someone edits entry 3 in the database
        s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(target="someone-else"))
    with store() as s:
        report = audit.verify(s)
        assert not report.ok and report.seq == 3 and "altered" in report.problem
    with transaction(store) as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(target="u2"))
        s.execute(AuditEntry.__table__.delete().where(AuditEntry.seq == 2))
    with store() as s:
        report = audit.verify(s)
        assert not report.ok and report.seq == 2 and "missing" in report.problem


def test_audit_tail_deletion_is_detected(store):
    with transaction(store) as s:
        for i in range(3):
            audit.append(s, actor="cli:root", role="admin", action="client.add", target=str(i))
    with transaction(store) as s:
        s.execute(AuditEntry.__table__.delete().where(AuditEntry.seq == 3))
    with store() as s:
        report = audit.verify(s)
        assert not report.ok and "head records 3" in report.problem


def test_audit_rolls_back_with_its_action(store):
    with pytest.raises(RuntimeError), transaction(store) as s:
        audit.append(s, actor="user:admin", role="admin", action="user.add", target="x")
        raise RuntimeError("the action failed")
    with store() as s:
        assert audit.verify(s).entries == 0


def test_zel_audit_verify_and_pii_rotate_commands(zel_bin, tmp_path):
    env = {**os.environ, "ZEL_DATA_DIR": str(tmp_path / "d")}
    run = lambda *a: subprocess.run([zel_bin, *a], capture_output=True, text=True, env=env, timeout=120)  # noqa: E731
    added = run("users", "add", "alice", "--role", "citizen", "--id-number", CITIZENS[0][2], "--name", "陈志明")
    assert added.returncode == 0, added.stderr
    assert run("clients", "add", "--uscc", "91440604MA51XK0A1K", "--enterprise-name", "明发陶瓷").returncode == 0
    assert "alice" in run("users", "list").stdout
    assert run("users", "disable", "alice").returncode == 0
    assert run("pii", "rotate").returncode == 0
    ok = run("audit", "verify", "--store-only")  # no chain in this data directory (tests/api/test_audit_anchoring.py)
    assert ok.returncode == 0 and "4 entries" in ok.stdout
    engine = make_engine(f"sqlite:///{tmp_path / 'd' / 'zel.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET outcome = 'denied' WHERE seq = 2"))
    broken = run("audit", "verify", "--store-only")
    assert broken.returncode == 1 and "entry 2" in broken.stderr
    assert (
        run("users", "add", "bob", "--role", "citizen", "--id-number", "440604198503122011", "--name", "x").returncode
        == 2
    )
