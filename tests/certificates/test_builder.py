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


def test_a_failure_after_the_row_is_written_leaves_no_certificate(platform, monkeypatch) -> None:
    """The certificate row, its audit entry and its webhook event commit together or not at all (SQLite's driver
    opens no transaction before a SAVEPOINT: without `store.db.begin_write` the RELEASE committed the row alone)."""
    from sqlalchemy import func, select

    from store import audit
    from store.db import transaction
    from store.models import AuditEntry, Certificate
    from zero_errand.issuance import Subject

    def count(model) -> int:
        with platform.ctx.sessions() as s:
            return s.scalar(select(func.count()).select_from(model))

    before = (count(Certificate), count(AuditEntry))

    def broken_audit(*args, **kwargs):
        raise RuntimeError("the disk filled up while writing the audit entry")

    monkeypatch.setattr(audit, "append_many", broken_audit)  # what issuance appends through
    service = platform.ctx.require_certificates()
    with pytest.raises(RuntimeError, match="disk filled up"), transaction(platform.ctx.sessions) as session:
        service.request(
            session,
            kind=CertKind.TAX_ENTERPRISE,
            subject=Subject(uscc=platform.usccs[0]),
            period_from="2025-07",
            period_to="2025-09",
            actor="client:x",
            actor_role="enterprise",
        )
    assert (count(Certificate), count(AuditEntry)) == before
