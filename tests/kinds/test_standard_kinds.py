"""The certificate kinds as schema files (kinds/standard/): each parses, fits QR version 13 at level Q at its
longest, and every kind is issued under its schema, its fields computed by its data adapter from what issuance sums
(and what the credit report reads), and verifies VALID through the same path as any registered kind."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from api.demo import seed_credit
from credit.grading import add_months
from kinds.schema import KindSchemaError, parse
from kinds.values import FieldValueError, check
from qr import attestation
from qr.verify import verify_text
from store.db import transaction
from store.models import Certificate
from zero_errand.certificates import CertKind
from zero_errand.issuance import Subject
from zero_errand.people import find_person
from zero_errand.seed import months_before
from zero_errand.standard_kinds import FILES, standard_kind
from zero_errand.verification import LedgerResolver, url_of

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.mark.parametrize("kind", list(CertKind), ids=lambda k: k.slug)
def test_each_kind_has_a_file_that_fits_version_13_at_level_q(kind: CertKind) -> None:
    schema = standard_kind(kind)
    assert (FILES / f"{kind.slug}.json").exists() and schema.slug == kind.slug
    assert schema.department == kind.department
    assert schema.subject == ("enterprise" if kind.for_enterprise else "person")
    assert schema.title.zh == kind.title_zh and schema.title.en == kind.title_en
    assert attestation.longest_version(schema, "https://zwfw.chancheng.gov.cn") <= 13


@SQLITE
def test_every_kind_is_issued_under_its_schema_by_its_adapter_and_verifies(platform) -> None:
    ctx, creds = platform.ctx, platform.client.creds
    months = months_before(date.today(), 24)[:12]
    numbers = []
    with transaction(ctx.sessions) as s:
        person = find_person(s, ctx.pii, creds.people[0])
        assert person is not None
        for kind in list(CertKind)[:4]:
            subject = Subject(uscc=creds.usccs[0]) if kind.for_enterprise else Subject(person_id=person.id)
            cert, _ = ctx.certificates.request(
                s,
                kind=kind,
                subject=subject,
                period_from=months[0],
                period_to=months[-1],
                actor="t",
                actor_role="admin",
            )
            numbers.append(cert.number)
        seed_credit(ctx.credit, s, creds.usccs)
    report = platform.client.post(
        "/v1/enterprise/credit/report",
        headers=platform.headers("enterprise2"),  # class C: tax arrears and a penalty on record
        json={"period_from": str(add_months(date.today(), -60)), "period_to": str(date.today())},
    )
    assert report.status_code == 201, report.text
    numbers.append(report.json()["number"])
    ctx.certificates.anchorer(max_wait=0).run_once(force=True)
    resolver = LedgerResolver(ctx.sessions, ctx.ledger)
    with ctx.sessions() as s:
        certs = {c.number: c for c in s.scalars(select(Certificate).where(Certificate.number.in_(numbers)))}
        urls = {n: url_of(c, "https://zwfw.chancheng.gov.cn") for n, c in certs.items()}
    for number in numbers:
        cert = certs[number]
        kind = CertKind.parse(cert.kind)
        schema = standard_kind(kind)
        assert cert.content["schema"] == "0x" + schema.digest.hex()
        values = {**cert.content["values"], **cert.detail["fields"]}
        assert check(schema, values) == values  # what the adapter gave is what the schema admits
        if kind is CertKind.CREDIT_REPORT:
            assert values["grade"] == "c" and values["record_count"] == len(values["records"]) >= 2
            assert values["span_to"] == str(date.today())
            assert {r["type"] for r in values["records"]} >= {"tax_arrears"} and values["basis"]
        else:
            assert (values["period_from"], values["period_to"]) == (months[0], months[-1])
            assert values["total_fen"] > 0 and values["lines"]
            assert values["months_paid"] + values["months_in_arrears"] == 12
        verdict = verify_text(urls[number], resolver)
        assert verdict.status == "VALID", verdict.checks
        assert verdict.certificate is not None and verdict.certificate["kind"] == kind.slug
        assert {f["name"] for f in verdict.certificate["fields"]} == {f.name for f in schema.fields if f.in_qr}


def test_a_table_is_checked_row_by_row_and_never_in_the_qr_code() -> None:
    lines = standard_kind(CertKind.SI_INDIVIDUAL).field("lines")
    assert lines is not None and lines.type == "table" and not lines.in_qr
    schema = standard_kind(CertKind.TAX_INDIVIDUAL)
    good = {"period_from": "2025-01", "period_to": "2025-01", "total_fen": 5, "months_paid": 1, "months_in_arrears": 0}
    row = {"period": "2025-01", "tax_type": "individual_income", "amount_fen": 5, "status": "paid"}
    assert check(schema, {**good, "lines": [row]})["lines"] == [row]
    assert (
        check(
            schema,
            {**good, "lines": '[{"period": "2025-01", "tax_type": "vat", "amount_fen": 1, "status": "arrears"}]'},
        )["lines"][0]["status"]
        == "arrears"
    )  # as the CLI gives it
    for bad, words in (
        ([{**row, "status": "late"}], "row 1, status"),
        ([row, {**row, "amount_fen": -1}], "row 2, amount_fen"),
        ([{**row, "extra": 1}], "row 1: must have exactly the columns"),
        ("not json", "as JSON"),
        ([row] * 1001, "at most 1000 rows"),
    ):
        with pytest.raises(FieldValueError) as caught:
            check(schema, {**good, "lines": bad})
        assert caught.value.field == "lines" and words in caught.value.message, caught.value.message
    source = standard_kind(CertKind.TAX_INDIVIDUAL).source
    table = source["fields"][-1]
    for change, where in (
        ({"in_qr": True}, "fields[5].in_qr"),
        ({"max_rows": 0}, "fields[5].max_rows"),
        ({"columns": []}, "fields[5].columns"),
        ({"columns": [{**table["columns"][0], "in_qr": False}]}, "fields[5].columns[0].in_qr"),
        ({"columns": [{**table["columns"][0], "type": "table"}]}, "fields[5].columns[0].type"),
        ({"columns": [table["columns"][0], table["columns"][0]]}, "fields[5].columns[1].name"),
    ):
        broken = {**source, "fields": [*source["fields"][:-1], {**table, **change}]}
        with pytest.raises(KindSchemaError) as schema_error:
            parse(broken)
        problems = schema_error.value.detail["problems"]
        assert where in [p["where"] for p in problems], (change, problems)
