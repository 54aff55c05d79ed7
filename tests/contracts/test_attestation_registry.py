"""AttestationRegistry behaviour: anchoring digests and batch roots, revocation, suspension, status."""

from __future__ import annotations

import os

import pytest
from eth_account import Account

from ledger.client import CertificateStatus as S
from ledger.errors import (
    AlreadyAnchored,
    AlreadyRevoked,
    InvalidArgument,
    InvalidStateChange,
    NotAuthorized,
    UnknownCertificate,
)
from ledger.kinds import Kind
from ledger.merkle import MerkleTree, leaf_hash
from tests.conftest import TAX, emitted


def batch(n: int) -> tuple[MerkleTree, list[bytes]]:
    digests = [os.urandom(32) for _ in range(n)]
    return MerkleTree.of(digests), digests


@pytest.fixture
def anchored(env):
    """A batch of 7 tax certificates anchored by the tax bureau."""
    tree, digests = batch(7)
    env.ledger.anchor_root(env.tax_key, tree.root, Kind.TAX_CERTIFICATE, len(digests))
    return tree, digests


def test_anchor_root_emits_and_every_leaf_is_anchored(env):
    tree, digests = batch(9)
    result = env.ledger.anchor_root(env.tax_key, tree.root, Kind.TAX_CERTIFICATE, 9)
    (event,) = emitted(env.ledger.attestations, result, "Anchored")
    tax_index = env.ledger.department_info(TAX).index
    assert event == {
        "root": tree.root,
        "department": tax_index,
        "issuer": env.tax_key.address,
        "kind": int(Kind.TAX_CERTIFICATE),
        "leafCount": 9,
    }
    for d in digests:
        assert env.ledger.status(tree.root, tree.proof(d), d) == S.ANCHORED
    record = env.ledger.anchor_of(tree.root)
    assert record["leaf_count"] == 9 and record["department"] == TAX
    assert record["block_number"] == result.block_number


def test_status_unknown_for_wrong_proof_foreign_digest_or_unanchored_root(env, anchored):
    tree, digests = anchored
    stranger = os.urandom(32)
    assert env.ledger.status(tree.root, tree.proof(digests[0]), stranger) == S.UNKNOWN
    assert env.ledger.status(tree.root, tree.proof(digests[0]), digests[1]) == S.UNKNOWN
    other, other_digests = batch(3)
    assert env.ledger.status(other.root, other.proof(other_digests[0]), other_digests[0]) == S.UNKNOWN


def test_anchor_digest_is_a_one_leaf_tree(env):
    digest = os.urandom(32)
    result = env.ledger.anchor_digest(env.tax_key, digest, Kind.TAX_CERTIFICATE)
    (event,) = emitted(env.ledger.attestations, result, "Anchored")
    assert event["root"] == leaf_hash(digest) == MerkleTree.of([digest]).root and event["leafCount"] == 1
    assert env.ledger.status(leaf_hash(digest), [], digest) == S.ANCHORED
    assert env.ledger.attestations.functions.leafOf(digest).call() == leaf_hash(digest)


def test_anchoring_twice_is_refused(env, anchored):
    tree, _ = anchored
    with pytest.raises(AlreadyAnchored, match=tree.root.hex()):
        env.ledger.anchor_root(env.tax_key, tree.root, Kind.TAX_CERTIFICATE, 7)
    digest = os.urandom(32)
    env.ledger.anchor_digest(env.tax_key, digest, Kind.TAX_CERTIFICATE)
    with pytest.raises(AlreadyAnchored):
        env.ledger.anchor_digest(env.tax_key, digest, Kind.TAX_CERTIFICATE)


def test_anchor_refusals(env):
    tree, _ = batch(2)
    with pytest.raises(NotAuthorized):  # no role at all
        env.ledger.anchor_root(env.outsider, tree.root, Kind.TAX_CERTIFICATE, 2)
    with pytest.raises(NotAuthorized):  # a key of another department and kind
        env.ledger.anchor_root(env.si_key, tree.root, Kind.TAX_CERTIFICATE, 2)
    with pytest.raises(NotAuthorized):  # the admin signs no certificates
        env.ledger.anchor_digest(env.admin, os.urandom(32), Kind.TAX_CERTIFICATE)
    with pytest.raises(NotAuthorized):  # an inspector is not an issuer
        env.ledger.anchor_digest(env.inspector, os.urandom(32), Kind.INSPECTION)
    with pytest.raises(InvalidArgument, match="at least one leaf"):
        env.ledger.anchor_root(env.tax_key, tree.root, Kind.TAX_CERTIFICATE, 0)
    with pytest.raises(InvalidArgument, match="zero root"):
        env.ledger.anchor_root(env.tax_key, b"\0" * 32, Kind.TAX_CERTIFICATE, 1)


def test_revoke_by_issuing_department(env, anchored):
    tree, digests = anchored
    d = digests[3]
    result = env.ledger.revoke(env.tax_key, tree.root, tree.proof(d), d, 7)
    (event,) = emitted(env.ledger.attestations, result, "CertificateRevoked")
    assert event == {
        "digest": d,
        "department": env.ledger.department_info(TAX).index,
        "root": tree.root,
        "by": env.tax_key.address,
        "reason": 7,
    }
    assert env.ledger.status(tree.root, tree.proof(d), d) == S.REVOKED
    assert env.ledger.status(tree.root, tree.proof(digests[4]), digests[4]) == S.ANCHORED
    state = env.ledger.attestations.functions.certificateState(TAX, d).call()
    assert state[0] == S.REVOKED and state[1] == 7


def test_revocation_is_permanent(env, anchored):
    tree, digests = anchored
    d = digests[0]
    env.ledger.revoke(env.tax_key, tree.root, tree.proof(d), d, 1)
    with pytest.raises(AlreadyRevoked):
        env.ledger.revoke(env.tax_key, tree.root, tree.proof(d), d, 1)
    with pytest.raises(AlreadyRevoked):
        env.ledger.suspend(env.tax_key, tree.root, tree.proof(d), d, 1)
    with pytest.raises(InvalidStateChange):
        env.ledger.reinstate(env.tax_key, tree.root, tree.proof(d), d)
    assert env.ledger.status(tree.root, tree.proof(d), d) == S.REVOKED


def test_revoke_unknown_certificate(env, anchored):
    tree, digests = anchored
    stranger = os.urandom(32)
    with pytest.raises(UnknownCertificate, match=stranger.hex()):
        env.ledger.revoke(env.tax_key, tree.root, tree.proof(digests[0]), stranger, 1)
    with pytest.raises(UnknownCertificate):  # root never anchored
        env.ledger.revoke(env.tax_key, leaf_hash(stranger), [], stranger, 1)


def test_revoke_another_departments_certificate_is_refused(env, anchored):
    tree, digests = anchored
    d = digests[1]
    for intruder in (env.si_key, env.amr_key, env.admin, env.outsider, env.inspector):
        with pytest.raises(NotAuthorized, match="issuing department"):
            env.ledger.revoke(intruder, tree.root, tree.proof(d), d, 1)
    assert env.ledger.status(tree.root, tree.proof(d), d) == S.ANCHORED


def _foreign_root(env, digest: bytes) -> tuple[MerkleTree, list[bytes]]:
    """The attack: the social-insurance key anchors a root of its own that holds a tax certificate's digest."""
    tree = MerkleTree.of([digest, os.urandom(32)])
    env.ledger.anchor_root(env.si_key, tree.root, Kind.SOCIAL_INSURANCE_CERTIFICATE, 2)
    return tree, tree.proof(digest)


def test_a_foreign_root_cannot_revoke_another_departments_certificate(env, anchored):
    tree, digests = anchored
    d = digests[1]
    own, proof = _foreign_root(env, d)
    env.ledger.revoke(env.si_key, own.root, proof, d, 1)  # allowed: it changes only the SI bureau's own view
    assert env.ledger.status(own.root, proof, d) == S.REVOKED
    assert env.ledger.status(tree.root, tree.proof(d), d) == S.ANCHORED  # the tax certificate is untouched
    assert env.ledger.attestations.functions.certificateState(TAX, d).call()[0] == S.UNKNOWN
    # and through the tax root itself the SI key is refused by name
    with pytest.raises(NotAuthorized) as refused:
        env.ledger.revoke(env.si_key, tree.root, tree.proof(d), d, 1)
    assert refused.value.error_name == "AttestationRegistryNotIssuingDepartment"


def test_a_foreign_root_cannot_suspend_or_reinstate_another_departments_certificate(env, anchored):
    tree, digests = anchored
    d, p = digests[2], tree.proof(digests[2])
    own, proof = _foreign_root(env, d)
    env.ledger.suspend(env.si_key, own.root, proof, d, 4)
    assert env.ledger.status(tree.root, p, d) == S.ANCHORED
    env.ledger.suspend(env.tax_key, tree.root, p, d, 4)  # the tax bureau suspends its own certificate
    env.ledger.reinstate(env.si_key, own.root, proof, d)  # the SI bureau lifts only its own suspension
    assert env.ledger.status(tree.root, p, d) == S.SUSPENDED
    with pytest.raises(NotAuthorized) as refused:
        env.ledger.reinstate(env.si_key, tree.root, p, d)
    assert refused.value.error_name == "AttestationRegistryNotIssuingDepartment"
    assert env.ledger.status(tree.root, p, d) == S.SUSPENDED


def test_another_key_of_the_issuing_department_may_revoke(env, anchored):
    """After a key rotation the department, not the retired key, owns its certificates."""
    tree, digests = anchored
    successor = Account.create()
    env.ledger.register_key(env.admin, successor.address, TAX, 1)
    env.ledger.fund(env.admin, successor.address)
    env.ledger.revoke_key(env.admin, env.tax_key.address)
    d = digests[2]
    with pytest.raises(NotAuthorized):  # the revoked key can no longer act
        env.ledger.revoke(env.tax_key, tree.root, tree.proof(d), d, 2)
    env.ledger.revoke(successor, tree.root, tree.proof(d), d, 2)
    assert env.ledger.status(tree.root, tree.proof(d), d) == S.REVOKED


def test_suspend_and_reinstate(env, anchored):
    tree, digests = anchored
    d, p = digests[5], tree.proof(digests[5])
    result = env.ledger.suspend(env.tax_key, tree.root, p, d, 4)
    assert emitted(env.ledger.attestations, result, "CertificateSuspended")[0]["reason"] == 4
    assert env.ledger.status(tree.root, p, d) == S.SUSPENDED
    with pytest.raises(InvalidStateChange, match="already suspended"):
        env.ledger.suspend(env.tax_key, tree.root, p, d, 4)
    result = env.ledger.reinstate(env.tax_key, tree.root, p, d)
    assert emitted(env.ledger.attestations, result, "CertificateReinstated")[0]["digest"] == d
    assert env.ledger.status(tree.root, p, d) == S.ANCHORED
    with pytest.raises(InvalidStateChange, match="not suspended"):
        env.ledger.reinstate(env.tax_key, tree.root, p, d)
    env.ledger.suspend(env.tax_key, tree.root, p, d, 5)
    env.ledger.revoke(env.tax_key, tree.root, p, d, 6)  # a suspended certificate can still be revoked
    assert env.ledger.status(tree.root, p, d) == S.REVOKED


def test_suspend_and_reinstate_refusals(env, anchored):
    tree, digests = anchored
    d, p = digests[6], tree.proof(digests[6])
    with pytest.raises(NotAuthorized):
        env.ledger.suspend(env.si_key, tree.root, p, d, 1)
    with pytest.raises(UnknownCertificate):
        env.ledger.suspend(env.tax_key, tree.root, p, os.urandom(32), 1)
    env.ledger.suspend(env.tax_key, tree.root, p, d, 1)
    with pytest.raises(NotAuthorized):
        env.ledger.reinstate(env.outsider, tree.root, p, d)
    with pytest.raises(UnknownCertificate):
        env.ledger.reinstate(env.tax_key, tree.root, [], d)
    assert env.ledger.status(tree.root, p, d) == S.SUSPENDED
