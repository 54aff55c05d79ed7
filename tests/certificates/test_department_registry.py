"""The department registry (ledger.departments): each department looked up by what it does, by id and by the byte
the QR payload carries; the tables derived from it (payload codes, certificate kinds, provisioning) agree."""

from __future__ import annotations

import pytest

from credit import draws, inspections
from credit import ledger as credit_ledger
from credit.codes_qr import CODE_DEPARTMENT
from ledger import departments
from ledger.departments import (
    DATA_ADMINISTRATION,
    DEPARTMENTS,
    MARKET_SUPERVISION,
    SOCIAL_INSURANCE,
    TAX,
    UnknownDepartment,
    by_code,
    by_id,
    for_kind,
    for_scope,
    with_kind,
)
from ledger.kinds import CreditScope, Kind
from qr import payload
from zero_errand import departments as provisioning
from zero_errand.certificates import CertKind


def test_each_kind_has_its_issuing_department() -> None:
    assert for_kind(Kind.TAX_CERTIFICATE) is TAX
    assert for_kind(Kind.SOCIAL_INSURANCE_CERTIFICATE) is SOCIAL_INSURANCE
    for kind in (Kind.INSPECTION, Kind.ENTERPRISE_CODE, Kind.CREDIT_REPORT, Kind.RANDOM_DRAW):
        assert for_kind(kind) is MARKET_SUPERVISION
    assert for_kind(Kind.AUDIT_LOG) is DATA_ADMINISTRATION
    assert for_scope(CreditScope.GRADE) is for_scope(CreditScope.RED_LIST) is MARKET_SUPERVISION


def test_a_kind_several_departments_sign_must_be_named() -> None:
    """Every department keeps its own credit records: asking for "the" one is a mistake, not a silent pick."""
    assert with_kind(Kind.CREDIT_RECORD) == (TAX, SOCIAL_INSURANCE, MARKET_SUPERVISION)
    with pytest.raises(UnknownDepartment):
        for_kind(Kind.CREDIT_RECORD)
    with pytest.raises(UnknownDepartment):
        for_scope(CreditScope.REPAIR)


def test_lookup_by_id_and_by_payload_code() -> None:
    for department in DEPARTMENTS:
        assert by_id(department.id) is department
    assert [by_code(c).id for c in (1, 2, 3)] == ["tax.440604", "si.440604", "amr.440604"]
    with pytest.raises(UnknownDepartment):
        by_id("xyz.440604")
    with pytest.raises(UnknownDepartment):
        by_code(0)  # the data office signs nothing a QR code carries
    assert len({d.id for d in DEPARTMENTS}) == len({d.key_name for d in DEPARTMENTS}) == len(DEPARTMENTS)


def test_the_derived_tables_follow_the_registry() -> None:
    """The payload's byte table, the certificate kinds, the credit constants and provisioning read the one
    registry: the values the chain and printed QR codes already carry do not move."""
    assert payload.DEPARTMENTS == {1: "tax.440604", 2: "si.440604", 3: "amr.440604"}
    assert {k: k.department for k in CertKind} == {
        CertKind.TAX_INDIVIDUAL: "tax.440604",
        CertKind.TAX_ENTERPRISE: "tax.440604",
        CertKind.SI_INDIVIDUAL: "si.440604",
        CertKind.SI_ENTERPRISE: "si.440604",
        CertKind.CREDIT_REPORT: "amr.440604",
    }
    assert inspections.DEPARTMENTS == ("tax.440604", "si.440604", "amr.440604")
    amr = MARKET_SUPERVISION.id
    assert inspections.ANCHORING_DEPARTMENT == draws.DRAW_DEPARTMENT == credit_ledger.GRADE_DEPARTMENT == amr
    assert CODE_DEPARTMENT == amr
    assert provisioning.AUDIT_DEPARTMENT == "dsj.440604"
    assert list(provisioning.DEPARTMENTS) == [d.id for d in departments.DEPARTMENTS]
    assert provisioning.credit_scopes() == {d.id: d.credit_scopes for d in DEPARTMENTS}
