"""Merkle proofs derived from a batch's leaves (issue 18): no proof is stored per certificate, the derived ones are
the ones the tree of the batch gives, the surfaces and the chain accept them, and a store altered after the batch
was cut is refused loudly instead of answered."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select, update

from ledger.client import CertificateStatus
from ledger.merkle import MerkleTree
from ledger.proofs import BatchTampered, proof_bytes, proof_of, trees
from store.db import transaction
from store.models import AnchorBatch, Certificate


def _issue_and_anchor(platform, count: int) -> list[dict]:
    """`count` social-insurance certificates of citizen1, anchored in one batch."""
    issued = []
    for month in range(1, count + 1):
        r = platform.client.post(
            "/v1/citizen/certificates",
            headers=platform.headers("citizen"),
            json={"kind": "si-individual", "period_from": f"2025-{month:02d}", "period_to": "2025-06"},
        )
        assert r.status_code in (200, 201), r.text
        issued.append(r.json())
    platform.ctx.certificates.anchorer(max_wait=0).run_once(force=True)
    return issued


def _rows(platform, numbers: list[str]) -> tuple[list[Certificate], AnchorBatch]:
    with platform.ctx.sessions() as s:
        certs = s.scalars(select(Certificate).where(Certificate.number.in_(numbers)).order_by(Certificate.id)).all()
        (batch_id,) = {c.batch_id for c in certs}
        return list(certs), s.get_one(AnchorBatch, batch_id)


def _verify(platform, url: str) -> str:
    r = platform.client.post("/v1/verify", json={"text": url})
    assert r.status_code == 200, r.text
    return r.json()["status"]


def test_proofs_come_from_the_batch_leaves_and_hold(platform):
    issued = _issue_and_anchor(platform, 5)
    certs, batch = _rows(platform, [c["number"] for c in issued])
    assert batch.state == "ANCHORED" and batch.leaf_count == len(certs) == 5
    assert all(c.proof is None for c in certs)  # nothing stored per certificate

    # What the old scheme stored: the tree of the batch's digests in id order, each digest's path to the root.
    digests = [bytes.fromhex(c.digest[2:]) for c in certs]
    tree = MerkleTree.of(digests)
    assert "0x" + tree.root.hex() == batch.root
    expected = {c.number: ["0x" + p.hex() for p in tree.proof(d)] for c, d in zip(certs, digests, strict=True)}
    trees.clear()
    with platform.ctx.sessions() as s:
        derived = {c.number: proof_of(s, Certificate, c) for c in certs}
    assert derived == expected and all(len(p) >= 2 for p in derived.values())

    for cert in certs:  # the chain accepts them, the API shows them as before
        root, digest = bytes.fromhex(batch.root[2:]), bytes.fromhex(cert.digest[2:])
        assert platform.ctx.ledger.status(root, proof_bytes(derived[cert.number]), digest) == CertificateStatus.ANCHORED
        shown = platform.client.get(f"/v1/citizen/certificates/{cert.number}", headers=platform.headers("citizen"))
        assert shown.json()["anchor"]["proof"] == expected[cert.number]
        assert shown.json()["anchor"]["root"] == batch.root
    assert all(_verify(platform, c["verify_url"]) == "VALID" for c in issued)

    # Suspension and revocation send the derived proof to the contract, which checks it.
    h = platform.headers("official")
    suspended, revoked = issued[1], issued[3]
    r = platform.client.post(
        f"/v1/department/certificates/{suspended['number']}/suspend", json={"reason": 4}, headers=h
    )
    assert r.status_code == 200, r.text
    r = platform.client.post(f"/v1/department/certificates/{revoked['number']}/revoke", json={"reason": 3}, headers=h)
    assert r.status_code == 200, r.text
    assert _verify(platform, suspended["verify_url"]) == "SUSPENDED"
    assert _verify(platform, revoked["verify_url"]) == "REVOKED"
    assert _verify(platform, issued[0]["verify_url"]) == "VALID"  # its neighbours in the batch are untouched
    r = platform.client.post(f"/v1/department/certificates/{suspended['number']}/reinstate", json={}, headers=h)
    assert r.status_code == 200, r.text
    assert _verify(platform, suspended["verify_url"]) == "VALID"


def test_a_proof_stored_by_an_older_store_is_still_used(platform):
    issued = _issue_and_anchor(platform, 3)
    certs, batch = _rows(platform, [c["number"] for c in issued])
    with platform.ctx.sessions() as s:
        derived = proof_of(s, Certificate, certs[0])
    with transaction(platform.ctx.sessions) as s:  # as the anchorer wrote it before proofs were derived
        s.execute(update(Certificate).where(Certificate.id == certs[0].id).values(proof=derived))
    trees.clear()
    with platform.ctx.sessions() as s:
        stored = s.get_one(Certificate, certs[0].id)
        assert stored.proof == derived and proof_of(s, Certificate, stored) == derived
    assert _verify(platform, issued[0]["verify_url"]) == "VALID"


def test_a_leaf_altered_in_the_store_fails_proof_derivation_loudly(platform):
    issued = _issue_and_anchor(platform, 4)
    certs, batch = _rows(platform, [c["number"] for c in issued])
    good, altered = certs[0], certs[2]
    with platform.ctx.sessions() as s:
        proof_of(s, Certificate, good)  # the batch's tree is now cached
    forged = "0x" + os.urandom(32).hex()
    with transaction(platform.ctx.sessions) as s:  # someone with write access to the database swaps a leaf
        s.execute(update(Certificate).where(Certificate.id == altered.id).values(digest=forged))
    with platform.ctx.sessions() as s:
        row = s.get_one(Certificate, altered.id)
        with pytest.raises(BatchTampered, match="not a leaf"):  # the cached tree does not know the forged leaf
            proof_of(s, Certificate, row)
    trees.clear()  # a fresh process: the tree is rebuilt from the altered leaves
    with platform.ctx.sessions() as s:
        for row in (s.get_one(Certificate, good.id), s.get_one(Certificate, altered.id)):
            with pytest.raises(BatchTampered, match="altered"):
                proof_of(s, Certificate, row)
    # The surfaces refuse too: no proof, no "anchored" status, for any certificate of the batch.
    status = platform.client.get(f"/v1/verify/status/{good.digest}")
    assert status.status_code >= 500 and "anchored" not in status.text
    shown = platform.client.get(f"/v1/citizen/certificates/{good.number}", headers=platform.headers("citizen"))
    assert shown.status_code >= 500 and batch.root not in shown.text
