"""The credit routes on SQLite and PostgreSQL: departments record and list, enterprises see their standing and
apply for repair, inspectors scan the one code and record (joint) inspections, the public sees the profile."""

from __future__ import annotations

from datetime import date, timedelta

from credit.codes_qr import enterprise_code
from credit.grading import add_months, load_policy

TODAY = date.today()
BASE = load_policy().base  # the rule file's starting score


def one_code(platform, uscc: str) -> str:
    key = platform.ctx.certificates.keys["amr.440604"]
    return enterprise_code(platform.ctx.ledger, key, platform.ctx.settings.public_url, uscc)


def test_records_lists_and_the_public_profile(platform) -> None:
    c, uscc = platform.client, platform.usccs[0]
    tax, amr = platform.headers("official2"), platform.headers("inspector")
    r = c.post(
        "/v1/department/credit/records",
        headers=tax,
        json={
            "uscc": uscc,
            "type": "tax_arrears",
            "decided_on": str(TODAY - timedelta(days=20)),
            "summary": "欠缴增值税",
            "reference": "禅税通〔2026〕3号",
            "amount_fen": 1_200_000,
        },
    )
    assert r.status_code == 201, r.text
    uid = r.json()["uid"]
    assert (
        c.post(
            "/v1/department/credit/records",
            headers=tax,
            json={"uscc": uscc, "type": "nonsense", "decided_on": str(TODAY), "summary": "x"},
        ).status_code
        == 422
    )
    assert c.post(
        "/v1/department/credit/records",
        headers=tax,
        json={"uscc": "91440604MA4UABCD1X", "type": "tax_arrears", "decided_on": str(TODAY), "summary": "x"},
    ).status_code in (404, 422)
    r = c.post(
        "/v1/department/credit/lists",
        headers=platform.headers("official"),
        json={"uscc": uscc, "list": "black", "start_on": str(TODAY), "reason": "严重失信", "end_on": str(TODAY)},
    )
    assert r.status_code == 422  # the end must come after the start
    profile = c.get(f"/v1/public/enterprises/{uscc}/standing").json()
    assert profile["grade"]["grade"] == "B" and profile["grade"]["score"] == BASE - 8
    assert [x["uid"] for x in profile["records"]] == [uid] and "explanation" not in profile["grade"]
    assert profile["flags"] == {"red_list": False, "black_list": False, "joint_punishment": False}
    own = c.get("/v1/enterprise/credit", headers=platform.headers("enterprise")).json()
    assert own["grade"]["explanation"][0]["points"] == -8 and own["repairs"] == []
    assert platform.ctx.credit.audit(uscc)["ok"] and platform.ctx.credit.audit(uscc)["chain_length"] == 1
    assert amr  # inspectors cannot add department records
    assert (
        c.post(
            "/v1/department/credit/records",
            headers=amr,
            json={"uscc": uscc, "type": "commendation", "decided_on": str(TODAY), "summary": "x"},
        ).status_code
        == 403
    )


def test_repair_through_the_api(platform) -> None:
    c, uscc = platform.client, platform.usccs[0]
    uid = c.post(
        "/v1/department/credit/records",
        headers=platform.headers("official2"),
        json={
            "uscc": uscc,
            "type": "tax_arrears",
            "decided_on": str(TODAY - timedelta(days=3)),
            "summary": "欠缴印花税",
        },
    ).json()["uid"]
    r = c.post(
        "/v1/enterprise/credit/repairs",
        headers=platform.headers("enterprise"),
        json={"record": uid, "statement": "申请信用修复", "corrected": "已补缴税款及滞纳金", "promise": True},
    )
    assert r.status_code == 201
    app_id = r.json()["id"]
    assert (
        c.post(
            "/v1/enterprise/credit/repairs",
            headers=platform.headers("enterprise2"),
            json={"record": uid, "statement": "not ours", "corrected": "x", "promise": True},
        ).status_code
        == 404
    )
    assert (
        c.post(
            f"/v1/department/credit/repairs/{app_id}/decision",
            headers=platform.headers("official"),
            json={"approve": True},
        ).status_code
        == 403
    )  # social insurance did not make the record
    r = c.post(
        f"/v1/department/credit/repairs/{app_id}/decision",
        headers=platform.headers("official2"),
        json={"approve": True, "note": "整改到位"},
    )
    assert r.json() == {"id": app_id, "state": "APPROVED"}
    own = c.get("/v1/enterprise/credit", headers=platform.headers("enterprise")).json()
    assert own["records"][0]["repaired_on"] == str(TODAY) and own["grade"]["score"] == BASE
    assert c.get(f"/v1/public/enterprises/{uscc}/standing").json()["records"] == []  # no longer displayed


def test_scan_the_one_code_and_record_a_joint_inspection(platform) -> None:
    c, uscc = platform.client, platform.usccs[1]
    h = platform.headers("inspector")
    scanned = c.post("/v1/inspector/scan", headers=h, json={"text": one_code(platform, uscc)})
    assert scanned.status_code == 200, scanned.text
    body = scanned.json()
    assert body["uscc"] == uscc and body["inspection"]["due"] is True and body["inspection"]["last_inspected"] is None
    forged = one_code(platform, platform.usccs[0]).replace(platform.usccs[0], uscc)  # another's code, retargeted
    assert c.post("/v1/inspector/scan", headers=h, json={"text": forged}).json()["type"].endswith("untrusted-code")
    assert c.post("/v1/inspector/scan", headers=h, json={"text": "https://x/e/123"}).status_code == 422
    r = c.post(
        "/v1/inspector/inspections",
        headers=h,
        json={
            "uscc": uscc,
            "departments": ["amr.440604", "tax.440604", "si.440604"],
            "items": [{"item": "营业执照公示", "ok": True}, {"item": "消防通道", "ok": False, "note": "堆放杂物"}],
            "findings": "消防通道堆放杂物，已责令整改",
            "result": "issues",
            "evidence": ["0x" + "ab" * 32],
            "started_at": body["scan"]["scanned_at"],  # 扫码入企: the visit began at the scan
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["scan"] == body["scan"]["uid"] and r.json()["reason"] == "schedule"  # never inspected: due
    platform.ctx.credit.sync(force=True)
    after = c.post("/v1/inspector/scan", headers=h, json={"text": one_code(platform, uscc)}).json()
    assert after["inspection"]["due"] is False and after["inspection"]["last_inspected"] == str(TODAY)
    (visit,) = after["inspections"]
    assert visit["departments"] == ["amr.440604", "si.440604", "tax.440604"] and visit["anchored"] is True
    inspection_records = [x for x in after["records"] if x["type"].startswith("inspection")]
    assert len(inspection_records) == 1  # three departments, one visit, one record
    assert after["grade"]["score"] == BASE - 5
    assert (
        c.post(
            "/v1/inspector/inspections",
            headers=h,
            json={
                "uscc": uscc,
                "departments": ["tax.440604"],
                "items": [{"item": "x", "ok": True}],
                "result": "pass",
                "started_at": body["scan"]["scanned_at"],
            },
        ).status_code
        == 422
    )  # the inspector's own department must take part
    public = c.get(f"/v1/public/enterprises/{uscc}/standing").json()
    assert public["inspections"][0]["findings"].startswith("消防通道")


def test_market_supervision_runs_and_publishes_a_draw(platform) -> None:
    from api.security import Principal
    from store.models import Role

    # the demo's market-supervision official
    token = platform.ctx.tokens.issue(Principal("user:amr-official", Role.OFFICIAL, department="amr.440604"))[0]
    r = platform.client.post(
        "/v1/department/credit/draws",
        json={"targets": 2, "per_target": 1},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 201, r.text
    drawn = r.json()
    assert drawn["state"] == "DRAWN" and len(drawn["result"]) == 2 and drawn["seed"].startswith("0x")
    listed = platform.client.get("/v1/public/draws").json()
    assert listed[0]["uid"] == drawn["uid"]
    assert platform.client.get(f"/v1/public/draws/{drawn['uid']}").json() == drawn
    from credit.draws import redraw

    assert redraw(platform.ctx.credit, drawn)["ok"]


def test_a_credit_report_verifies_by_qr_like_any_certificate(platform) -> None:
    import io

    from pypdf import PdfReader

    from qr.verify import verify_text
    from zero_errand.verification import LedgerResolver

    c, h = platform.client, platform.headers("enterprise")
    uscc = platform.usccs[0]
    c.post(
        "/v1/department/credit/records",
        headers=platform.headers("official2"),
        json={
            "uscc": uscc,
            "type": "tax_arrears",
            "decided_on": str(TODAY - timedelta(days=40)),
            "summary": "欠缴增值税",
        },
    )
    five_years_ago = add_months(TODAY, -60)
    too_long = c.post(
        "/v1/enterprise/credit/report",
        headers=h,
        json={"period_from": str(five_years_ago - timedelta(days=1)), "period_to": str(TODAY)},
    )
    assert too_long.status_code == 422 and "5 years" in too_long.json()["detail"]
    r = c.post(
        "/v1/enterprise/credit/report", headers=h, json={"period_from": str(five_years_ago), "period_to": str(TODAY)}
    )
    assert r.status_code == 201, r.text
    report = r.json()
    # the report's fields by its schema (kinds/standard/credit-report.json): the grade is its enum's code
    assert report["report"]["grade"] == "b" and len(report["report"]["records"]) == 1
    resolver = LedgerResolver(platform.ctx.sessions, platform.ctx.ledger)
    assert verify_text(report["verify_url"], resolver).status == "PENDING_ANCHOR"
    platform.ctx.certificates.anchorer(max_wait=0).run_once(force=True)
    verdict = verify_text(report["verify_url"], resolver)
    shown = {f["name"]: f for f in verdict.certificate["fields"]}
    assert verdict.status == "VALID" and shown["grade"]["value"] == "b" and shown["grade"]["value_zh"].startswith("B")
    assert verdict.certificate["kind_zh"] == "企业信用报告" and shown["record_count"]["value"] == 1
    pdf = c.get(f"/v1/enterprise/certificates/{report['number']}/pdf", headers=h)
    assert pdf.status_code == 200, pdf.text
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "企业信用报告" in text and "欠缴税款" in text
    assert (
        c.get(
            f"/v1/enterprise/certificates/{report['number']}/pdf", headers=platform.headers("enterprise2")
        ).status_code
        == 404
    )


def test_the_standing_cache_follows_writes(platform) -> None:
    """Profiles are cached for a few seconds: a write through this process shows at once, another process's
    write once the cache's time is up."""
    from credit import workflows
    from store.db import make_engine, session_factory, transaction

    c, uscc = platform.client, platform.usccs[0]
    url = f"/v1/public/enterprises/{uscc}/standing"

    def commend(sessions, summary: str) -> None:
        with transaction(sessions) as s:
            workflows.record(
                platform.ctx.credit,
                s,
                uscc=uscc,
                type="commendation",
                department="amr.440604",
                decided_on=TODAY,
                summary=summary,
                reference="",
                actor="user:test",
            )

    assert c.get(url).json()["records"] == []
    commend(platform.ctx.sessions, "守合同重信用")
    assert [r["summary"] for r in c.get(url).json()["records"]] == ["守合同重信用"]
    other = make_engine(platform.ctx.settings.db_url)  # as if another process (the CLI) wrote
    try:
        commend(session_factory(other), "纳税信用A级")
    finally:
        other.dispose()
    assert len(c.get(url).json()["records"]) == 1  # still the cached profile
    platform.ctx.standings.ttl = 0.0  # the cache's time is up
    assert len(c.get(url).json()["records"]) == 2


def test_the_demo_enterprises_have_a_credit_history(platform) -> None:
    from api.demo import seed_credit
    from store.db import transaction
    from store.models import CreditRecord

    usccs = platform.client.creds.usccs
    for _ in range(2):  # every `make run` calls it; only the first adds anything
        with transaction(platform.ctx.sessions) as s:
            seed_credit(platform.ctx.credit, s, usccs)
    with platform.ctx.sessions() as s:
        # 4 decisions, an inspection result, a list entry
        assert s.query(CreditRecord).filter(CreditRecord.uscc.in_(usccs)).count() == 6
    h = platform.headers("inspector")
    standings = [platform.client.get(f"/v1/inspector/enterprises/{u}/standing", headers=h).json() for u in usccs[:3]]
    assert [s["grade"]["grade"] for s in standings] == ["A", "C", "A"]  # red: "at least B"; it is A anyway
    assert [s["inspection"]["due"] for s in standings] == [False, True, True]
    assert standings[2]["flags"]["red_list"] and standings[0]["inspections"][0]["departments"] == [
        "amr.440604",
        "tax.440604",
    ]
