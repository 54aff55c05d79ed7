"""What each audience is shown under the 2026 rules, through the API: the tax bureau's grade beside the risk class
(recorded only by the tax bureau), a minor record never published but seen by inspectors, a repaired record
withdrawn from what is shared (the public, inspectors and other departments) but shown 已修复 to the enterprise and
still seen by the department that recorded it, and a promise-less repair application refused with its reason."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from store.models import TaxCreditGrade

TODAY = date.today()
RECORDS = "/v1/department/credit/records"
TAX_GRADES = "/v1/department/credit/tax-grades"


def _standing(platform, who: str, uscc: str) -> dict:
    paths = {
        "public": f"/v1/public/enterprises/{uscc}/standing",
        "inspector": f"/v1/inspector/enterprises/{uscc}/standing",
        "enterprise": "/v1/enterprise/credit",
    }
    path = paths.get(who, f"/v1/department/credit/enterprises/{uscc}")
    headers = {} if who == "public" else platform.headers(who)
    platform.ctx.standings.clear()  # each read sees the store as it is now
    r = platform.client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _record(platform, who: str, type: str, days_ago: int) -> str:
    r = platform.client.post(
        RECORDS,
        headers=platform.headers(who),
        json={
            "uscc": platform.usccs[0],
            "type": type,
            "decided_on": str(TODAY - timedelta(days=days_ago)),
            "summary": f"{type} 测试",
        },
    )
    assert r.status_code == 201, r.text
    return r.json()["uid"]


def test_the_tax_grade_is_recorded_by_the_tax_bureau_only_and_shown_beside_the_risk_class(platform) -> None:
    c, uscc = platform.client, platform.usccs[0]
    body = {"uscc": uscc, "year": TODAY.year - 1, "grade": "D", "decided_on": str(TODAY - timedelta(days=1))}
    for who in ("official", "official3"):  # social insurance, market supervision: not theirs
        r = c.post(TAX_GRADES, headers=platform.headers(who), json=body)
        assert r.status_code == 403 and "tax" in r.json()["detail"]
    for who in ("enterprise", "inspector", "citizen"):
        assert c.post(TAX_GRADES, headers=platform.headers(who), json=body).status_code == 403
    assert c.post(TAX_GRADES, json=body).status_code == 401
    assert c.post(TAX_GRADES, headers=platform.headers("official2"), json={**body, "grade": "E"}).status_code == 422
    with platform.ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(TaxCreditGrade)) == 0  # no refusal stored anything
    r = c.post(TAX_GRADES, headers=platform.headers("official2"), json=body)
    assert r.status_code == 201 and r.json()["grade"] == "D"
    for who in ("enterprise", "inspector", "official3"):
        seen = _standing(platform, who, uscc)
        assert seen["tax_credit"]["grade"] == "D" and seen["tax_credit"]["department"] == "tax.440604"
        assert seen["grade"]["grade"] == "A"  # the risk class is market supervision's, untouched by the tax grade
    assert "tax_credit" not in _standing(platform, "public", uscc)


def test_a_minor_record_is_never_published_but_inspectors_see_it(platform) -> None:
    uid = _record(platform, "official3", "penalty_minor", 5)
    public = _standing(platform, "public", platform.usccs[0])
    assert uid not in {r["uid"] for r in public["records"]}
    inspector = [r for r in _standing(platform, "inspector", platform.usccs[0])["records"] if r["uid"] == uid]
    assert inspector and inspector[0]["tier"] == "minor" and inspector[0]["published"] is False
    general = _record(platform, "official3", "penalty_general", 5)
    assert general in {r["uid"] for r in _standing(platform, "public", platform.usccs[0])["records"]}


def test_a_repaired_record_is_withdrawn_from_what_is_shared(platform) -> None:
    c, uscc = platform.client, platform.usccs[0]
    uid = _record(platform, "official2", "tax_arrears", 3)  # the tax bureau's; repair opens at once
    refused = c.post(
        "/v1/enterprise/credit/repairs",
        headers=platform.headers("enterprise"),
        json={"record": uid, "statement": "申请修复", "corrected": "已补缴税款", "promise": False},
    )
    assert refused.status_code == 422 and refused.json()["type"].endswith(":no-promise")
    app_id = c.post(
        "/v1/enterprise/credit/repairs",
        headers=platform.headers("enterprise"),
        json={"record": uid, "statement": "申请修复", "corrected": "已补缴税款", "promise": True},
    ).json()["id"]
    assert (
        c.post(
            f"/v1/department/credit/repairs/{app_id}/decision",
            headers=platform.headers("official2"),
            json={"approve": True},
        ).status_code
        == 200
    )
    for who in ("public", "inspector", "official", "official3"):  # withdrawn from sharing, its application too
        seen = _standing(platform, who, uscc)
        assert uid not in {r["uid"] for r in seen["records"]} and uid not in str(seen.get("repairs", [])), who
    own = [r for r in _standing(platform, "enterprise", uscc)["records"] if r["uid"] == uid]
    assert own and own[0]["status_zh"] == "已修复" and own[0]["repaired_on"] == str(TODAY)
    recorder = [r for r in _standing(platform, "official2", uscc)["records"] if r["uid"] == uid]
    assert recorder and recorder[0]["repaired_on"] == str(TODAY)  # 谁认定、谁修复: the recorder still sees it
    assert [a["record"] for a in _standing(platform, "official2", uscc)["repairs"]] == [uid]
