"""CreditRegistry behaviour: the per-subject hash chain, grades and list entries, each written only by a department
admitted for its scope, list entries changed only by the department that made them."""

from __future__ import annotations

import os

import pytest
from eth_account import Account
from eth_utils import keccak

from ledger.client import Grade
from ledger.errors import InvalidArgument, LedgerError, NotAuthorized, StaleChainHead
from ledger.kinds import CreditScope, Kind, department_id, kinds_mask, scopes_mask
from tests.conftest import AMR, TAX, emitted

ZERO = b"\0" * 32
S = CreditScope


def chain_head(previous: bytes, digest: bytes) -> bytes:
    return keccak(previous + digest)  # abi.encode(bytes32, bytes32)


def lists_department(env):
    """A second department the district admitted for the lists (the development and reform bureau)."""
    dept, key = department_id("drc.440604"), Account.create()
    env.ledger.admit_department(
        env.admin, dept, "佛山市禅城区发展和改革局", scopes_mask([S.RED_LIST, S.BLACK_LIST, S.GRADE])
    )
    env.ledger.register_key(env.admin, key.address, dept, kinds_mask([Kind.CREDIT_RECORD]))
    env.ledger.fund(env.admin, key.address)
    return dept, key


def test_append_builds_the_hash_chain_and_names_the_writer(env):
    subject = os.urandom(32)
    digests = [os.urandom(32) for _ in range(3)]
    head = ZERO
    writes = ((env.tax_key, S.TAX), (env.amr_key, S.PENALTY), (env.tax_key, S.TAX))
    for i, (d, (key, scope)) in enumerate(zip(digests, writes, strict=True)):
        result = env.ledger.append_credit_record(key, subject, d, scope, head)
        (event,) = emitted(env.ledger.credit, result, "RecordAppended")
        assert event["previousHead"] == head and event["index"] == i and event["recordDigest"] == d
        assert event["department"] == (TAX if key is env.tax_key else AMR)
        assert event["writer"] == key.address and event["scope"] == scope
        head = chain_head(head, d)
        assert event["newHead"] == head
    standing = env.ledger.standing(subject)
    assert standing.head == head and standing.length == 3
    assert env.ledger.credit.functions.chainHead(ZERO, digests[0]).call() == chain_head(ZERO, digests[0])


def test_append_with_a_stale_head_is_refused(env):
    subject = os.urandom(32)
    env.ledger.append_credit_record(env.tax_key, subject, os.urandom(32), S.TAX, ZERO)
    with pytest.raises(StaleChainHead):  # a retry or a concurrent writer that read the old head
        env.ledger.append_credit_record(env.amr_key, subject, os.urandom(32), S.PENALTY, ZERO)
    assert env.ledger.standing(subject).length == 1


def test_append_refusals(env):
    subject = os.urandom(32)
    for stranger in (env.si_key, env.outsider, env.admin, env.inspector):
        with pytest.raises(NotAuthorized, match="credit scope"):
            env.ledger.append_credit_record(stranger, subject, os.urandom(32), S.PENALTY, ZERO)
    with pytest.raises(InvalidArgument):
        env.ledger.append_credit_record(env.tax_key, subject, ZERO, S.TAX, ZERO)
    env.ledger.revoke_key(env.admin, env.amr_key.address)
    with pytest.raises(NotAuthorized):
        env.ledger.append_credit_record(env.amr_key, subject, os.urandom(32), S.PENALTY, ZERO)
    assert env.ledger.standing(subject).length == 0


def test_a_department_writes_only_the_record_kinds_it_was_admitted_for(env):
    subject = os.urandom(32)
    # The tax bureau holds a credit-record key, but was admitted for tax arrears only: a penalty is refused.
    with pytest.raises(NotAuthorized, match=f"scope {int(S.PENALTY)}") as refused:
        env.ledger.append_credit_record(env.tax_key, subject, os.urandom(32), S.PENALTY, ZERO)
    assert refused.value.error_name == "CreditRegistryNotAuthorized"
    with pytest.raises(InvalidArgument, match="not a record scope"):
        env.ledger.append_credit_record(env.amr_key, subject, os.urandom(32), S.GRADE, ZERO)
    assert env.ledger.standing(subject).length == 0
    env.ledger.set_credit_scopes(env.admin, TAX, scopes_mask([S.TAX, S.PENALTY]))  # the district widens it
    env.ledger.append_credit_record(env.tax_key, subject, os.urandom(32), S.PENALTY, ZERO)
    assert env.ledger.standing(subject).length == 1


def test_set_grade_records_the_writer(env):
    subject, basis = os.urandom(32), os.urandom(32)
    result = env.ledger.set_grade(env.amr_key, subject, Grade.B, basis)
    (event,) = emitted(env.ledger.credit, result, "GradeChanged")
    assert event == {
        "subject": subject,
        "previousGrade": 0,
        "newGrade": 2,
        "basis": basis,
        "department": AMR,
        "writer": env.amr_key.address,
    }
    assert env.ledger.standing(subject).grade == Grade.B


def test_grade_written_by_a_department_without_the_grade_scope(env):
    subject = os.urandom(32)
    for stranger in (env.tax_key, env.si_key, env.outsider, env.admin):  # tax holds a credit key, not the grade
        with pytest.raises(NotAuthorized) as refused:
            env.ledger.set_grade(stranger, subject, Grade.A, ZERO)
        assert refused.value.error_name == "CreditRegistryNotAuthorized"
    for bad in (0, 5):
        with pytest.raises(InvalidArgument, match="grade"):
            env.ledger.sender.transact(env.amr_key, env.ledger.credit.functions.setGrade(subject, bad, ZERO), "grade")
    assert env.ledger.standing(subject).grade == Grade.NONE


def test_red_list_entry_belongs_to_its_department(env):
    drc, drc_key = lists_department(env)
    subject = os.urandom(32)
    result = env.ledger.set_red_list(env.amr_key, subject, True, os.urandom(32))
    (event,) = emitted(env.ledger.credit, result, "RedListChanged")
    assert event["listed"] is True and event["department"] == AMR and event["writer"] == env.amr_key.address
    assert env.ledger.standing(subject).red_listed and env.ledger.standing(subject).red_list_owner == AMR
    # Another department admitted for the lists cannot end market supervision's entry.
    with pytest.raises(NotAuthorized, match="belongs to department amr.440604") as refused:
        env.ledger.set_red_list(drc_key, subject, False, ZERO)
    assert refused.value.error_name == "CreditRegistryListEntryOwned"
    assert env.ledger.standing(subject).red_listed
    with pytest.raises(NotAuthorized):
        env.ledger.set_red_list(env.si_key, subject, True, ZERO)
    env.ledger.set_red_list(env.amr_key, subject, False, ZERO)
    standing = env.ledger.standing(subject)
    assert not standing.red_listed and standing.red_list_owner is None
    env.ledger.set_red_list(drc_key, subject, True, ZERO)  # once ended, any admitted department may list
    assert env.ledger.standing(subject).red_list_owner == drc


def test_black_list_window_belongs_to_its_department(env):
    _drc, drc_key = lists_department(env)
    subject = os.urandom(32)
    start, end = 1_800_000_000, 1_900_000_000
    result = env.ledger.set_black_list(env.amr_key, subject, start, end, os.urandom(32))
    event = emitted(env.ledger.credit, result, "BlackListChanged")[0]
    assert (event["start"], event["end"], event["writer"]) == (start, end, env.amr_key.address)
    assert not env.ledger.is_black_listed(subject, start - 1)
    assert env.ledger.is_black_listed(subject, start)
    assert not env.ledger.is_black_listed(subject, end)
    standing = env.ledger.standing(subject)
    assert (standing.black_list_start, standing.black_list_end, standing.black_list_owner) == (start, end, AMR)
    for foreign in ((0, 0), (start, start + 1)):  # clearing or shortening another department's entry
        with pytest.raises(NotAuthorized, match="belongs to department amr.440604"):
            env.ledger.set_black_list(drc_key, subject, *foreign, ZERO)
    assert env.ledger.is_black_listed(subject, start)
    env.ledger.set_black_list(env.amr_key, subject, 0, 0, ZERO)  # cleared by its own department
    assert not env.ledger.is_black_listed(subject, start)
    with pytest.raises(InvalidArgument, match="empty"):
        env.ledger.set_black_list(env.amr_key, subject, end, start, ZERO)
    for stranger in (env.outsider, env.tax_key):
        with pytest.raises(NotAuthorized):
            env.ledger.set_black_list(stranger, subject, start, end, ZERO)


def test_set_grades_writes_many_in_one_transaction_all_or_nothing(env):
    from credit.ledger import GRADES_PER_TX

    subjects = [os.urandom(32) for _ in range(GRADES_PER_TX)]  # all new: the dearest case
    grades = [Grade(1 + i % 4) for i in range(GRADES_PER_TX)]
    bases = [os.urandom(32) for _ in range(GRADES_PER_TX)]
    for stranger in (env.tax_key, env.si_key, env.outsider, env.admin):
        with pytest.raises(NotAuthorized):
            env.ledger.set_grades(stranger, subjects[:2], grades[:2], bases[:2])
    with pytest.raises(InvalidArgument, match="grade"):  # one invalid grade among valid ones: nothing is set
        call = env.ledger.credit.functions.setGrades(subjects[:3], [1, 5, 2], bases[:3])
        env.ledger.sender.transact(env.amr_key, call, "grades")
    with pytest.raises(LedgerError):  # lengths that do not match
        call = env.ledger.credit.functions.setGrades(subjects[:3], [1, 2], bases[:3])
        env.ledger.sender.transact(env.amr_key, call, "grades")
    assert env.ledger.standing(subjects[0]).grade == Grade.NONE
    result = env.ledger.set_grades(env.amr_key, subjects, grades, bases)
    assert result.gas_used < 5_000_000  # a full batch fits any block this district's chains use (ganache: 6.7 M)
    events = emitted(env.ledger.credit, result, "GradeChanged")
    assert [(e["subject"], e["newGrade"], e["basis"]) for e in events] == [
        (s, int(g), b) for s, g, b in zip(subjects, grades, bases, strict=True)
    ]
    assert {e["department"] for e in events} == {AMR} and {e["writer"] for e in events} == {env.amr_key.address}
    assert [env.ledger.standing(s).grade for s in subjects[:4]] == grades[:4]
