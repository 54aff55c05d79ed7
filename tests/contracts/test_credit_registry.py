"""CreditRegistry behaviour: the per-subject hash chain, grades and list flags."""

from __future__ import annotations

import os

import pytest
from eth_utils import keccak

from ledger.client import Grade
from ledger.errors import InvalidArgument, NotAuthorized, StaleChainHead
from tests.conftest import AMR, TAX, emitted

ZERO = b"\0" * 32


def chain_head(previous: bytes, digest: bytes) -> bytes:
    return keccak(previous + digest)  # abi.encode(bytes32, bytes32)


def test_append_builds_the_hash_chain(env):
    subject = os.urandom(32)
    digests = [os.urandom(32) for _ in range(3)]
    head = ZERO
    for i, (d, key) in enumerate(zip(digests, (env.tax_key, env.amr_key, env.tax_key))):
        result = env.ledger.append_credit_record(key, subject, d, head)
        (event,) = emitted(env.ledger.credit, result, "RecordAppended")
        assert event["previousHead"] == head and event["index"] == i and event["recordDigest"] == d
        assert event["department"] == (TAX if key is env.tax_key else AMR)
        head = chain_head(head, d)
        assert event["newHead"] == head
    standing = env.ledger.standing(subject)
    assert standing.head == head and standing.length == 3
    assert env.ledger.credit.functions.chainHead(ZERO, digests[0]).call() == chain_head(ZERO, digests[0])


def test_append_with_a_stale_head_is_refused(env):
    subject = os.urandom(32)
    env.ledger.append_credit_record(env.tax_key, subject, os.urandom(32), ZERO)
    with pytest.raises(StaleChainHead):  # a retry or a concurrent writer that read the old head
        env.ledger.append_credit_record(env.amr_key, subject, os.urandom(32), ZERO)
    assert env.ledger.standing(subject).length == 1


def test_append_refusals(env):
    subject = os.urandom(32)
    for stranger in (env.si_key, env.outsider, env.admin, env.inspector):
        with pytest.raises(NotAuthorized, match="credit records"):
            env.ledger.append_credit_record(stranger, subject, os.urandom(32), ZERO)
    with pytest.raises(InvalidArgument):
        env.ledger.append_credit_record(env.tax_key, subject, ZERO, ZERO)
    env.ledger.revoke_key(env.admin, env.amr_key.address)
    with pytest.raises(NotAuthorized):
        env.ledger.append_credit_record(env.amr_key, subject, os.urandom(32), ZERO)
    assert env.ledger.standing(subject).length == 0


def test_set_grade(env):
    subject, basis = os.urandom(32), os.urandom(32)
    result = env.ledger.set_grade(env.amr_key, subject, Grade.B, basis)
    (event,) = emitted(env.ledger.credit, result, "GradeChanged")
    assert event == {"subject": subject, "previousGrade": 0, "newGrade": 2, "basis": basis}
    env.ledger.set_grade(env.tax_key, subject, Grade.D, basis)
    assert env.ledger.standing(subject).grade == Grade.D


def test_grade_written_by_a_key_not_authorized_for_credit_records(env):
    subject = os.urandom(32)
    for stranger in (env.si_key, env.outsider, env.admin):
        with pytest.raises(NotAuthorized):
            env.ledger.set_grade(stranger, subject, Grade.A, ZERO)
    for bad in (0, 5):
        with pytest.raises(InvalidArgument, match="grade"):
            env.ledger.sender.transact(env.amr_key, env.ledger.credit.functions.setGrade(subject, bad, ZERO), "grade")
    assert env.ledger.standing(subject).grade == Grade.NONE


def test_red_list(env):
    subject = os.urandom(32)
    result = env.ledger.set_red_list(env.amr_key, subject, True, os.urandom(32))
    assert emitted(env.ledger.credit, result, "RedListChanged")[0]["listed"] is True
    assert env.ledger.standing(subject).red_listed
    env.ledger.set_red_list(env.amr_key, subject, False, ZERO)
    assert not env.ledger.standing(subject).red_listed
    with pytest.raises(NotAuthorized):
        env.ledger.set_red_list(env.si_key, subject, True, ZERO)


def test_black_list_window(env):
    subject = os.urandom(32)
    start, end = 1_800_000_000, 1_900_000_000
    result = env.ledger.set_black_list(env.amr_key, subject, start, end, os.urandom(32))
    event = emitted(env.ledger.credit, result, "BlackListChanged")[0]
    assert (event["start"], event["end"]) == (start, end)
    assert not env.ledger.is_black_listed(subject, start - 1)
    assert env.ledger.is_black_listed(subject, start)
    assert not env.ledger.is_black_listed(subject, end)
    standing = env.ledger.standing(subject)
    assert (standing.black_list_start, standing.black_list_end) == (start, end)
    env.ledger.set_black_list(env.amr_key, subject, 0, 0, ZERO)  # cleared
    assert not env.ledger.is_black_listed(subject, start)
    with pytest.raises(InvalidArgument, match="empty"):
        env.ledger.set_black_list(env.amr_key, subject, end, start, ZERO)
    with pytest.raises(NotAuthorized):
        env.ledger.set_black_list(env.outsider, subject, start, end, ZERO)
