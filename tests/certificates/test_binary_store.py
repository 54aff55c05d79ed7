"""Digests, signers, signatures and audit hashes are stored as bytes (store.models.HexBytes, migration 0011): the code
still sees the same hex, malformed hex is refused before it reaches the database, and a store made before keeps
its certificates and a verifiable audit chain, both ways."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from store import audit
from store.db import alembic_config, current_revision, head_revision, make_engine, session_factory, upgrade
from store.models import AuditEntry, Certificate, CompressedJSON, HexBytes

from .test_compressed_store import CONTENT, DETAIL


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_hex_goes_in_and_the_same_hex_comes_out(raw: bytes) -> None:
    digest = HexBytes(32)
    stored = digest.process_bind_param("0x" + raw.hex(), None)
    assert stored == raw
    assert digest.process_result_value(stored, None) == "0x" + raw.hex()
    assert digest.process_bind_param("0X" + raw.hex().upper(), None) == raw  # either case finds the same row
    plain = HexBytes(32, prefix="")
    assert plain.process_result_value(plain.process_bind_param(raw.hex(), None), None) == raw.hex()


def test_a_signer_comes_back_checksummed() -> None:
    signer = HexBytes(20, address=True)
    address = "0x" + "ab" * 20
    assert signer.process_result_value(signer.process_bind_param(address, None), None) == to_checksum_address(address)


@pytest.mark.parametrize(
    "bad",
    [
        "0x" + "ab" * 31,  # short
        "0x" + "ab" * 33,  # long
        "ab" * 32,  # no prefix
        "0x" + "zz" * 32,  # not hex
        "0x" + "ab" * 31 + " a",  # whitespace bytes.fromhex would skip
        b"\x01" * 31,  # raw bytes of the wrong size
    ],
)
def test_malformed_hex_is_refused_before_the_database(bad) -> None:
    with pytest.raises(ValueError, match="expected 32 bytes"):
        HexBytes(32).process_bind_param(bad, None)


def _old_tables() -> tuple[sa.TableClause, sa.TableClause]:
    certificate = sa.table(
        "certificate",
        *(sa.column(c) for c in ("number", "kind", "version", "owner", "department", "digest", "signer")),
        *(sa.column(c) for c in ("signature", "issued_at", "expires_at", "state", "holder_wrong_guesses")),
        sa.column("content", sa.LargeBinary()),
        sa.column("detail", sa.LargeBinary()),
    )
    entries = sa.table(
        "audit_entry",
        *(sa.column(c) for c in ("seq", "at", "actor", "role", "action", "target", "outcome", "prev_hash", "hash")),
        sa.column("detail", sa.JSON()),
    )
    return certificate, entries


def test_the_migration_keeps_certificates_and_the_audit_chain_both_ways(database_url) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "0010")
    certificate, entries = _old_tables()
    now = datetime.now(UTC)
    certs = [
        {
            "number": f"3202612041234567{i}",
            "kind": "si-individual",
            "version": 1,
            "owner": "person:1",
            "department": "si.440604",
            "digest": f"0x{i + 1:064x}",
            "signer": to_checksum_address("0x" + f"{i + 7:02x}" * 20),
            "signature": "0x" + f"{i + 3:02x}" * 65,
            "issued_at": now,
            "expires_at": now,
            "state": "ANCHORED",
            "holder_wrong_guesses": 0,
            "content": b"",
            "detail": b"",
        }
        for i in range(3)
    ]
    log, prev = [], audit.GENESIS
    for seq in range(1, 5):  # entries as the old code chained them, each with its predecessor's hash
        entry = AuditEntry(
            seq=seq, at=now, actor="user:admin", role="admin", action="user.add", target=f"u{seq}", outcome="ok"
        )
        entry.detail = {"i": seq, "名": "陈"}
        hashed = audit.entry_hash(prev, entry)
        log.append({**{c: getattr(entry, c) for c in ("seq", "at", "actor", "role", "action", "target", "outcome")}})
        log[-1].update(detail=entry.detail, prev_hash=prev, hash=hashed)
        prev = hashed
    packed = CompressedJSON()
    for cert in certs:
        cert["content"] = packed.process_bind_param({**CONTENT, "number": cert["number"]}, None)
        cert["detail"] = packed.process_bind_param(DETAIL, None)
    with engine.begin() as conn:
        conn.execute(sa.insert(certificate), certs)
        conn.execute(sa.insert(entries), log)
        conn.execute(sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 4, :h)"), {"h": prev})

    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with session_factory(engine)() as session:
        stored = session.scalars(sa.select(Certificate).order_by(Certificate.number)).all()
        assert [(c.digest, c.signer, c.signature) for c in stored] == [
            (c["digest"], c["signer"], c["signature"]) for c in certs
        ]
        assert stored[1].content["number"] == certs[1]["number"]
        found = session.scalar(sa.select(Certificate.number).where(Certificate.digest == certs[2]["digest"].upper()))
        assert found == certs[2]["number"]  # a lookup by hex still finds it
        assert session.scalars(sa.select(AuditEntry.hash).order_by(AuditEntry.seq)).all() == [e["hash"] for e in log]
        assert audit.verify(session).ok
        audit.append(session, actor="user:admin", role="admin", action="user.add", target="after")
        session.commit()
        assert audit.verify(session).entries == 5
    with engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT digest, signer, signature FROM certificate ORDER BY number")).first()
    assert raw is not None and [len(bytes(v)) for v in raw] == [32, 20, 65]

    command.downgrade(alembic_config(engine), "0010")
    with engine.connect() as conn:
        back = conn.execute(sa.select(certificate.c.digest, certificate.c.signer, certificate.c.signature)).all()
        chain = conn.execute(sa.select(entries.c.seq, entries.c.prev_hash, entries.c.hash).order_by("seq")).all()
    assert sorted(back) == sorted((c["digest"], c["signer"], c["signature"]) for c in certs)
    assert [tuple(row) for row in chain[:4]] == [(e["seq"], e["prev_hash"], e["hash"]) for e in log]
    assert chain[4][1] == log[-1]["hash"]  # the entry appended after the upgrade gets its predecessor's hash
    upgrade(engine)
    engine.dispose()
