"""The inspector page in headless Chromium with a fake camera that films an enterprise's one code: sign in,
scan (ZXing's WebAssembly reads the frames: the scan is recorded, 扫码入企), see the standing, record a joint inspection
opened by that scan with an evidence file hashed on the device, and find the form empty again."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from credit.codes_qr import enterprise_code
from tests.pages.conftest import LiveServer, shot, sign_in_and_scan


def test_scan_with_the_camera_and_record_an_inspection(
    live: LiveServer, camera_page, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    page, uscc = camera_page
    sign_in_and_scan(page, live, uscc)
    assert page.get_attribute("#source", "data-source") == "scanned"
    shot(page, request, "scanned")
    assert page.get_attribute("#grade", "data-grade") in ("A", "B")
    assert page.get_attribute("#due", "data-due") == "true"  # never inspected
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    evidence = tmp_path / "现场照片.jpg"
    evidence.write_bytes(b"photo of the fire exit " * 100)
    page.check("input[name=dept][value='tax.440604']")
    page.fill("#items", "营业执照公示\n× 消防通道畅通")
    page.fill("#findings", "消防通道堆放杂物，已责令整改")
    page.select_option("#result", "issues")
    page.set_input_files("#evidence", str(evidence))
    page.click("#inspection-form button[type=submit]")
    page.wait_for_selector("#saved[data-digest]")
    page.wait_for_selector("#due[data-due=false]")
    assert "消防通道堆放杂物" in page.inner_text("#inspections")
    shot(page, request, "saved")
    # The form is empty again, ready for the next visit; the inspector's own department stays ticked.
    assert page.input_value("#items") == "" and page.input_value("#findings") == ""
    assert page.input_value("#result") == "pass" and page.eval_on_selector("#evidence", "e => e.files.length") == 0
    assert page.eval_on_selector_all("input[name=dept]:checked", "boxes => boxes.map(b => b.value)") == ["amr.440604"]
    from sqlalchemy import select

    from store.models import Inspection

    with live.ctx.sessions() as s:
        row = s.scalars(select(Inspection).where(Inspection.uscc == uscc, Inspection.kind == "inspection")).one()
        (entered,) = s.scalars(select(Inspection).where(Inspection.uscc == uscc, Inspection.kind == "scan")).all()
    # 扫码入企: the page's scan was recorded and opened the visit, which began after the code was scanned
    assert entered.purpose == "enter" and entered.inspectors == ["inspector1"] and row.scan_id == entered.id
    assert entered.started_at is not None and row.started_at is not None and entered.started_at <= row.started_at
    assert row.reason == "schedule"  # never inspected: due
    assert row.departments == ["amr.440604", "tax.440604"] and row.result == "issues"
    assert row.items == [
        {"item": "营业执照公示", "ok": True, "note": ""},
        {"item": "消防通道畅通", "ok": False, "note": ""},
    ]
    assert row.evidence == ["0x" + hashlib.sha256(evidence.read_bytes()).hexdigest()]  # hashed in the browser
    assert page.get_attribute("#saved", "data-digest") == row.digest


def test_a_signed_out_inspector_sees_the_sign_in_and_a_wrong_password_says_so(live: LiveServer, page, console) -> None:
    console.allowed.append("status of 401")  # the refused sign-in, on purpose
    page.goto(live.base + "/inspect?lang=en")
    page.wait_for_selector("#login:not([hidden])")
    page.fill("#username", "inspector1")
    page.fill("#password", "wrong")
    page.click("#login-form button")
    page.wait_for_function("() => document.querySelector('#login-error').textContent.length > 0")
    assert page.inner_text("#login-error") == "Wrong username or password, or the account is disabled."


def test_the_one_code_opens_the_public_profile_page(live: LiveServer, page, console) -> None:
    console.allowed.append("status of 404")  # the page of no enterprise, on purpose
    uscc = live.usccs[0]
    url = enterprise_code(live.ctx.ledger, live.ctx.certificates.keys["amr.440604"], live.base, uscc)
    page.goto(url)
    page.wait_for_selector("#code[data-valid]")
    assert page.get_attribute("#code", "data-valid") == "true"
    assert uscc in page.inner_text("body") and page.get_attribute("#grade", "data-grade") in "ABCD"
    forged = url.replace(uscc, live.usccs[2])  # a code moved onto another enterprise's page
    page.goto("about:blank")
    page.goto(forged)
    page.wait_for_selector("#code[data-valid]")
    assert page.get_attribute("#code", "data-valid") == "false" and "无效" in page.inner_text("#code")
    assert page.goto(live.base + "/e/91440604MA4UABCD1X").status == 404
