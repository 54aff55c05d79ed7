"""Kinds registered from schema files (issue 19), on chain: IssuerRegistry keeps each schema's digest, slug, version
and department; AttestationRegistry anchors a batch of a schema's attestations only for a current attestation key
of that department. Every refusal is tried from the wrong side: another department's key, a key of the right
department without the attestation kind, a revoked key, an outsider, a direct call past the approvals."""

from __future__ import annotations

import os

import pytest
from eth_account import Account
from eth_utils import keccak

from ledger.client import CertificateStatus as S
from ledger.errors import AlreadyExists, InvalidArgument, NotAuthorized, UnknownEntry
from ledger.kinds import Kind, department_id, kinds_mask
from ledger.merkle import MerkleTree
from tests.conftest import AMR, SI, TAX, emitted

PS = department_id("ps.440604")


def _digest(text: str) -> bytes:
    return keccak(text=text)


def _attestation_key(env, department: bytes, kinds=(Kind.ATTESTATION,)):
    key = Account.create()
    env.ledger.register_key(env.admin, key.address, department, kinds_mask(list(kinds)))
    env.ledger.fund(env.admin, key.address)
    return key


def test_a_schema_is_registered_listed_and_found_by_its_payload_id(env):
    digest = _digest("residence-proof v1")
    result = env.ledger.register_schema(env.admin, digest, TAX, "residence-proof", 1)
    assert result.executed
    (event,) = emitted(env.ledger.issuers, result, "SchemaRegistered")
    assert event == {"index": 1, "digest": digest, "department": TAX, "slug": "residence-proof", "version": 1}
    (info,) = env.ledger.schemas()
    assert (info.index, info.digest, info.department, info.slug, info.version) == (1, digest, TAX, "residence-proof", 1)
    assert info.registered_at > 0
    assert env.ledger.schema_index(digest) == 1 and env.ledger.schema_index(_digest("other")) == 0
    assert env.ledger.schema_info(2) is None
    newer = env.ledger.register_schema(env.admin, _digest("residence-proof v2"), TAX, "residence-proof", 2)
    assert newer.executed and [s.version for s in env.ledger.schemas()] == [1, 2]


def test_registering_a_schema_is_an_approved_administrative_act(env):
    reg = env.ledger.issuers
    call = reg.functions.registerSchema(_digest("x"), TAX, "x", 1)
    for caller in (env.admin, env.tax_key, env.outsider):  # nobody calls it directly, not even an administrator
        with pytest.raises(NotAuthorized) as refused:
            env.ledger.sender.transact(caller, call, "direct")
        assert refused.value.error_name == "IssuerRegistryUnauthorized"
    with pytest.raises(NotAuthorized):  # a department key cannot propose it
        env.ledger.register_schema(env.tax_key, _digest("x"), TAX, "x", 1)
    assert env.ledger.schemas() == []


def test_schema_refusals_name_what_is_wrong(env):
    env.ledger.register_schema(env.admin, _digest("a v1"), TAX, "residence-proof", 1)
    with pytest.raises(NotAuthorized, match="slug belongs to department tax.440604"):
        env.ledger.register_schema(env.admin, _digest("a v2 by si"), SI, "residence-proof", 2)
    with pytest.raises(InvalidArgument, match="version 1 is not above the slug's latest registered version 1"):
        env.ledger.register_schema(env.admin, _digest("a v1 again"), TAX, "residence-proof", 1)
    with pytest.raises(AlreadyExists, match="already registered"):  # a payload could not tell the two apart
        env.ledger.register_schema(env.admin, _digest("a v1")[:8] + b"\x01" * 24, TAX, "another", 1)
    with pytest.raises(UnknownEntry, match="never admitted"):
        env.ledger.register_schema(env.admin, _digest("b"), PS, "school-receipt", 1)
    for digest, slug, version in ((b"\0" * 32, "c", 1), (_digest("c"), "", 1), (_digest("c"), "c" * 65, 1)):
        with pytest.raises(InvalidArgument, match="a schema needs"):
            env.ledger.register_schema(env.admin, digest, TAX, slug, version)
    with pytest.raises(InvalidArgument, match="a schema needs"):
        env.ledger.register_schema(env.admin, _digest("c"), TAX, "c", 0)
    env.ledger.retire_department(env.admin, SI)
    with pytest.raises(InvalidArgument, match="retired"):
        env.ledger.register_schema(env.admin, _digest("d"), SI, "si-kind", 1)
    assert [s.slug for s in env.ledger.schemas()] == ["residence-proof"]


def test_only_the_schemas_department_anchors_its_attestations(env):
    env.ledger.register_schema(env.admin, _digest("tax kind"), TAX, "tax-kind", 1)
    tax_attester = _attestation_key(env, TAX)
    tree = MerkleTree.of([os.urandom(32) for _ in range(5)])
    refusals = [
        (_attestation_key(env, SI), "another department's attestation key"),
        (env.tax_key, "a key of the department without the attestation kind"),
        (env.outsider, "an account with no role"),
        (env.admin, "the district administrator"),
    ]
    for key, who in refusals:
        with pytest.raises(NotAuthorized, match="may not anchor attestations of schema 1") as refused:
            env.ledger.anchor_schema_root(key, tree.root, 1, 5)
        assert refused.value.error_name == "AttestationRegistryNotAuthorizedForSchema", who
    with pytest.raises(NotAuthorized):  # a schema nobody registered
        env.ledger.anchor_schema_root(tax_attester, tree.root, 2, 5)
    with pytest.raises(NotAuthorized):  # an attestation key cannot anchor a built-in kind it was not given
        env.ledger.anchor_root(tax_attester, tree.root, Kind.TAX_CERTIFICATE, 5)

    result = env.ledger.anchor_schema_root(tax_attester, tree.root, 1, 5)
    (anchored,) = emitted(env.ledger.attestations, result, "Anchored")
    assert anchored["kind"] == int(Kind.ATTESTATION) and anchored["issuer"] == tax_attester.address
    assert emitted(env.ledger.attestations, result, "SchemaRootAnchored") == [{"root": tree.root, "schema": 1}]
    assert env.ledger.schema_of(tree.root) == 1 and env.ledger.anchor_of(tree.root)["department"] == TAX
    with pytest.raises(InvalidArgument):
        env.ledger.anchor_schema_root(tax_attester, os.urandom(32), 1, 0)


def test_a_schema_attestation_is_revoked_by_its_department_only(env):
    env.ledger.register_schema(env.admin, _digest("amr kind"), AMR, "amr-kind", 1)
    attester = _attestation_key(env, AMR)
    digests = [os.urandom(32) for _ in range(3)]
    tree = MerkleTree.of(digests)
    env.ledger.anchor_schema_root(attester, tree.root, 1, 3)
    assert env.ledger.status(tree.root, tree.proof(digests[0]), digests[0]) == S.ANCHORED
    with pytest.raises(NotAuthorized):
        env.ledger.revoke(env.tax_key, tree.root, tree.proof(digests[0]), digests[0], 1)
    env.ledger.revoke(env.amr_key, tree.root, tree.proof(digests[0]), digests[0], 1)  # any current AMR key
    assert env.ledger.status(tree.root, tree.proof(digests[0]), digests[0]) == S.REVOKED
    assert env.ledger.status(tree.root, tree.proof(digests[1]), digests[1]) == S.ANCHORED


def test_a_revoked_attestation_key_anchors_no_more(env):
    env.ledger.register_schema(env.admin, _digest("si kind"), SI, "si-kind", 1)
    attester = _attestation_key(env, SI)
    env.ledger.anchor_schema_root(attester, MerkleTree.of([os.urandom(32)]).root, 1, 1)
    env.advance(2)
    env.ledger.revoke_key(env.admin, attester.address)
    env.advance(2)
    with pytest.raises(NotAuthorized, match="schema 1"):
        env.ledger.anchor_schema_root(attester, MerkleTree.of([os.urandom(32)]).root, 1, 1)
