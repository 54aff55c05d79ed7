"""The credit report PDF reads like the department's: as many lines as it counts records, an inspection once, results
and record types in Chinese; issuing one tells the enterprise's webhooks like any certificate. As a report in place
of compliance certificates (信用代证) it gives the grades at the end of the chosen span, marks repaired items 已修复
and lists the black-list entries that held during the span, ended ones included."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from api.demo import seed_credit
from credit import workflows
from credit.grading import RECORD_TYPES, TYPE_ZH, add_months, load_policy
from credit.inspections import RESULTS
from credit.report import ReportDraft, draft_report
from credit.tax_credit import record_tax_grade
from store.db import transaction
from store.models import Certificate, WebhookDelivery
from tests.credit.test_credit_api import TODAY
from zero_errand.certificates import CertKind
from zero_errand.pdf import render
from zero_errand.standard_kinds import values_of

BASE = load_policy().base

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the PDF does not depend on the store
DATED = re.compile(r"^\d{4}-\d{2}-\d{2}  ")


def _report(platform, who: str) -> tuple[dict, str]:
    """The signed-in enterprise's report over five years through the API, and its PDF's text."""
    r = platform.client.post(
        "/v1/enterprise/credit/report",
        headers=platform.headers(who),
        json={"period_from": str(add_months(TODAY, -60)), "period_to": str(TODAY)},
    )
    assert r.status_code == 201, r.text
    with platform.ctx.sessions() as s:
        cert = s.scalars(select(Certificate).where(Certificate.number == r.json()["number"])).one()
        pdf = render(cert, platform.ctx.settings.public_url)
    return r.json(), "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _detail_lines(text: str) -> list[str]:
    """The record lines under 明细 (a wrapped line's continuation is part of its record)."""
    section = text.split("明细 Details", 1)[1].split("评分依据", 1)[0]
    return [line for line in section.splitlines() if DATED.match(line.strip())]


@SQLITE
def test_the_report_counts_its_lines_lists_an_inspection_once_in_chinese(platform) -> None:
    usccs = platform.client.creds.usccs
    with transaction(platform.ctx.sessions) as s:
        seed_credit(platform.ctx.credit, s, usccs)
    # the first enterprise: class A, inspected jointly last year; the second: class C (tax arrears, a penalty)
    report, text = _report(platform, "enterprise")
    records = report["report"]["records"]  # the schema's table (kinds/standard/credit-report.json)
    lines = _detail_lines(text)
    shown = re.search(r"期间信用记录数 Credit records in the span\s*\n?\s*(\d+)", text)
    assert shown and int(shown.group(1)) == len(records) == len(lines) == report["report"]["record_count"] == 2, text
    assert sum("检查合格" in line for line in lines) == 1 and "未发现问题" in text  # the visit, once
    visit = next(r for r in records if r["type"] == "inspection_pass")
    assert "联合检查" in visit["summary"] and visit["repaired"] is False and "inspections" not in report["report"]
    assert "联合检查" in text and "营业执照公示 合格" in text.replace("\n", "")
    assert "国家税务总局佛山市禅城区税务局" in text.replace("\n", "").replace(" ", "")

    _, text_c = _report(platform, "enterprise2")
    assert len(_detail_lines(text_c)) == 2
    assert TYPE_ZH["tax_arrears"] in text_c and TYPE_ZH["penalty_general"] in text_c and "评分依据" in text_c
    for english in (*RECORD_TYPES, *RESULTS, "UTC "):
        assert english not in text and english not in text_c, english
    assert "北京时间" in text


@SQLITE
def test_a_credit_report_raises_a_webhook_event(platform) -> None:
    """The platform's first enterprise has a webhook for certificate.issued (tests/api/conftest.py)."""
    with platform.ctx.sessions() as s:
        before = s.scalars(select(WebhookDelivery.id).where(WebhookDelivery.webhook_id == platform.webhook)).all()
    report, _ = _report(platform, "enterprise")
    with platform.ctx.sessions() as s:
        queued = s.scalars(
            select(WebhookDelivery).where(
                WebhookDelivery.webhook_id == platform.webhook, WebhookDelivery.id.not_in(before)
            )
        ).all()
        assert [(d.event, d.state) for d in queued] == [("certificate.issued", "PENDING")]
        assert queued[0].payload["certificate"]["number"] == report["number"]
        assert queued[0].payload["certificate"]["kind"] == "credit-report"
    # the other enterprise's report goes to nobody else's hook
    _report(platform, "enterprise2")
    with platform.ctx.sessions() as s:
        assert (
            s.query(WebhookDelivery).filter(WebhookDelivery.webhook_id == platform.webhook).count() == len(before) + 1
        )


# -- the report in place of compliance certificates (信用代证): categories, 已修复, grades at the span's end ---------


def _draft(platform, start: date, end: date, uscc: str | None = None) -> ReportDraft:
    with platform.ctx.sessions() as s:
        return draft_report(
            platform.ctx.credit, s, uscc=uscc or platform.usccs[0], period_from=start, period_to=end, today=TODAY
        )


def _section(draft: ReportDraft, key: str) -> dict:
    return next(c for c in draft.detail["categories"] if c["key"] == key)


def test_the_grades_are_those_at_the_end_of_the_span_not_of_today(platform) -> None:
    credit, uscc = platform.ctx.credit, platform.usccs[0]
    decided = add_months(TODAY, -13)  # a general penalty: displayed 12 months, so it left display a month ago
    with transaction(platform.ctx.sessions) as s:
        workflows.record(
            credit,
            s,
            uscc=uscc,
            type="penalty_general",
            department="amr.440604",
            decided_on=decided,
            summary="未按规定公示年报",
            reference="禅市监罚〔2025〕5号",
            actor="user:amr",
        )
        workflows.record(  # 行政强制措施: its own section of the report
            credit,
            s,
            uscc=uscc,
            type="coercive_measure",
            department="amr.440604",
            decided_on=decided,  # displayed a year: at the span's end, not today
            summary="查封涉案设备",
            reference="禅市监强〔2026〕2号",
            actor="user:amr",
        )
        for grade, year, on in (
            ("B", decided.year, add_months(TODAY, -6)),
            ("D", TODAY.year - 1, TODAY - timedelta(5)),
        ):
            record_tax_grade(
                credit, s, uscc=uscc, year=year, grade=grade, department="tax.440604", decided_on=on, actor="user:tax"
            )
    end = add_months(TODAY, -2)
    draft = _draft(platform, add_months(TODAY, -24), end)
    with platform.ctx.sessions() as s:
        today = credit.grade_on(s, uscc, TODAY)
    assert today.grade == "A" and today.score == BASE  # the penalty no longer counts today
    grade = draft.detail["grade"]
    # both still counted at the span's end (the coercive measure -10)
    assert (grade["grade"], grade["score"], grade["as_of"]) == ("C", BASE - 22, str(end))
    assert draft.months_in_arrears == 3 and draft.total_fen == BASE - 22
    assert (
        draft.detail["tax_credit"]["grade"] == "B" and draft.detail["tax_credit"]["label"]["zh"] == "纳税缴费信用 B 级"
    )
    # the signed fields (kinds/standard/credit-report.json) still validate, with the class at the span's end
    values = values_of(CertKind.CREDIT_REPORT, draft)
    assert values["grade"] == "c" and values["span_to"] == str(end) and values["record_count"] == 2
    assert [r["type"] for r in _section(draft, "administrative_penalties")["items"]] == ["penalty_general"]
    assert _section(draft, "administrative_penalties")["items"][0]["on_display"] is True  # as of the span's end
    assert [r["summary"] for r in _section(draft, "coercive_measures")["items"]] == ["查封涉案设备"]


def test_a_repaired_item_shows_as_repaired(platform) -> None:
    credit, uscc = platform.ctx.credit, platform.usccs[0]
    with transaction(platform.ctx.sessions) as s:
        uid = workflows.record(
            credit,
            s,
            uscc=uscc,
            type="tax_arrears",
            department="tax.440604",
            decided_on=TODAY - timedelta(days=20),
            summary="欠缴印花税",
            reference="禅税通〔2026〕4号",
            actor="user:tax",
        ).uid
        app = workflows.apply_repair(
            credit,
            s,
            uscc=uscc,
            record_uid=uid,
            statement="申请信用修复",
            corrected="已补缴税款及滞纳金",
            promise=True,
            actor="client:ent",
        )
        workflows.review_repair(
            credit, s, application_id=app.id, approve=True, department="tax.440604", note="已核实", actor="user:tax"
        )
    draft = _draft(platform, add_months(TODAY, -12), TODAY)
    (line,) = _section(draft, "arrears")["items"]
    assert line["uid"] == uid and line["repaired"] is True and line["repaired_on"] == str(TODAY)
    assert line["status_zh"] == "已修复" and line["on_display"] is False
    assert draft.detail["grade"]["grade"] == "A" and draft.detail["grade"]["explanation"] == []  # withdrawn
    (signed,) = values_of(CertKind.CREDIT_REPORT, draft)["records"]
    assert signed["repaired"] is True and "已信用修复" in signed["summary"]


def test_a_black_list_entry_that_ended_inside_the_span_is_on_the_report(platform) -> None:
    credit, uscc = platform.ctx.credit, platform.usccs[1]
    start, end = TODAY - timedelta(days=200), TODAY - timedelta(days=100)
    with transaction(platform.ctx.sessions) as s:
        workflows.list_entry(
            credit,
            s,
            uscc=uscc,
            list_name="black",
            department="amr.440604",
            start_on=start,
            end_on=end,
            reason="严重违法失信",
            reference="禅市监〔2025〕9号",
            actor="user:amr",
        )
    draft = _draft(platform, add_months(TODAY, -12), TODAY, uscc)
    (entry,) = _section(draft, "serious_dishonesty")["items"]
    assert (entry["start_on"], entry["end_on"], entry["in_force_at_end"]) == (str(start), str(end), False)
    assert draft.detail["flags"]["black_list"] is False and draft.detail["grade"]["grade"] == "A"
    assert values_of(CertKind.CREDIT_REPORT, draft)["lists"] == "无"  # the flags at the span's end
    # a span that ended while it held: the entry in force, and the class D it forced then
    during = _draft(platform, add_months(TODAY, -12), TODAY - timedelta(days=150), uscc)
    assert _section(during, "serious_dishonesty")["items"][0]["in_force_at_end"] is True
    assert during.detail["grade"]["grade"] == "D" and during.months_in_arrears == 4
    # a span that starts after it ended does not list it
    assert _section(_draft(platform, TODAY - timedelta(days=90), TODAY, uscc), "serious_dishonesty")["items"] == []
