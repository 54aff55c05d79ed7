"""IssuerRegistry behaviour: the admin admits departments, registers and revokes keys, names inspectors."""

from __future__ import annotations

import pytest
from eth_account import Account

from ledger.errors import (
    AlreadyExists,
    AlreadyRevoked,
    BackdatedKey,
    InvalidArgument,
    InvalidStateChange,
    NotAuthorized,
    UnknownEntry,
)
from ledger.kinds import Kind, department_id, kinds_mask
from tests.conftest import AMR, SI, TAX, emitted


def test_the_deployer_alone_administers_one_of_one(env):
    reg = env.ledger.issuers
    assert env.ledger.administrators() == [env.admin.address] and env.ledger.threshold() == 1
    result = env.ledger.admit_department(env.admin, department_id("new.440604"), "新部门")
    assert result.executed and emitted(reg, result, "Executed")[0]["id"] == result.proposal_id


def test_administrative_calls_need_the_approvals(env):
    """Safe-style: every administrative function is callable only by the registry itself, after k of n approvals."""
    reg = env.ledger.issuers
    second, third = Account.create(), Account.create()
    for account in (second, third):
        env.ledger.fund(env.admin, account.address)
        env.ledger.administer(env.admin, reg.functions.addAdministrator(account.address), "adding an administrator")
    env.ledger.administer(env.admin, reg.functions.changeThreshold(2), "raising the threshold")
    assert env.ledger.threshold() == 2 and len(env.ledger.administrators()) == 3
    key = Account.create()
    pending = env.ledger.register_key(env.admin, key.address, TAX, kinds_mask([Kind.TAX_CERTIFICATE]))
    assert not pending.executed and pending.approvals == 1
    assert env.ledger.key_info(key.address).department == b"\0" * 32  # nothing happened yet
    with pytest.raises(InvalidStateChange):  # the proposer cannot approve twice
        env.ledger.approve(env.admin, pending.proposal_id)
    for stranger in (env.tax_key, env.outsider):  # a department key or anyone else cannot approve
        with pytest.raises(NotAuthorized) as refused:
            env.ledger.approve(stranger, pending.proposal_id)
        assert refused.value.error_name == "IssuerRegistryUnauthorized"
    with pytest.raises(InvalidArgument, match="not that of proposal"):  # approving other calldata than proposed
        env.ledger.sender.transact(second, reg.functions.approve(pending.proposal_id, b"\x01\x02"), "approve")
    done = env.ledger.approve(second, pending.proposal_id)
    assert done.executed and env.ledger.key_info(key.address).department == TAX
    with pytest.raises(InvalidStateChange, match="already been executed"):
        env.ledger.approve(third, pending.proposal_id)
    assert [p.executed for p in env.ledger.proposals()][-1] is True


def test_administrative_functions_refuse_direct_calls(env):
    """Even an administrator cannot call registerKey directly: only the registry, after approvals, can."""
    reg = env.ledger.issuers
    for caller in (env.admin, env.tax_key, env.outsider):
        with pytest.raises(NotAuthorized) as refused:
            env.ledger.sender.transact(caller, reg.functions.registerKey(caller.address, TAX, 1, 0), "direct")
        assert refused.value.error_name == "IssuerRegistryUnauthorized"
    with pytest.raises(NotAuthorized):  # proposing needs an administrator
        env.ledger.administer(env.tax_key, reg.functions.registerKey(env.outsider.address, TAX, 1, 0), "x")


def test_a_key_cannot_be_back_dated(env):
    key = Account.create()
    past = env.now() - 86400
    with pytest.raises(BackdatedKey) as refused:
        env.ledger.register_key(env.admin, key.address, TAX, kinds_mask([Kind.TAX_CERTIFICATE]), past)
    assert refused.value.error_name == "IssuerRegistryBackdatedKey"
    assert env.ledger.key_info(key.address).department == b"\0" * 32
    result = env.ledger.register_key(env.admin, key.address, TAX, kinds_mask([Kind.TAX_CERTIFICATE]))
    registered = env.ledger.w3.eth.get_block(result.block_number)["timestamp"]
    info = env.ledger.key_info(key.address)
    assert info.valid_from == registered and not info.migrated
    # a "historic" certificate signed with it before its registration does not verify
    assert not env.ledger.is_authorized(key.address, Kind.TAX_CERTIFICATE, past)


def test_the_migration_path_is_recorded_and_flagged(env):
    key, past = Account.create(), env.now() - 86400
    basis = b"\x07" * 32
    result = env.ledger.migrate_key(env.admin, key.address, TAX, kinds_mask([Kind.TAX_CERTIFICATE]), past, basis)
    (event,) = emitted(env.ledger.issuers, result, "KeyMigrated")
    assert event["validFrom"] == past and event["basis"] == basis
    info = env.ledger.key_info(key.address)
    assert info.migrated and info.valid_from == past
    assert env.ledger.is_authorized(key.address, Kind.TAX_CERTIFICATE, past)
    with pytest.raises(InvalidArgument, match="validFrom in the past"):  # not a way to register current keys
        env.ledger.migrate_key(env.admin, Account.create().address, TAX, 1, env.now() + 60, basis)
    with pytest.raises(NotAuthorized):  # and only through the administrators
        env.ledger.sender.transact(
            env.tax_key, env.ledger.issuers.functions.migrateKey(env.outsider.address, TAX, 1, past, basis), "direct"
        )


def test_admit_department_emits_and_is_listed(env):
    dept = department_id("hrss.440604")
    result = env.ledger.admit_department(env.admin, dept, "人力资源和社会保障局")
    (event,) = emitted(env.ledger.issuers, result, "DepartmentAdmitted")
    assert event["department"] == dept and event["name"] == "人力资源和社会保障局"
    assert dept in [d[0] for d in env.ledger.departments()]


def test_admit_department_refusals(env):
    with pytest.raises(NotAuthorized):
        env.ledger.admit_department(env.tax_key, department_id("rogue"), "冒名部门")
    with pytest.raises(AlreadyExists, match="tax.440604"):
        env.ledger.admit_department(env.admin, TAX, "重复")
    with pytest.raises(InvalidArgument):
        env.ledger.admit_department(env.admin, b"\0" * 32, "空")


def test_retire_department_ends_its_keys_authority(env):
    before = env.now()
    env.advance(2)
    result = env.ledger.retire_department(env.admin, SI)
    assert emitted(env.ledger.issuers, result, "DepartmentRetired")[0]["department"] == SI
    assert env.ledger.is_authorized(env.si_key.address, Kind.SOCIAL_INSURANCE_CERTIFICATE, before)
    assert not env.ledger.is_authorized(env.si_key.address, Kind.SOCIAL_INSURANCE_CERTIFICATE, env.now() + 1)
    with pytest.raises(NotAuthorized):
        env.ledger.anchor_digest(env.si_key, b"\x01" * 32, Kind.SOCIAL_INSURANCE_CERTIFICATE)
    with pytest.raises(InvalidArgument, match="retired"):
        env.ledger.retire_department(env.admin, SI)
    with pytest.raises(InvalidArgument, match="retired"):
        env.ledger.register_key(env.admin, Account.create().address, SI, 1)


def test_retire_department_refusals(env):
    with pytest.raises(NotAuthorized):
        env.ledger.retire_department(env.tax_key, TAX)
    with pytest.raises(UnknownEntry):
        env.ledger.retire_department(env.admin, department_id("never"))


def test_register_key_emits_and_answers_is_authorized(env):
    key = Account.create()
    result = env.ledger.register_key(env.admin, key.address, TAX, kinds_mask([Kind.TAX_CERTIFICATE]))
    (event,) = emitted(env.ledger.issuers, result, "KeyRegistered")
    assert event["key"] == key.address and event["department"] == TAX and event["kinds"] == 1
    info = env.ledger.key_info(key.address)
    assert info.department == TAX and info.kinds == [Kind.TAX_CERTIFICATE] and info.revoked_at == 0
    assert env.ledger.is_authorized(key.address, Kind.TAX_CERTIFICATE, info.valid_from)
    assert not env.ledger.is_authorized(key.address, Kind.SOCIAL_INSURANCE_CERTIFICATE, info.valid_from)
    assert not env.ledger.is_authorized(key.address, Kind.TAX_CERTIFICATE, info.valid_from - 1)
    assert env.ledger.issuers.functions.departmentOf(key.address).call() == TAX
    assert key.address in [k.address for k in env.ledger.keys()]


def test_register_key_refusals(env):
    key = Account.create().address
    with pytest.raises(NotAuthorized):
        env.ledger.register_key(env.tax_key, key, TAX, 1)
    with pytest.raises(AlreadyExists):
        env.ledger.register_key(env.admin, env.tax_key.address, TAX, 1)
    with pytest.raises(UnknownEntry):
        env.ledger.register_key(env.admin, key, department_id("never"), 1)
    with pytest.raises(InvalidArgument, match="at least one kind"):
        env.ledger.register_key(env.admin, key, TAX, 0)
    with pytest.raises(InvalidArgument, match="zero address"):
        env.ledger.register_key(env.admin, "0x" + "00" * 20, TAX, 1)


def test_key_before_valid_from_is_refused(env):
    key = Account.create()
    start = env.now() + 3600
    env.ledger.register_key(env.admin, key.address, TAX, kinds_mask([Kind.TAX_CERTIFICATE]), start)
    env.ledger.fund(env.admin, key.address)
    with pytest.raises(NotAuthorized, match="not authorized to anchor"):
        env.ledger.anchor_digest(key, b"\x02" * 32, Kind.TAX_CERTIFICATE)
    assert env.ledger.is_authorized(key.address, Kind.TAX_CERTIFICATE, start)
    assert not env.ledger.is_authorized(key.address, Kind.TAX_CERTIFICATE, start - 1)


def test_revoke_key_is_historical(env):
    signed_before = env.now()
    result = env.ledger.revoke_key(env.admin, env.tax_key.address)
    (event,) = emitted(env.ledger.issuers, result, "KeyRevoked")
    revoked_at = event["revokedAt"]
    assert revoked_at >= signed_before and event["department"] == TAX
    # A certificate signed before the revocation still verifies; one signed at or after it does not.
    assert env.ledger.is_authorized(env.tax_key.address, Kind.TAX_CERTIFICATE, revoked_at - 1)
    assert not env.ledger.is_authorized(env.tax_key.address, Kind.TAX_CERTIFICATE, revoked_at)
    with pytest.raises(NotAuthorized):
        env.ledger.anchor_digest(env.tax_key, b"\x03" * 32, Kind.TAX_CERTIFICATE)
    with pytest.raises(AlreadyRevoked):
        env.ledger.revoke_key(env.admin, env.tax_key.address)


def test_revoke_key_backdated_to_a_compromise(env):
    info = env.ledger.key_info(env.si_key.address)
    env.ledger.revoke_key(env.admin, env.si_key.address, info.valid_from + 1)
    assert env.ledger.is_authorized(env.si_key.address, Kind.SOCIAL_INSURANCE_CERTIFICATE, info.valid_from)
    assert not env.ledger.is_authorized(env.si_key.address, Kind.SOCIAL_INSURANCE_CERTIFICATE, info.valid_from + 1)


def test_revoke_key_refusals(env):
    with pytest.raises(NotAuthorized):
        env.ledger.revoke_key(env.tax_key, env.si_key.address)
    with pytest.raises(UnknownEntry):
        env.ledger.revoke_key(env.admin, Account.create().address)
    info = env.ledger.key_info(env.amr_key.address)
    with pytest.raises(InvalidArgument, match="precedes its validFrom"):
        env.ledger.revoke_key(env.admin, env.amr_key.address, info.valid_from - 10)


def test_inspector_role(env):
    person = Account.create().address
    result = env.ledger.grant_inspector(env.admin, person, AMR)
    assert emitted(env.ledger.issuers, result, "InspectorGranted")[0]["inspector"] == person
    assert env.ledger.is_inspector(person)
    assert env.ledger.issuers.functions.inspectorDepartment(person).call() == AMR
    with pytest.raises(AlreadyExists):
        env.ledger.grant_inspector(env.admin, person, AMR)
    result = env.ledger.revoke_inspector(env.admin, person)
    assert emitted(env.ledger.issuers, result, "InspectorRevoked")[0]["inspector"] == person
    assert not env.ledger.is_inspector(person)
    with pytest.raises(UnknownEntry):
        env.ledger.revoke_inspector(env.admin, person)


def test_inspector_refusals(env):
    with pytest.raises(NotAuthorized):
        env.ledger.grant_inspector(env.amr_key, env.outsider.address, AMR)
    with pytest.raises(NotAuthorized):
        env.ledger.revoke_inspector(env.inspector, env.inspector.address)
    with pytest.raises(UnknownEntry):
        env.ledger.grant_inspector(env.admin, env.outsider.address, department_id("never"))
    assert env.ledger.is_inspector(env.inspector.address)
    assert not env.ledger.is_inspector(env.outsider.address)


def test_is_active_key(env):
    reg = env.ledger.issuers.functions
    assert reg.isActiveKey(env.tax_key.address).call()
    assert not reg.isActiveKey(env.outsider.address).call()
    env.ledger.revoke_key(env.admin, env.tax_key.address)
    assert not reg.isActiveKey(env.tax_key.address).call()
