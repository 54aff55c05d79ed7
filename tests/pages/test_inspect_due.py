"""The inspector page after a scan (扫码入企) on phones, in both languages: the scan shows as recorded with its time;
a complaint (投诉举报) recorded by a department makes the enterprise due, with the reason, beside the schedule's; the
tax credit grade sits beside the risk class; an inspection that is not due asks for a reason from the rule file's
list (a random draw asks for its number, an emergency for what it was) and is recorded with it. Every state fits the
width and speaks its language; screenshots under tests/output/screenshots/<test>/."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api.demo import seed_credit
from credit.codes_qr import enterprise_code
from credit.grading import load_policy
from credit.tax_credit import record_tax_grade
from store.db import transaction
from store.models import Inspection
from tests.pages.conftest import LiveServer, sign_in
from tests.pages.photos import one_photo
from tests.pages.test_inspect_phone import every_width

COMPLAINT = "群众投诉店内消防通道被货物堵塞"


@pytest.fixture(scope="module")
def credit(live: LiveServer) -> list[str]:
    """The demo enterprises' history: [0] commended and inspected last year (class A, not due), [1] in arrears,
    [2] on the red list and never inspected (due by the schedule)."""
    with transaction(live.ctx.sessions) as session:
        seed_credit(live.ctx.credit, session, live.usccs[:3])
    return live.usccs[:3]


def scan_photo(page: Any, live: LiveServer, uscc: str, tmp_path: Path) -> None:
    """Scan the enterprise's one code from a photo and wait for its standing."""
    url = enterprise_code(live.ctx.ledger, live.ctx.certificates.keys["amr.440604"], live.base, uscc)
    photo = tmp_path / f"{uscc}.jpg"
    photo.write_bytes(one_photo(url, pixels_per_module=5.0))
    page.set_input_files("#photo", str(photo))
    page.wait_for_selector("#standing:not([hidden])", timeout=20000)
    page.wait_for_selector("#scan-recorded:not([hidden])")


def visits(live: LiveServer, uscc: str) -> list[Inspection]:
    with live.ctx.sessions() as session:
        return list(
            session.scalars(
                select(Inspection)
                .where(Inspection.uscc == uscc, Inspection.kind == "inspection")
                .order_by(Inspection.id)
            )
        )


def scans(live: LiveServer, uscc: str) -> list[Inspection]:
    with live.ctx.sessions() as session:
        return list(
            session.scalars(
                select(Inspection).where(Inspection.uscc == uscc, Inspection.kind == "scan").order_by(Inspection.id)
            )
        )


def test_a_complaint_makes_the_scanned_enterprise_due_with_its_reason(
    live: LiveServer, page: Any, credit: list[str], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    uscc = credit[2]
    official = httpx.post(
        f"{live.base}/v1/auth/login", json={"username": "amr-official", "password": live.passwords["amr-official"]}
    ).json()["access_token"]
    complaint = httpx.post(
        f"{live.base}/v1/department/credit/triggers",
        headers={"Authorization": f"Bearer {official}"},
        json={"uscc": uscc, "kind": "complaint", "reason": COMPLAINT, "reference": "12345-2026-0413"},
    )
    assert complaint.status_code == 201, complaint.text
    sign_in(page, live)
    scan_photo(page, live, uscc, tmp_path)
    (scan,) = scans(live, uscc)
    assert page.get_attribute("#scan-recorded", "data-scan") == scan.uid
    assert page.inner_text("#scan-recorded").startswith("扫码已登记：")
    assert page.inner_text("#tax") == "未评定" and page.get_attribute("#tax", "data-grade") == ""  # not graded
    assert page.get_attribute("#due", "data-due") == "true" and page.inner_text("#due") == "本期应检查"
    kinds = page.eval_on_selector_all("#due-reasons li", "els => els.map(e => e.dataset.kind)")
    assert kinds == ["schedule", "complaint"]  # never inspected, and a complaint on top
    reasons = page.inner_text("#due-reasons")
    assert "投诉举报" in reasons and COMPLAINT in reasons and "佛山市禅城区市场监督管理局" in reasons
    assert "按风险分类定期检查" in reasons
    assert page.is_hidden("#why")  # due: no reason to give
    assert page.eval_on_selector_all("input, select, textarea", "els => els.filter(e => !e.labels.length).length") == 0
    every_width(page, request, "due-complaint")
    page.click("#lang-switch")
    assert "Complaint" in page.inner_text("#due-reasons") and page.inner_text("#scan-recorded").startswith(
        "Scan recorded at "
    )
    page.click("#lang-switch")

    page.fill("#items", "消防通道畅通")
    page.click("#inspection-form button[type=submit]")
    page.wait_for_selector("#saved[data-digest]")
    (row,) = visits(live, uscc)
    # the page's scan opened the visit, which started after it; the schedule came first among the reasons
    assert row.scan_id == scan.id and row.started_at >= scan.started_at and row.reason == "schedule"
    # inspected: the complaint is closed and nothing is due any more, so another visit would need a reason
    page.wait_for_selector("#due[data-due=false]")
    assert page.is_hidden("#due-why") and page.is_visible("#why")
    every_width(page, request, "inspected")


def test_an_inspection_not_due_asks_for_a_reason_from_the_rule_file(
    live: LiveServer, page: Any, credit: list[str], console: Any, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    uscc = credit[0]  # class A, inspected last year: not due for two more years
    with transaction(live.ctx.sessions) as session:  # the tax bureau's own grade, shown beside the risk class
        record_tax_grade(
            live.ctx.require_credit(),
            session,
            uscc=uscc,
            year=date.today().year - 1,
            grade="B",
            department="tax.440604",
            decided_on=date.today(),
            actor="user:tax-official",
        )
    sign_in(page, live)
    scan_photo(page, live, uscc, tmp_path)
    assert page.get_attribute("#tax", "data-grade") == "B" and page.inner_text("#tax") == "纳税缴费信用 B 级"
    assert page.get_attribute("#grade", "data-grade") == "A"  # neither grade changes the other
    assert page.get_attribute("#due", "data-due") == "false" and page.is_hidden("#due-why")
    assert page.is_visible("#why")
    options = page.eval_on_selector_all("#reason option", "os => os.map(o => [o.value, o.textContent])")
    assert [v for v, _ in options] == ["", *load_policy().unscheduled_reasons]
    assert dict(options)["complaint"] == "投诉举报" and dict(options)["referral"] == "转办"
    assert dict(options)["random_draw"] == "双随机抽查" and dict(options)["emergency"] == "紧急情况"
    # the started time defaults to now, not before the scan
    assert page.input_value("#started-at") != ""
    page.fill("#items", "营业执照公示")
    page.click("#inspection-form button[type=submit]")  # no reason chosen: the phone asks for one, nothing is sent
    assert page.eval_on_selector("#reason", "s => s.validity.valueMissing") is True
    assert page.get_attribute("#saved", "data-digest") is None and visits(live, uscc)[-1].reason != "referral"
    every_width(page, request, "reason-needed")
    page.select_option("#reason", "random_draw")  # a random draw names its draw
    assert page.is_visible("#draw-id") and page.eval_on_selector("#draw-id", "i => i.required") is True
    page.select_option("#reason", "emergency")  # an emergency says what it was
    assert page.is_checked("#emergency-on") and page.is_visible("#emergency")
    assert page.eval_on_selector("#emergency", "t => t.required") is True
    every_width(page, request, "emergency")
    page.select_option("#reason", "referral")
    page.uncheck("#emergency-on")
    assert page.is_hidden("#emergency") and page.is_hidden("#draw-id")
    every_width(page, request, "referral")
    page.click("#inspection-form button[type=submit]")
    page.wait_for_selector("#saved[data-digest]")
    row = visits(live, uscc)[-1]
    assert row.reason == "referral" and row.emergency is None and row.scan_id == scans(live, uscc)[-1].id
    assert page.get_attribute("#saved", "data-digest") == row.digest
    every_width(page, request, "saved")
