"""The enterprise's side of its visits on SQLite and PostgreSQL: it sees every scan and inspection recorded about it,
rates each inspection once and anonymously (departments see ratings only in groups of three or more), and objects
to a visit or a record; only the department concerned answers, in time or marked overdue. Tried from the wrong
side: another enterprise, another department, anonymous, forged and oversized input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import inspect as columns
from sqlalchemy import select

from credit.grading import load_policy
from store.db import transaction
from store.models import CreditRecord, Objection, VisitRating
from tests.credit.test_visits import AMR, TAX, scan, visit


def rate(platform, who: str, uid: str, stars: int = 4, comment: str = ""):
    return platform.client.post(
        f"/v1/enterprise/credit/visits/{uid}/rating",
        headers=platform.headers(who),
        json={"stars": stars, "comment": comment},
    )


def test_the_enterprise_sees_every_scan_and_visit_and_rates_each_once(platform) -> None:
    c, mine, theirs = platform.client, platform.usccs[0], platform.usccs[1]
    first = visit(platform, mine, days_ago=40)
    second = visit(platform, mine, days_ago=20, reason="complaint", departments=[AMR, TAX])
    other = visit(platform, theirs, days_ago=5)
    entered = scan(platform, platform.headers("inspector"), mine)
    shown = c.get("/v1/enterprise/credit/visits", headers=platform.headers("enterprise")).json()
    kinds = [(v["kind"], v["uid"]) for v in shown["visits"]]
    assert kinds[0] == ("scan", entered["uid"]) and ("inspection", second) in kinds and ("inspection", first) in kinds
    assert kinds.index(("inspection", second)) < kinds.index(("inspection", first))  # newest first
    assert len(kinds) == 5 and other not in json.dumps(shown)  # three scans, two visits, nothing of another's
    (joint,) = [v for v in shown["visits"] if v["uid"] == second]
    assert (
        joint["departments"] == [AMR, TAX] and joint["inspectors"] == ["inspector1"] and joint["reason"] == "complaint"
    )
    assert joint["items"][0]["item"] == "营业执照公示" and joint["result"] == "pass" and joint["rating"] is None
    assert joint["scan"] in {v["uid"] for v in shown["visits"] if v["kind"] == "scan"} and joint["started_at"]
    assert shown["visits"][0]["purpose"] == "enter" and shown["visits"][0]["signature"] == entered["signature"]

    r = rate(platform, "enterprise", first, 2, "检查人员态度生硬")
    assert r.status_code == 201 and r.json()["stars"] == 2
    assert rate(platform, "enterprise", first, 5).status_code == 409  # one rating per visit
    assert rate(platform, "enterprise2", second).status_code == 404  # another enterprise's visit
    assert rate(platform, "enterprise", other).status_code == 404  # nor may it rate theirs
    assert rate(platform, "enterprise", entered["uid"]).status_code == 404  # a scan is not a visit to rate
    assert rate(platform, "enterprise", "0" * 36).status_code == 404
    assert rate(platform, "enterprise", second, 6).status_code == 422
    assert rate(platform, "enterprise", second, 0).status_code == 422
    assert rate(platform, "enterprise", second, 3, "x" * 501).status_code == 422
    assert rate(platform, "enterprise", "short").status_code == 422
    for who, status in (("anonymous", 401), ("inspector", 403), ("official3", 403), ("citizen", 403)):
        assert rate(platform, who, second).status_code == status
    assert c.get("/v1/enterprise/credit/visits", headers=platform.headers("inspector")).status_code == 403
    assert c.get("/v1/enterprise/credit/visits").status_code == 401
    again = c.get("/v1/enterprise/credit/visits", headers=platform.headers("enterprise")).json()
    (rated,) = [v for v in again["visits"] if v["uid"] == first]
    assert rated["rating"]["stars"] == 2 and rated["rating"]["comment"] == "检查人员态度生硬"
    # anonymous: the rating keeps no rater, only the visit it is about
    assert {col.key for col in columns(VisitRating).mapper.column_attrs} == {
        "id",
        "inspection_id",
        "uscc",
        "stars",
        "comment",
        "rated_on",
    }


def test_departments_see_ratings_only_in_groups_of_three(platform) -> None:
    c, one, two = platform.client, platform.usccs[0], platform.usccs[1]
    visits = [
        visit(platform, one, days_ago=50),
        visit(platform, one, days_ago=30, reason="complaint"),
        visit(platform, two, days_ago=10, departments=[AMR, TAX]),
    ]
    amr, tax = platform.headers("official3"), platform.headers("official2")

    def seen(headers: dict[str, str]) -> dict:
        r = c.get("/v1/department/credit/ratings", headers=headers)
        assert r.status_code == 200, r.text
        return r.json()

    assert rate(platform, "enterprise", visits[0], 5, "高效专业").status_code == 201
    assert rate(platform, "enterprise", visits[1], 1, "一个月来了两次").status_code == 201
    for body in (seen(amr), seen(tax)):  # two ratings: nothing that could be traced to a visit
        text = json.dumps(body, ensure_ascii=False)
        assert body["overall"] == {"suppressed": True, "min_count": 3}
        assert "高效专业" not in text and "一个月来了两次" not in text and '"mean"' not in text
    assert rate(platform, "enterprise2", visits[2], 3, "").status_code == 201
    body = seen(amr)
    assert body["overall"] == {"suppressed": False, "count": 3, "mean": 3.0, "comments": ["一个月来了两次", "高效专业"]}
    (inspector,) = body["inspectors"]
    assert inspector["inspector"] == "inspector1" and inspector["count"] == 3
    text = json.dumps(body, ensure_ascii=False)
    assert not any(x in text for x in (one, two, *visits))  # neither enterprise nor visit
    assert seen(tax)["overall"]["suppressed"] is True  # the tax bureau took part in one rated visit only
    assert seen(platform.headers("official"))["overall"]["suppressed"] is True  # social insurance: none
    for who, status in (("enterprise", 403), ("inspector", 403), ("anonymous", 401), ("admin", 403)):
        assert c.get("/v1/department/credit/ratings", headers=platform.headers(who)).status_code == status


def test_objections_are_answered_only_by_the_department_concerned(platform) -> None:
    c, uscc = platform.client, platform.usccs[0]
    uid = visit(platform, uscc, days_ago=3)
    ent, ent2 = platform.headers("enterprise"), platform.headers("enterprise2")

    def objection(headers: dict[str, str], **body):
        return c.post("/v1/enterprise/credit/objections", headers=headers, json={"text": "检查结论与事实不符", **body})

    assert objection(ent2, visit=uid).status_code == 404  # another enterprise's visit
    assert objection(ent).status_code == 422  # neither a visit nor a record
    assert objection(ent, visit=uid, record="0" * 36).status_code == 422  # both
    assert objection(ent, visit=uid, text="x" * 2001).status_code == 422
    assert objection(ent, visit=uid, text="").status_code == 422
    for who, status in (("anonymous", 401), ("inspector", 403), ("official3", 403)):
        assert objection(platform.headers(who), visit=uid).status_code == status
    filed_at = datetime.now(UTC)
    r = objection(ent, visit=uid)
    assert r.status_code == 201, r.text
    filed = r.json()
    assert filed["department"] == AMR and filed["state"] == "OPEN"  # market supervision led the visit
    due = datetime.fromisoformat(filed["due_at"]) - filed_at
    assert timedelta(days=load_policy().objection_answer_days) - due < timedelta(seconds=5)
    assert objection(ent, visit=uid).status_code == 409  # one open objection to it at a time
    with platform.ctx.sessions() as s:
        row = s.scalars(select(Objection).where(Objection.uid == filed["uid"])).one()
        step = s.get_one(CreditRecord, row.filed_record_id)
    assert (step.type, step.department, step.state) == ("objection_filed", AMR, "APPENDED")  # on the chain
    # an objection to the tax bureau's record is the tax bureau's to answer
    record = c.post(
        "/v1/department/credit/records",
        headers=platform.headers("official2"),
        json={"uscc": uscc, "type": "tax_arrears", "decided_on": str(datetime.now(UTC).date()), "summary": "欠税"},
    ).json()["uid"]
    assert objection(ent2, record=record).status_code == 404
    r = objection(ent, record=record, text="税款已于当月缴清")
    assert r.status_code == 201 and r.json()["department"] == TAX
    late = r.json()["uid"]
    with transaction(platform.ctx.sessions) as s:  # as if filed long ago
        old = s.scalars(select(Objection).where(Objection.uid == late)).one()
        old.filed_at, old.due_at = old.filed_at - timedelta(days=30), old.due_at - timedelta(days=30)

    def listed(who: str) -> dict[str, dict]:
        r = c.get("/v1/department/credit/objections", headers=platform.headers(who))
        assert r.status_code == 200, r.text
        return {o["uid"]: o for o in r.json()}

    assert set(listed("official3")) == {filed["uid"]} and listed("official3")[filed["uid"]]["overdue"] is False
    assert listed("official3")[filed["uid"]]["visit"] == uid
    assert set(listed("official2")) == {late} and listed("official2")[late]["overdue"] is True
    assert listed("official") == {}
    for who, status in (("enterprise", 403), ("inspector", 403), ("anonymous", 401)):
        assert c.get("/v1/department/credit/objections", headers=platform.headers(who)).status_code == status

    def answer(who: str, uid: str, text: str = "经复核，检查结论无误"):
        return c.post(
            f"/v1/department/credit/objections/{uid}/answer", headers=platform.headers(who), json={"text": text}
        )

    for who, status in (("official2", 403), ("official", 403), ("enterprise", 403), ("inspector", 403)):
        assert answer(who, filed["uid"]).status_code == status, who
    assert answer("anonymous", filed["uid"]).status_code == 401
    assert answer("official3", "0" * 36).status_code == 404
    assert answer("official3", filed["uid"], "").status_code == 422
    r = answer("official3", filed["uid"])
    assert r.status_code == 200 and r.json()["state"] == "ANSWERED" and r.json()["late"] is False
    assert answer("official3", filed["uid"]).status_code == 409  # answered already
    r = answer("official2", late, "已核实，予以更正")
    assert r.status_code == 200 and r.json()["late"] is True
    with platform.ctx.sessions() as s:
        row = s.scalars(select(Objection).where(Objection.uid == filed["uid"])).one()
        step = s.get_one(CreditRecord, row.answer_record_id)
        filed_step = s.get_one(CreditRecord, row.filed_record_id)
    assert row.answered_by == "user:amr-official" and row.answer == "经复核，检查结论无误" and row.answered_at
    assert (step.type, step.department) == ("objection_answered", AMR) and step.public["target"] == filed_step.uid
    assert listed("official3") == {} and listed("official2") == {}
    shown = c.get("/v1/enterprise/credit/visits", headers=ent).json()
    (seen,) = [v for v in shown["visits"] if v["uid"] == uid]
    (o,) = seen["objections"]
    assert o["answer"] == "经复核，检查结论无误" and o["state"] == "ANSWERED" and o["answered_at"]
    (on_record,) = shown["record_objections"]
    assert on_record["record"] == record and on_record["answered_late"] is True
    assert platform.ctx.credit.audit(uscc)["ok"]
