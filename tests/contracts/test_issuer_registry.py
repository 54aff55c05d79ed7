"""IssuerRegistry behaviour: the admin admits departments, registers and revokes keys, names inspectors."""

from __future__ import annotations

import pytest
from eth_account import Account

from ledger.errors import AlreadyExists, AlreadyRevoked, InvalidArgument, NotAuthorized, UnknownEntry
from ledger.kinds import Kind, department_id, kinds_mask
from tests.conftest import AMR, SI, TAX, emitted


def test_admin_is_the_deployer_and_transfers_in_two_steps(env):
    reg = env.ledger.issuers
    assert reg.functions.admin().call() == env.admin.address
    result = env.ledger.sender.transact(env.admin, reg.functions.transferAdmin(env.outsider.address), "transfer")
    assert emitted(reg, result, "AdminTransferStarted")[0]["newAdmin"] == env.outsider.address
    assert reg.functions.admin().call() == env.admin.address  # not yet
    with pytest.raises(NotAuthorized):
        env.ledger.sender.transact(env.inspector, reg.functions.acceptAdmin(), "accept")
    result = env.ledger.sender.transact(env.outsider, reg.functions.acceptAdmin(), "accept")
    assert emitted(reg, result, "AdminTransferred")[0]["newAdmin"] == env.outsider.address
    assert reg.functions.admin().call() == env.outsider.address
    with pytest.raises(NotAuthorized):  # the old admin lost the role
        env.ledger.admit_department(env.admin, department_id("new"), "新部门")


def test_transfer_admin_refused_to_others(env):
    with pytest.raises(NotAuthorized, match="not the district admin"):
        env.ledger.sender.transact(
            env.tax_key, env.ledger.issuers.functions.transferAdmin(env.tax_key.address), "transfer"
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
