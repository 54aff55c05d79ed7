"""Issue 21: the credit report in place of compliance certificates (信用代证) is signed whole. Version 2 of its schema
(kinds/standard/credit-report.v2.json) carries the tax bureau's grade at the span's end in the QR code beside the
risk class, and in the salted detail, whose hash the certificate signs, the categories with their counts, a category
and the 已修复 marker on every record, and the list entries that held during the span. A report made now is issued
under version 2 and verifies VALID; changing a category in its detail breaks the signed hash; a report issued under
version 1 before the upgrade keeps verifying after it, anchored before the upgrade or after."""

from __future__ import annotations

import copy
import io
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from api.demo import seed
from api.provisioning import provisioned_context
from api.settings import Settings
from credit import workflows
from credit.grading import RECORD_TYPES, TYPE_EN, TYPE_ZH, add_months
from credit.report import CATEGORIES, make_report
from credit.tax_credit import GRADES as TAX_GRADES
from credit.tax_credit import LABEL_ZH, record_tax_grade
from kinds import eip712
from qr import attestation
from qr.verify import verify_text
from store.db import transaction
from store.models import Certificate, KindSchemaRecord
from tests.credit.test_credit_api import TODAY
from tests.platform_fixtures import clear_keystore_password
from zero_errand import standard_kinds
from zero_errand.certificates import CertKind
from zero_errand.pdf import render
from zero_errand.standard_kinds import standard_by_digest, standard_kind, standard_schemas, standard_versions
from zero_errand.verification import LedgerResolver, url_of

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
URL = "https://zwfw.chancheng.gov.cn"
REPORT = CertKind.CREDIT_REPORT
V1, V2 = standard_kind(REPORT, 1), standard_kind(REPORT, 2)
# Version 1 as it was issued under: its file is never edited (a certificate names its schema by this digest).
V1_DIGEST = "0x72bbd672c4a8d84d5b613106c941c5831240efc5ef19a75ea00bc5712026c668"


def _codes(spec) -> dict[str, tuple[str, str]]:  # noqa: ANN001 - a kinds.schema.FieldSpec
    return {code: (label.zh, label.en) for code, label in spec.values}


def _column(field: str, name: str):  # noqa: ANN202
    table = V2.field(field)
    assert table is not None
    return next(c for c in table.columns if c.name == name)


def test_version_2_is_the_latest_and_its_codes_are_the_credit_rules() -> None:
    assert [s.version for s in standard_versions(REPORT)] == [1, 2] and standard_kind(REPORT) is V2
    assert "0x" + V1.digest.hex() == V1_DIGEST
    assert "0x" + V1.digest.hex() in standard_by_digest() and "0x" + V2.digest.hex() in standard_by_digest()
    # every version of every kind, each kind's oldest first (the chain refuses a version not above the latest)
    assert [(s.slug, s.version) for s in standard_schemas() if s.slug == REPORT.slug] == [
        (REPORT.slug, 1),
        (REPORT.slug, 2),
    ]
    assert {f.name for f in V1.fields} < {f.name for f in V2.fields}  # version 2 adds, removes nothing
    assert [f.name for f in V2.fields if f.in_qr] == [
        *(f.name for f in V1.fields if f.in_qr),
        "tax_grade",
    ]
    tax = V2.field("tax_grade")
    assert tax is not None and set(_codes(tax)) == {g.lower() for g in TAX_GRADES} | {"none"}
    assert _codes(tax)["m"][0] in LABEL_ZH["M"]
    categories = {key: (zh, en) for key, zh, en in CATEGORIES}
    assert _codes(_column("categories", "category")) == categories == _codes(_column("records", "category"))
    assert _codes(_column("records", "type")) == {t: (TYPE_ZH[t], TYPE_EN[t]) for t in RECORD_TYPES}
    assert _column("records", "repaired").label.zh == "已修复"
    for schema in standard_versions(REPORT):  # each version fits QR version 13 at level Q, SM2 included
        assert attestation.longest_version(schema, URL) <= 13


def _history(platform, uscc: str) -> None:
    """A penalty repaired, a tax grade B for last year, a black-list entry that ended inside the span and a red-list
    entry still in force."""
    credit = platform.ctx.credit
    with transaction(platform.ctx.sessions) as s:
        arrears = workflows.record(
            credit,
            s,
            uscc=uscc,
            type="tax_arrears",
            department="tax.440604",
            decided_on=TODAY - timedelta(days=30),
            summary="欠缴印花税",
            reference="禅税通〔2026〕4号",
            actor="user:tax",
        )
        app = workflows.apply_repair(
            credit,
            s,
            uscc=uscc,
            record_uid=arrears.uid,
            statement="申请信用修复",
            corrected="已补缴税款及滞纳金",
            promise=True,
            actor="client:ent",
        )
        workflows.review_repair(
            credit, s, application_id=app.id, approve=True, department="tax.440604", note="已核实", actor="user:tax"
        )
        record_tax_grade(
            credit,
            s,
            uscc=uscc,
            year=TODAY.year - 1,
            grade="B",
            department="tax.440604",
            decided_on=TODAY - timedelta(days=10),
            actor="user:tax",
        )
        for name, start, end in (
            ("black", TODAY - timedelta(days=300), TODAY - timedelta(days=200)),
            ("red", TODAY - timedelta(days=100), None),
        ):
            workflows.list_entry(
                credit,
                s,
                uscc=uscc,
                list_name=name,
                department="amr.440604",
                start_on=start,
                end_on=end,
                reason="严重违法失信" if name == "black" else "守合同重信用",
                reference=f"禅市监〔2025〕{len(name)}号",
                actor="user:amr",
            )


@SQLITE
def test_a_report_made_now_signs_its_categories_tax_grade_and_list_entries(platform) -> None:
    uscc = platform.usccs[0]
    _history(platform, uscc)
    made = platform.client.post(
        "/v1/enterprise/credit/report",
        headers=platform.headers("enterprise"),
        json={"period_from": str(add_months(TODAY, -12)), "period_to": str(TODAY)},
    )
    assert made.status_code == 201, made.text
    report = made.json()["report"]
    assert report["tax_grade"] == "b" and "B 级" in report["tax_grade_basis"]
    assert {c["category"] for c in report["categories"]} == {key for key, _, _ in CATEGORIES}
    ctx = platform.ctx
    ctx.certificates.anchorer(max_wait=0).run_once(force=True)
    with ctx.sessions() as s:
        cert = s.scalars(select(Certificate).where(Certificate.number == made.json()["number"])).one()
        url = url_of(cert, URL)
        pdf = render(cert, URL)
    assert cert.version == 2 and cert.content["schema"] == "0x" + V2.digest.hex()
    values, fields = cert.content["values"], cert.detail["fields"]
    assert values["tax_grade"] == "b" and values["grade"] == "a"  # in the QR code, both as of the span's end
    assert values["record_count"] == len(fields["records"])
    sections = {c["category"]: c for c in fields["categories"]}
    assert sections["arrears"]["items"] == 1 and sections["serious_dishonesty"]["items"] == 1
    assert sections["coercive_measures"] == {**sections["coercive_measures"], "items": 0, "kept": True}
    (arrears,) = [r for r in fields["records"] if r["type"] == "tax_arrears"]
    assert arrears["category"] == "arrears" and arrears["repaired"] is True
    black, red = fields["list_entries"]
    assert (black["list"], black["in_force_at_end"], black["end_on"]) == ("black", False, str(TODAY - timedelta(200)))
    assert (red["list"], red["in_force_at_end"], red["end_on"]) == ("red", True, "—")
    assert fields["lists"] == "红名单"  # the lists at the span's end

    # it verifies, and a verifier reads the tax grade in Chinese and English from the schema (page and `zel verify`)
    verdict = verify_text(url, LedgerResolver(ctx.sessions, ctx.ledger))
    assert verdict.status == "VALID", verdict.checks
    assert verdict.certificate is not None and verdict.certificate["kind_version"] == 2
    shown = {f["name"]: f for f in verdict.certificate["fields"]}
    assert (shown["tax_grade"]["label_zh"], shown["tax_grade"]["value_zh"]) == ("纳税缴费信用级别（报告期末）", "B 级")
    assert (shown["tax_grade"]["label_en"], shown["tax_grade"]["value_en"]) == (
        "Tax credit grade at the span's end",
        "Grade B",
    )
    assert shown["grade"]["label_zh"] == "信用风险分类（报告期末）" and shown["grade"]["value_en"] == "A (trustworthy)"
    assert verdict.certificate["has_detail"] is True

    # the holder's PDF lays the report out by the schema: the categories, 已修复, the span's list entries
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for shown_text in (
        "纳税缴费信用级别（报告期末）",
        "B 级 Grade B",
        "信息类别 Categories（7）",
        "行政强制措施信息  0  是",  # kept by the district (a record type since grading-v2), none here
    ):
        assert shown_text in text, (shown_text, text)
    assert "决定日期  信息类别  记录类型  认定部门  内容  已修复" in text and "报告期内名单信息" in text
    assert "严重失信主体名单（黑名单）  " + str(TODAY - timedelta(300)) in text

    # the detail the holder shows is the signed one; a category changed in it is not
    signed = cert.content["header"]["detailHash"]
    assert eip712.detail_matches(V2, cert.detail, signed)
    for path in (("records", "category", "commendations"), ("categories", "items", 5), ("list_entries", "list", "red")):
        table, column, value = path
        altered = copy.deepcopy(cert.detail)
        altered["fields"][table][0][column] = value
        assert not eip712.detail_matches(V2, altered, signed), path
    altered = copy.deepcopy(cert.detail)
    del altered["fields"]["categories"]  # a version-1 shape under a version-2 signature
    assert not eip712.detail_matches(V2, altered, signed)


@SQLITE
def test_without_a_tax_grade_the_report_says_none(platform) -> None:
    made = platform.client.post(
        "/v1/enterprise/credit/report",
        headers=platform.headers("enterprise2"),
        json={"period_from": str(add_months(TODAY, -60)), "period_to": str(TODAY)},
    )
    assert made.status_code == 201, made.text
    report = made.json()["report"]
    assert report["tax_grade"] == "none" and "未评定" in report["tax_grade_basis"]
    assert report["list_entries"] == [] and all(r["category"] for r in report["records"])


def _report(ctx, uscc: str) -> str:  # noqa: ANN001 - api.context.AppContext
    with transaction(ctx.sessions) as s:
        cert = make_report(
            ctx.credit,
            s,
            uscc=uscc,
            period_from=add_months(date.today(), -12),
            period_to=date.today(),
            builder=ctx.certificates.builder,
            actor=f"client:{uscc}",
        )
        return cert.number


def test_a_report_issued_under_version_1_verifies_after_the_upgrade(tmp_path, monkeypatch) -> None:
    """A deployment provisioned and issuing before version 2 existed (the code of that day: version 1 only), then
    upgraded: `zel issuer provision` registers version 2, the service restarts and issues under it."""
    clear_keystore_password(monkeypatch)
    settings = Settings(data_dir=tmp_path / "data")
    shipped = standard_versions
    with monkeypatch.context() as before:
        before.setattr(standard_kinds, "standard_versions", lambda k: (V1,) if k is REPORT else shipped(k))
        standard_by_digest.cache_clear()
        ctx = provisioned_context(settings)
        try:
            with transaction(ctx.sessions) as s:
                uscc = seed(s, ctx.pii).usccs[0]
            anchored_before = _report(ctx, uscc)
            ctx.certificates.anchorer(max_wait=0).run_once(force=True)
            pending = _report(ctx, uscc)  # still waiting for its batch when the service stops
        finally:
            ctx.ledger.close()
            ctx.engine.dispose()
    standard_by_digest.cache_clear()

    ctx = provisioned_context(settings)  # the upgrade: version 2 registered after version 1
    try:
        upgraded = _report(ctx, uscc)
        ctx.certificates.anchorer(max_wait=0).run_once(force=True)
        slugs = [(s.slug, s.version) for s in ctx.ledger.schemas() if s.slug == REPORT.slug]
        assert slugs == [(REPORT.slug, 1), (REPORT.slug, 2)]
        resolver = LedgerResolver(ctx.sessions, ctx.ledger)
        with ctx.sessions() as s:
            kept = set(s.scalars(select(KindSchemaRecord.version).where(KindSchemaRecord.slug == REPORT.slug)))
            certs = {c.number: c for c in s.scalars(select(Certificate).where(Certificate.kind == REPORT.slug))}
            urls = {n: url_of(c, URL) for n, c in certs.items()}
        assert kept == {1, 2}
        for number, version in ((anchored_before, 1), (pending, 1), (upgraded, 2)):
            cert = certs[number]
            assert cert.version == version and cert.state == "ANCHORED", (number, cert.state)
            schema = V1 if version == 1 else V2
            assert cert.content["schema"] == "0x" + schema.digest.hex()
            assert eip712.detail_matches(schema, cert.detail, cert.content["header"]["detailHash"])
            verdict = verify_text(urls[number], resolver)
            assert verdict.status == "VALID", (number, verdict.checks)
            assert verdict.certificate is not None and verdict.certificate["kind_version"] == version
        assert "tax_grade" not in certs[anchored_before].content["values"]
        assert "categories" not in certs[pending].detail["fields"]
    finally:
        ctx.ledger.close()
        ctx.engine.dispose()
