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
from ledger.sm2_address import sm2_key_address, sm2_key_id
from tests.conftest import AMR, SI, TAX, emitted

# sm2p256v1 (GB/T 32918.5): y^2 = x^3 + a x + b mod p, a = p - 3.
SM2_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
SM2_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
# The public key of GB/T 32918.5 Annex A, and the curve's generator G: two published points X || Y.
SM2_ANNEX_A = bytes.fromhex(
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
SM2_G = bytes.fromhex(
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"
)
# Two curve points whose key ids (4 bytes: 2^32 values) collide, found offline by the birthday bound rather than by a
# 2^32 search for a given id: x = 1, 2, 3, ... with both roots y and p - y, until two ids met (after 58,883 points).
SM2_ID_TWINS = (
    bytes.fromhex(
        "0000000000000000000000000000000000000000000000000000000000000d01"
        "422c0c9da999e4d69c530ea73a728622ea757938c2e253cdc32c56f1605f524a"
    ),
    bytes.fromhex(
        "000000000000000000000000000000000000000000000000000000000000e6a0"
        "3de9e940425afacdac119455d5f35acb2af18bae8c4e7ed02e8531b7ec27cefc"
    ),
)

# A point with y = 1, found offline (the root of x^3 - 3x + b - 1 by gcd with x^p - x): y + p fits in 256 bits.
SM2_Y_ONE = bytes.fromhex("9c17043effe1a805a74a9a5e70b9d659705d3242094a566dc016f49311178d1f") + (1).to_bytes(32, "big")


def sm2_point(public_key: bytes) -> tuple[int, int]:
    return int.from_bytes(public_key[:32], "big"), int.from_bytes(public_key[32:], "big")


def sm2_key(x: int, y: int) -> bytes:
    return x.to_bytes(32, "big") + y.to_bytes(32, "big")


def on_sm2_curve(x: int, y: int) -> bool:
    return (y * y - (x**3 - 3 * x + SM2_B)) % SM2_P == 0


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


# -- SM2 keys (issue 20): registered by public key, known everywhere else by their derived address ----------------


def test_an_sm2_key_is_registered_through_the_administrators_and_read_back(env):
    reg = env.ledger.issuers
    mask = kinds_mask([Kind.TAX_CERTIFICATE, Kind.CREDIT_RECORD])
    address, key_id = sm2_key_address(SM2_ANNEX_A), sm2_key_id(SM2_ANNEX_A)
    assert reg.functions.sm2KeyAddress(SM2_ANNEX_A).call() == address  # the contract derives what Python does
    assert key_id == bytes.fromhex(address[2:10])
    result = env.ledger.register_sm2_key(env.admin, SM2_ANNEX_A, TAX, mask)
    assert result.executed
    registered = env.ledger.w3.eth.get_block(result.block_number)["timestamp"]
    (event,) = emitted(reg, result, "KeyRegistered")
    assert event["key"] == address and event["department"] == TAX and event["validFrom"] == registered
    (event,) = emitted(reg, result, "Sm2KeyRegistered")
    assert event["key"] == address and event["id"] == key_id and event["publicKey"] == SM2_ANNEX_A
    info = env.ledger.key_info(address)
    assert info.department == TAX and info.kinds == [Kind.TAX_CERTIFICATE, Kind.CREDIT_RECORD]
    assert (info.valid_from, info.revoked_at, info.migrated) == (registered, 0, False)
    assert info.public_key == SM2_ANNEX_A and info.suite == "sm2"
    assert env.ledger.sm2_public_key(address) == SM2_ANNEX_A
    assert reg.functions.sm2KeyById(key_id).call() == address
    assert env.ledger.is_authorized(address, Kind.TAX_CERTIFICATE, registered)
    assert env.ledger.is_authorized(address, Kind.CREDIT_RECORD, registered)
    assert not env.ledger.is_authorized(address, Kind.SOCIAL_INSURANCE_CERTIFICATE, registered)
    assert not env.ledger.is_authorized(address, Kind.TAX_CERTIFICATE, registered - 1)
    assert reg.functions.departmentOf(address).call() == TAX and reg.functions.isActiveKey(address).call()
    listed = {k.address: k for k in env.ledger.keys()}
    assert listed[address].suite == "sm2" and listed[env.tax_key.address].suite == "secp256k1"
    # a secp256k1 key, and an address or id nobody registered, have no SM2 public key
    assert (
        env.ledger.sm2_public_key(env.tax_key.address) == b""
        and env.ledger.key_info(env.tax_key.address).public_key == b""
    )
    assert env.ledger.sm2_public_key(sm2_key_address(SM2_G)) == b""
    assert reg.functions.sm2KeyById(sm2_key_id(SM2_G)).call() == "0x" + "00" * 20


def test_an_sm2_key_is_registered_only_through_the_administrators(env):
    reg = env.ledger.issuers
    for caller in (env.admin, env.tax_key, env.outsider):
        with pytest.raises(NotAuthorized) as refused:
            env.ledger.sender.transact(caller, reg.functions.registerSm2Key(SM2_ANNEX_A, TAX, 1, 0), "direct")
        assert refused.value.error_name == "IssuerRegistryUnauthorized"
    with pytest.raises(NotAuthorized) as refused:  # proposing needs an administrator
        env.ledger.register_sm2_key(env.tax_key, SM2_ANNEX_A, TAX, 1)
    assert refused.value.error_name == "IssuerRegistryUnauthorized"
    assert env.ledger.key_info(sm2_key_address(SM2_ANNEX_A)).department == b"\0" * 32


def test_an_sm2_key_must_be_64_bytes_of_a_point_on_the_curve(env):
    x, y = sm2_point(SM2_G)
    small_x, its_y = sm2_point(SM2_ID_TWINS[0])  # x + p still fits in 256 bits
    its_x, small_y = sm2_point(SM2_Y_ONE)  # and so does y + p
    # Congruent coordinates satisfy the equation mod p: only the x < p, y < p check refuses them.
    assert on_sm2_curve(small_x + SM2_P, its_y) and on_sm2_curve(its_x, small_y + SM2_P)
    refused_keys = {
        "63 bytes": SM2_G[:63],
        "65 bytes (SEC 1's 04 prefix)": b"\x04" + SM2_G,
        "empty": b"",
        "y + 1, off the curve": sm2_key(x, y + 1),
        "(0, 0), the usual encoding of the point at infinity": b"\0" * 64,
        "x = p": sm2_key(SM2_P, y),
        "x >= p, congruent to a point's x": sm2_key(small_x + SM2_P, its_y),
        "y >= p, congruent to a point's y": sm2_key(its_x, small_y + SM2_P),
    }
    for what, public_key in refused_keys.items():
        with pytest.raises(InvalidArgument, match="sm2p256v1") as refused:
            env.ledger.register_sm2_key(env.admin, public_key, TAX, 1)
        assert refused.value.error_name == "IssuerRegistryInvalidPublicKey", what
    assert [k.suite for k in env.ledger.keys()] == ["secp256k1"] * 3  # none of them was registered
    for public_key in (SM2_ID_TWINS[0], SM2_Y_ONE):  # the reduced points themselves are valid keys
        assert on_sm2_curve(*sm2_point(public_key))
        env.ledger.register_sm2_key(env.admin, public_key, TAX, 1)
        assert env.ledger.sm2_public_key(sm2_key_address(public_key)) == public_key


def test_an_sm2_key_id_names_one_key(env):
    reg = env.ledger.issuers
    env.ledger.register_sm2_key(env.admin, SM2_ANNEX_A, TAX, 1)
    with pytest.raises(AlreadyExists) as refused:  # the same key again: its id is its own, the key exists
        env.ledger.register_sm2_key(env.admin, SM2_ANNEX_A, SI, 1)
    assert refused.value.error_name == "IssuerRegistryKeyExists"
    # Two different keys whose ids collide (see SM2_ID_TWINS): the second would make QR payloads ambiguous.
    first, second = SM2_ID_TWINS
    assert first != second and sm2_key_id(first) == sm2_key_id(second)
    assert sm2_key_address(first) != sm2_key_address(second)
    env.ledger.register_sm2_key(env.admin, first, TAX, 1)
    with pytest.raises(AlreadyExists) as refused:
        env.ledger.register_sm2_key(env.admin, second, SI, 1)
    assert refused.value.error_name == "IssuerRegistryKeyIdTaken"
    args = refused.value.detail["args"]
    assert args["id"] == "0x" + sm2_key_id(first).hex() and args["key"].lower() == sm2_key_address(first).lower()
    assert reg.functions.sm2KeyById(sm2_key_id(first)).call() == sm2_key_address(first)
    assert env.ledger.key_info(sm2_key_address(second)).department == b"\0" * 32
    # a secp256k1 registration under an SM2 key's address is refused like any duplicate
    with pytest.raises(AlreadyExists) as refused:
        env.ledger.register_key(env.admin, sm2_key_address(SM2_ANNEX_A), TAX, 1)
    assert refused.value.error_name == "IssuerRegistryKeyExists"


def test_an_sm2_key_cannot_be_back_dated(env):
    past = env.now() - 86400
    with pytest.raises(BackdatedKey) as refused:
        env.ledger.register_sm2_key(env.admin, SM2_ANNEX_A, TAX, kinds_mask([Kind.TAX_CERTIFICATE]), past)
    assert refused.value.error_name == "IssuerRegistryBackdatedKey"
    assert refused.value.detail["args"]["key"].lower() == sm2_key_address(SM2_ANNEX_A).lower()
    assert env.ledger.sm2_public_key(sm2_key_address(SM2_ANNEX_A)) == b""
    assert env.ledger.issuers.functions.sm2KeyById(sm2_key_id(SM2_ANNEX_A)).call() == "0x" + "00" * 20
    later = env.now() + 3600  # a later start is allowed, as for registerKey
    env.ledger.register_sm2_key(env.admin, SM2_ANNEX_A, TAX, kinds_mask([Kind.TAX_CERTIFICATE]), later)
    address = sm2_key_address(SM2_ANNEX_A)
    assert env.ledger.key_info(address).valid_from == later
    assert env.ledger.is_authorized(address, Kind.TAX_CERTIFICATE, later)
    assert not env.ledger.is_authorized(address, Kind.TAX_CERTIFICATE, later - 1)


def test_an_sm2_key_is_revoked_like_any_key(env):
    address = sm2_key_address(SM2_G)
    env.ledger.register_sm2_key(env.admin, SM2_G, AMR, kinds_mask([Kind.INSPECTION]))
    before = env.ledger.key_info(address).valid_from
    env.advance(2)
    with pytest.raises(NotAuthorized):  # revocation too goes through the administrators
        env.ledger.revoke_key(env.amr_key, address)
    result = env.ledger.revoke_key(env.admin, address)
    (event,) = emitted(env.ledger.issuers, result, "KeyRevoked")
    assert event["key"] == address and event["department"] == AMR
    revoked_at = event["revokedAt"]
    info = env.ledger.key_info(address)
    assert info.revoked_at == revoked_at and info.public_key == SM2_G  # the public key stays: old signatures verify
    assert env.ledger.is_authorized(address, Kind.INSPECTION, before)
    assert not env.ledger.is_authorized(address, Kind.INSPECTION, revoked_at)
    assert not env.ledger.issuers.functions.isActiveKey(address).call()
    with pytest.raises(AlreadyRevoked):
        env.ledger.revoke_key(env.admin, address)
    with pytest.raises(AlreadyExists):  # and a revoked key is not registered again
        env.ledger.register_sm2_key(env.admin, SM2_G, AMR, kinds_mask([Kind.INSPECTION]))


def test_an_sm2_key_has_the_recorded_migration_path_only_into_the_past(env):
    past, basis, address = env.now() - 86400, b"\x09" * 32, sm2_key_address(SM2_ANNEX_A)
    mask = kinds_mask([Kind.TAX_CERTIFICATE])
    with pytest.raises(InvalidArgument, match="validFrom in the past"):  # not a way to register current keys
        env.ledger.migrate_sm2_key(env.admin, SM2_ANNEX_A, TAX, mask, env.now() + 60, basis)
    with pytest.raises(NotAuthorized):  # only through the administrators
        call = env.ledger.issuers.functions.migrateSm2Key(SM2_ANNEX_A, TAX, mask, past, basis)
        env.ledger.sender.transact(env.tax_key, call, "direct")
    with pytest.raises(InvalidArgument):  # a point off the curve is refused on this path too
        env.ledger.migrate_sm2_key(env.admin, SM2_ANNEX_A[:63] + b"\x00", TAX, mask, past, basis)
    result = env.ledger.migrate_sm2_key(env.admin, SM2_ANNEX_A, TAX, mask, past, basis)
    (event,) = emitted(env.ledger.issuers, result, "KeyMigrated")
    assert event["key"] == address and event["validFrom"] == past and event["basis"] == basis
    info = env.ledger.key_info(address)
    assert info.migrated and info.valid_from == past and info.public_key == SM2_ANNEX_A and info.suite == "sm2"
    assert env.ledger.is_authorized(address, Kind.TAX_CERTIFICATE, past)
