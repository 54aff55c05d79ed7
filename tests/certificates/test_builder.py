"""The one certificate builder signs each kind with its own department's key, and says so when this host lacks it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from eth_account import Account

import errors
from credit.report import KIND as REPORT_KIND
from zero_errand.builder import CertificateBuilder
from zero_errand.certificates import CertKind, Domain

DOMAIN = Domain(1, "0x" + "11" * 20)


def test_each_kind_is_signed_with_its_departments_key() -> None:
    tax, amr = Account.create(), Account.create()
    builder = CertificateBuilder({"tax.440604": tax, "amr.440604": amr}, DOMAIN, lambda address: 0)
    assert builder.key(CertKind.TAX_ENTERPRISE) is tax
    assert builder.key(REPORT_KIND) is builder.key(CertKind.CREDIT_REPORT) is amr
    with pytest.raises(errors.Unavailable, match="si.440604"):
        builder.key(CertKind.SI_INDIVIDUAL)


def test_a_certificate_is_never_stamped_before_its_keys_validity() -> None:
    amr = Account.create()
    valid_from = int(datetime(2030, 1, 1, tzinfo=UTC).timestamp())
    builder = CertificateBuilder({"amr.440604": amr}, DOMAIN, lambda address: valid_from)
    assert builder.issue_time(CertKind.CREDIT_REPORT, datetime(2029, 12, 31, tzinfo=UTC)).timestamp() == valid_from
    later = datetime(2030, 2, 1, tzinfo=UTC)
    assert builder.issue_time(CertKind.CREDIT_REPORT, later) == later
