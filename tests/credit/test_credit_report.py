"""The credit report PDF reads like the department's: as many lines as it counts records, an inspection once, results
and record types in Chinese; issuing one tells the enterprise's webhooks like any certificate."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from api.demo import seed_credit
from credit.grading import RECORD_TYPES, TYPE_ZH, add_months
from credit.inspections import RESULTS
from store.db import transaction
from store.models import Certificate, WebhookDelivery
from tests.credit.test_credit_api import TODAY
from zero_errand.pdf import render

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
