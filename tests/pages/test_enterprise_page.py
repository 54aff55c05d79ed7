"""The enterprise's view (企业信用服务, /enterprise) on phones (360, 390 and 414 px), in Chinese and in English: the
enterprise signs in with its API client (a wrong secret says so in the page's language), sees its risk class beside
its tax credit grade, every scan and inspection recorded about it (扫码入企: an inspection recorded through the API
after a scan), the 无事不扰 alert that inspection raised, rates it once with stars and sees the rating, objects to it
and sees the objection pending with its due date, then the department's answer. Every state fits the width and
speaks its language; a screenshot of each goes to tests/output/screenshots/<test>/."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.demo import SEEDER, seed_credit
from api.services import add_client
from credit import inspections
from credit.codes_qr import enterprise_code
from store.db import transaction
from tests.pages.conftest import LiveServer, page_width, shot
from tests.pages.test_inspect_phone import every_width, speaks


@dataclass(frozen=True)
class Enterprise:
    uscc: str
    client_id: str
    secret: str
    visit: str  # the inspection recorded through the API, after a scan
    scan: str  # the scan that opened it


def bearer(live: LiveServer, username: str) -> dict[str, str]:
    token = httpx.post(
        f"{live.base}/v1/auth/login", json={"username": username, "password": live.passwords[username]}
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def enterprise(live: LiveServer) -> Enterprise:
    """The commended demo enterprise (class A: one visit a year is its due): inspected ten days ago on a referral,
    then today through the API after a scan of its code, which is one visit too many and raises a 无事不扰 alert;
    and an API client of its own."""
    uscc = live.usccs[0]
    credit = live.ctx.require_credit()
    began = datetime.now(UTC) - timedelta(days=10)
    with transaction(live.ctx.sessions) as session:
        seed_credit(credit, session, live.usccs[:3])
        earlier = inspections.record_scan(
            credit, session, uscc=uscc, inspector="inspector1", department="amr.440604", at=began, actor="user:test"
        )
        inspections.record_inspection(
            credit,
            session,
            uscc=uscc,
            departments=["amr.440604"],
            inspectors=["inspector1"],
            items=[{"item": "食品经营许可证", "ok": True, "note": ""}],
            findings="",
            result="pass",
            evidence=[],
            started_at=began + timedelta(minutes=5),
            ended_at=began + timedelta(minutes=50),
            scan=earlier.uid,
            reason="referral",
            actor="user:test",
        )
        client, secret = add_client(session, SEEDER, uscc=uscc, name="demo")
        client_id = client.client_id
    inspector = bearer(live, "inspector1")
    code = enterprise_code(live.ctx.ledger, live.ctx.certificates.keys["amr.440604"], live.base, uscc)
    scanned = httpx.post(f"{live.base}/v1/inspector/scan", json={"text": code}, headers=inspector)
    assert scanned.status_code == 200, scanned.text
    scan = scanned.json()["scan"]
    recorded = httpx.post(
        f"{live.base}/v1/inspector/inspections",
        headers=inspector,
        json={
            "uscc": uscc,
            "departments": ["amr.440604", "tax.440604"],
            "items": [
                {"item": "营业执照公示", "ok": True},
                {"item": "消防通道畅通", "ok": False, "note": "堆放纸箱"},
            ],
            "findings": "消防通道堆放杂物，已责令当场整改",
            "result": "issues",
            "started_at": scan["scanned_at"],  # entered as the code was scanned
            "scan": scan["uid"],
            "reason": "referral",
        },
    )
    assert recorded.status_code == 201, recorded.text
    return Enterprise(uscc, client_id, secret, recorded.json()["uid"], scan["uid"])


def sign_in(page: Any, live: LiveServer, who: Enterprise, query: str = "") -> None:
    page.goto(f"{live.base}/enterprise{query}")
    page.wait_for_selector("#login:not([hidden])")
    page.fill("#client-id", who.client_id)
    page.fill("#client-secret", who.secret)
    page.click("#login-form button")
    page.wait_for_selector("#account[data-loaded=true]")


def visit(page: Any, uid: str) -> str:
    return f"li.visit[data-uid='{uid}']"


def local(iso: str) -> str:
    """A time as the page shows it (the phone's clock: the browser runs in this machine's time zone)."""
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def test_a_wrong_secret_is_refused_in_the_pages_language(
    live: LiveServer, page: Any, console: Any, enterprise: Enterprise, request: pytest.FixtureRequest
) -> None:
    console.allowed.append("status of 401")  # the wrong secret, on purpose
    page.goto(live.base + "/enterprise")
    page.wait_for_selector("#login:not([hidden])")
    assert page.eval_on_selector_all("input, select, textarea", "els => els.filter(e => !e.labels.length).length") == 0
    every_width(page, request, "sign-in")
    page.fill("#client-id", enterprise.client_id)
    page.fill("#client-secret", "not-the-secret")
    page.click("#login-form button")
    page.wait_for_function("() => document.querySelector('#login-error').textContent.length > 0")
    assert page.inner_text("#login-error") == "客户端编号或密钥错误，或客户端已停用。"
    assert page.is_hidden("#account")
    every_width(page, request, "wrong-secret")
    page.click("#lang-switch")  # the message follows the language
    assert page.inner_text("#login-error") == "Wrong client ID or secret, or the client is disabled."
    assert "lang=en" in page.url
    # the token lives in the page's memory only: nothing is stored
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0


def test_the_enterprise_sees_its_visits_rates_one_and_objects(
    live: LiveServer, page: Any, enterprise: Enterprise, request: pytest.FixtureRequest
) -> None:
    sign_in(page, live, enterprise)
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0
    assert enterprise.uscc in page.inner_text("#uscc")
    assert page.get_attribute("#grade", "data-grade") == "A"
    assert page.inner_text("#tax") == "未评定" and page.get_attribute("#tax", "data-grade") == "none"
    # every visit, newest first: today's inspection and the scan that opened it, then the earlier ones
    kinds = page.eval_on_selector_all("li.visit", "els => els.map(e => [e.dataset.uid, e.dataset.kind])")
    assert [enterprise.visit, "inspection"] in kinds and [enterprise.scan, "scan"] in kinds
    assert len([k for k in kinds if k[1] == "inspection"]) == 3 and len([k for k in kinds if k[1] == "scan"]) == 3
    today = page.inner_text(visit(page, enterprise.visit))
    for seen in (
        "现场检查",
        "佛山市禅城区市场监督管理局",
        "国家税务总局佛山市禅城区税务局",
        "inspector1",
        "转办",
        "营业执照公示",
        "消防通道畅通",
        "堆放纸箱",
        "发现问题",
        "消防通道堆放杂物",
    ):
        assert seen in today, (seen, today)
    assert page.eval_on_selector(f"{visit(page, enterprise.visit)} li[data-ok=false]", "e => e.textContent").startswith(
        "✗"
    )
    assert "进门前扫码" in page.inner_text(visit(page, enterprise.scan))
    # 无事不扰: a second visit within the year of a class-A enterprise raised an alert, which the enterprise sees
    assert "无事不扰" in page.inner_text(f"{visit(page, enterprise.visit)} p.alert")
    assert "超过 A 类企业允许的 1 次" in page.inner_text(f"{visit(page, enterprise.visit)} p.alert")
    assert not page.is_hidden("#alerts")
    assert page.eval_on_selector_all("form.rate", "fs => fs.length") == 3  # scans are not rated
    assert page.eval_on_selector_all("input, select, textarea", "els => els.filter(e => !e.labels.length).length") == 0
    every_width(page, request, "visits")

    # rate today's inspection: four stars and a comment; then it shows the rating and cannot be rated again
    form = f"{visit(page, enterprise.visit)} form.rate"
    page.click(f"{form} label.star[data-n='4']")
    assert page.eval_on_selector_all(f"{form} label.star.on", "ls => ls.length") == 4
    page.fill(f"#comment-{enterprise.visit}", "检查人员态度好，指导具体")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector(f"{visit(page, enterprise.visit)} p.rated[data-stars='4']")
    assert page.query_selector(form) is None
    rated = page.inner_text(f"{visit(page, enterprise.visit)} p.rated")
    assert "★★★★☆" in rated and "您的评价：4 星" in rated and "检查人员态度好" in rated
    assert page.get_attribute(f"{visit(page, enterprise.visit)} .msg", "data-message") == "ratedDone"
    every_width(page, request, "rated")

    # object to it: the objection shows as pending with the date the department must answer by
    page.click(f"#object-{enterprise.visit} summary")
    page.fill(f"#objection-{enterprise.visit}", "消防通道的纸箱是当天到货暂存，检查时正在搬运，请核实")
    page.click(f"#object-{enterprise.visit} button[type=submit]")
    objection = f"{visit(page, enterprise.visit)} li.objection[data-state=open]"
    page.wait_for_selector(objection)
    assert page.query_selector(f"#object-{enterprise.visit}") is None  # one open objection at a time
    official = bearer(live, "amr-official")
    (pending,) = httpx.get(f"{live.base}/v1/department/credit/objections", headers=official).json()
    assert pending["visit"] == enterprise.visit and pending["department"] == "amr.440604"
    shown = page.inner_text(objection)
    assert "待答复" in shown and f"答复期限：{local(pending['due_at'])}" in shown and "当天到货暂存" in shown
    every_width(page, request, "objection-pending")

    # the department answers; the enterprise sees the answer after a refresh
    answered = httpx.post(
        f"{live.base}/v1/department/credit/objections/{pending['uid']}/answer",
        headers=official,
        json={"text": "经复核，检查记录无误；纸箱已移走，整改完成。"},
    )
    assert answered.status_code == 200, answered.text
    page.click("#refresh")
    page.wait_for_selector(f"{visit(page, enterprise.visit)} li.objection[data-state=answered]")
    shown = page.inner_text(f"{visit(page, enterprise.visit)} li.objection")
    assert "已答复" in shown and "部门答复" in shown and "整改完成" in shown
    assert page.query_selector(f"#object-{enterprise.visit}") is not None  # answered: it may be objected to again
    every_width(page, request, "objection-answered")


def test_the_english_page_and_a_refused_rating(
    live: LiveServer, page: Any, console: Any, enterprise: Enterprise, request: pytest.FixtureRequest
) -> None:
    console.allowed.append("status of 409")  # the second rating, refused on purpose
    sign_in(page, live, enterprise, "?lang=en")
    speaks(page, "en")
    assert page.inner_text("#tax") == "Not rated" and page.inner_text("h1") == "Enterprise credit service"
    earlier = page.eval_on_selector_all(
        "li.visit[data-kind=inspection]:has(form.rate)", "els => els.map(e => e.dataset.uid)"
    )[0]
    # the visit is rated elsewhere (another of the enterprise's people) while this page still offers the form
    token = httpx.post(
        f"{live.base}/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": enterprise.client_id,
            "client_secret": enterprise.secret,
        },
    ).json()["access_token"]
    rated = httpx.post(
        f"{live.base}/v1/enterprise/credit/visits/{earlier}/rating",
        headers={"Authorization": f"Bearer {token}"},
        json={"stars": 5},
    )
    assert rated.status_code == 201
    form = f"{visit(page, earlier)} form.rate"
    page.click(f"{form} button[type=submit]")  # no star chosen: the page asks for one, nothing is sent
    assert page.get_attribute(f"{visit(page, earlier)} .msg", "data-message") == "noStars"
    page.click(f"{form} label.star[data-n='2']")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector(f"{visit(page, earlier)} .msg[data-message=ratedAlready]")
    assert page.inner_text(f"{visit(page, earlier)} .msg") == (
        "This inspection was rated already: one rating per inspection."
    )
    assert page_width(page) <= 360
    shot(page, request, "rated-already-en-360")
    every_width(page, request, "rated-already")


def test_the_tax_credit_grade_shows_beside_the_risk_class(
    live: LiveServer, page: Any, enterprise: Enterprise, request: pytest.FixtureRequest
) -> None:
    from datetime import date

    from credit.tax_credit import record_tax_grade

    with transaction(live.ctx.sessions) as session:
        record_tax_grade(
            live.ctx.require_credit(),
            session,
            uscc=enterprise.uscc,
            year=date.today().year - 1,
            grade="M",
            department="tax.440604",
            decided_on=date.today(),
            actor="user:tax-official",
        )
    token = httpx.post(
        f"{live.base}/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": enterprise.client_id,
            "client_secret": enterprise.secret,
        },
    ).json()["access_token"]
    standing = httpx.get(f"{live.base}/v1/enterprise/credit", headers={"Authorization": f"Bearer {token}"}).json()
    assert standing["tax_credit"]["grade"] == "M" and standing["grade"]["grade"] == "A"  # neither changes the other
    sign_in(page, live, enterprise)
    assert page.get_attribute("#tax", "data-grade") == "M" and page.get_attribute("#grade", "data-grade") == "A"
    assert "新设立或无生产经营收入" in page.inner_text("#tax-note")
    every_width(page, request, "tax-credit")
