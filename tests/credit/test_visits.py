"""Scan to enter (扫码入企) on SQLite and PostgreSQL: every scan is a signed event anchored with the inspections; an
inspection needs a scan by one of its inspectors before it starts (or, in an emergency, before it ends); a visit
outside the schedule gives a reason from the rule file; complaints make an inspection due; one visit too many for
the class raises an alert, joint visits counting once. Every refusal is tried from the wrong side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak
from sqlalchemy import func, select

from api.security import Principal
from api.services import add_user
from credit import draws, inspections, visits
from credit.grading import load_policy
from ledger.kinds import Kind
from qr.signed import canonical
from store.db import transaction
from store.models import AnchorBatch, Inspection, InspectionTrigger, Role, User, VisitAlert
from tests.credit.test_credit_api import one_code

AMR, TAX = "amr.440604", "tax.440604"
ITEMS = [{"item": "营业执照公示", "ok": True}]


def staff(platform, username: str, department: str, role: Role = Role.INSPECTOR) -> dict[str, str]:
    """A new user of `department` and the headers of its token."""
    with transaction(platform.ctx.sessions) as s:
        add_user(s, platform.ctx.pii, Principal("user:admin", Role.ADMIN), username=username, role=role,
                 department=department)  # fmt: skip
    token = platform.ctx.tokens.issue(Principal(f"user:{username}", role, department=department))[0]
    return {"Authorization": f"Bearer {token}"}


def scan(platform, headers: dict[str, str], uscc: str, purpose: str = "enter") -> dict:
    r = platform.client.post(
        "/v1/inspector/scan", headers=headers, json={"text": one_code(platform, uscc), "purpose": purpose}
    )
    assert r.status_code == 200, r.text
    return r.json()["scan"]


def inspect(platform, headers: dict[str, str], uscc: str, **extra):
    body = {"uscc": uscc, "departments": [AMR], "items": ITEMS, "result": "pass", **extra}
    body.setdefault("started_at", datetime.now(UTC).isoformat())
    return platform.client.post("/v1/inspector/inspections", headers=headers, json=body)


def visit(platform, uscc: str, *, days_ago: int = 0, inspector: str = "inspector1", department: str = AMR, **extra):
    """An inspection recorded directly (backdated as needed), opened by a scan of the code five minutes before; a
    complaint or alert given as its reason is recorded by market supervision an hour before."""
    began = datetime.now(UTC) - timedelta(days=days_ago, minutes=30)
    with transaction(platform.ctx.sessions) as s:
        if extra.get("reason") in inspections.RECORDED_REASONS:
            visits.add_trigger(
                s, uscc=uscc, kind=extra["reason"], reason="test", reference="", department=AMR, actor="user:amr"
            ).recorded_at = began - timedelta(hours=1)
        entered = inspections.record_scan(
            platform.ctx.credit, s, uscc=uscc, inspector=inspector, department=department,
            at=began - timedelta(minutes=5), actor=f"user:{inspector}",
        )  # fmt: skip
        row = inspections.record_inspection(
            platform.ctx.credit, s, uscc=uscc, departments=extra.pop("departments", [department]),
            inspectors=[inspector], items=ITEMS, findings="", result="pass", evidence=[], started_at=began,
            ended_at=began + timedelta(minutes=20), scan=entered.uid, actor=f"user:{inspector}", **extra,
        )  # fmt: skip
        return row.uid


def test_a_scan_is_a_signed_event_anchored_with_the_inspections(platform) -> None:
    c, uscc, h = platform.client, platform.usccs[1], platform.headers("inspector")
    r = c.post("/v1/inspector/scan", headers=h, json={"text": one_code(platform, uscc)})
    assert r.status_code == 200, r.text
    answer = r.json()
    event = answer["scan"]
    assert answer["uscc"] == uscc and answer["inspection"]["due"] is True and answer["inspections"] == []
    signer = Account.recover_message(
        encode_defunct(primitive=bytes.fromhex(event["digest"][2:])), signature=event["signature"]
    )
    assert signer == platform.ctx.credit.keys[AMR].address  # market supervision's key signed it
    with platform.ctx.sessions() as s:
        row = s.scalars(select(Inspection).where(Inspection.uid == event["uid"])).one()
    assert (row.kind, row.purpose, row.result, row.items, row.state) == ("scan", "enter", "", [], "ISSUED")
    assert row.inspectors == ["inspector1"] and row.departments == [AMR] and row.created_by == "user:inspector1"
    assert row.content["inspector"] == "inspector1" and row.content["department"] == AMR
    assert datetime.fromisoformat(row.content["at"]) == row.started_at == datetime.fromisoformat(event["scanned_at"])
    assert row.digest == event["digest"] == "0x" + keccak(canonical(row.content)).hex()
    assert uscc not in str(row.content)  # the subject is a keyed commitment
    leave = scan(platform, h, uscc, "leave")
    platform.ctx.credit.sync(force=True)
    with platform.ctx.sessions() as s:
        rows = s.scalars(select(Inspection).where(Inspection.uid.in_([event["uid"], leave["uid"]]))).all()
        assert {r.state for r in rows} == {"ANCHORED"} and {r.purpose for r in rows} == {"enter", "leave"}
        batch = s.get_one(AnchorBatch, rows[0].batch_id)
        assert batch.kind == int(Kind.INSPECTION) and batch.state == "ANCHORED"
    # scans are not inspections: nobody's published list or count of visits includes them
    public = c.get(f"/v1/public/enterprises/{uscc}/standing").json()
    assert public["inspections"] == []
    again = c.post("/v1/inspector/scan", headers=h, json={"text": one_code(platform, uscc)}).json()
    assert again["inspection"]["last_inspected"] is None and again["inspections"] == []


def test_scans_are_refused_from_the_wrong_side_and_record_nothing(platform) -> None:
    c, uscc = platform.client, platform.usccs[0]
    code = one_code(platform, uscc)

    def scans() -> int:
        with platform.ctx.sessions() as s:
            return s.scalar(select(func.count()).select_from(Inspection).where(Inspection.kind == "scan")) or 0

    before = scans()
    for who, status in (("anonymous", 401), ("enterprise", 403), ("official3", 403), ("admin", 403)):
        assert c.post("/v1/inspector/scan", headers=platform.headers(who), json={"text": code}).status_code == status
    h = platform.headers("inspector")
    forged = code.replace(uscc, platform.usccs[1])  # a code moved onto another enterprise
    assert c.post("/v1/inspector/scan", headers=h, json={"text": forged}).status_code == 422
    assert c.post("/v1/inspector/scan", headers=h, json={"text": code + "0" * 600}).status_code == 422  # oversized
    assert c.post("/v1/inspector/scan", headers=h, json={"text": code, "purpose": "sideways"}).status_code == 422
    gone = staff(platform, "inspector-gone", AMR)
    with transaction(platform.ctx.sessions) as s:
        s.scalars(select(User).where(User.username == "inspector-gone")).one().disabled = True
    r = c.post("/v1/inspector/scan", headers=gone, json={"text": code})
    assert r.status_code == 403 and r.json()["type"].endswith("account-disabled")
    office = staff(platform, "office-inspector", "dsj.440604")  # the data office keeps no credit records
    assert c.post("/v1/inspector/scan", headers=office, json={"text": code}).status_code == 422
    assert scans() == before


def test_an_inspection_needs_a_scan_by_one_of_its_inspectors_before_it_starts(platform) -> None:
    uscc, other = platform.usccs[1], platform.usccs[0]
    h, tax = platform.headers("inspector"), staff(platform, "tax-inspector", TAX)
    r = inspect(platform, h, uscc)
    assert r.status_code == 409 and "no scan opens this visit" in r.json()["detail"]
    theirs = scan(platform, tax, uscc)  # another department's inspector, not in this visit
    r = inspect(platform, h, uscc, scan=theirs["uid"], started_at=theirs["scanned_at"])
    assert r.status_code == 409 and "made by tax-inspector, not an inspector of this visit" in r.json()["detail"]
    assert inspect(platform, h, uscc, started_at=theirs["scanned_at"]).status_code == 409  # not found by itself
    elsewhere = scan(platform, h, other)  # the code of another enterprise
    r = inspect(platform, h, uscc, scan=elsewhere["uid"], started_at=elsewhere["scanned_at"])
    assert r.status_code == 409 and "another enterprise's code" in r.json()["detail"]
    leaving = scan(platform, h, uscc, "leave")
    r = inspect(platform, h, uscc, scan=leaving["uid"], started_at=leaving["scanned_at"])
    assert r.status_code == 409 and "is a leave scan" in r.json()["detail"]
    now = datetime.now(UTC)
    with transaction(platform.ctx.sessions) as s:  # longer before the start than the rule file allows
        early = inspections.record_scan(
            platform.ctx.credit, s, uscc=uscc, inspector="inspector1", department=AMR,
            at=now - timedelta(minutes=load_policy().scan_before_minutes, seconds=1), actor="user:inspector1",
        ).uid  # fmt: skip
    r = inspect(platform, h, uscc, scan=early, started_at=now.isoformat())
    assert r.status_code == 409 and "too early" in r.json()["detail"]
    assert inspect(platform, h, uscc, started_at=now.isoformat()).status_code == 409
    entered = scan(platform, h, uscc)
    at = datetime.fromisoformat(entered["scanned_at"])
    r = inspect(platform, h, uscc, scan=entered["uid"], started_at=(at - timedelta(seconds=1)).isoformat())
    assert r.status_code == 409 and "too late" in r.json()["detail"]  # scanned after the visit began
    assert inspect(platform, h, uscc, scan="0" * 36, started_at=entered["scanned_at"]).status_code == 409
    assert inspect(platform, h, uscc, inspectors=["nobody"], started_at=entered["scanned_at"]).status_code == 422
    began = datetime.now(UTC)  # the visit began a moment after the scan
    start = began.isoformat()
    assert (
        inspect(platform, h, uscc, started_at=start, ended_at=(at + timedelta(days=1)).isoformat()).status_code == 422
    )
    assert inspect(platform, h, uscc, started_at=start, ended_at=entered["scanned_at"]).status_code == 422
    assert inspect(platform, h, uscc, started_at=start.replace("+00:00", "")).status_code == 422  # no time zone
    r = inspect(platform, h, uscc, started_at=start)  # the scan a moment before the start is found
    assert r.status_code == 201, r.text
    assert r.json()["scan"] == entered["uid"] and r.json()["reason"] == "schedule"
    with platform.ctx.sessions() as s:
        row = s.scalars(select(Inspection).where(Inspection.uid == r.json()["uid"])).one()
        opening = s.scalars(select(Inspection).where(Inspection.uid == entered["uid"])).one()
    assert row.scan_id == opening.id and row.content["scan"] == opening.digest and row.started_at == began
    r = inspect(platform, h, uscc, scan=entered["uid"], started_at=start, reason="complaint")
    assert r.status_code == 409 and "already opened inspection" in r.json()["detail"]  # one scan, one visit
    # a listed inspector's scan opens a joint visit (here the tax inspector's, of the first enterprise)
    joint = scan(platform, tax, other)
    # ... but only an inspector of a department of the visit is listed: naming a colleague elsewhere, whose scan
    # would open it, is refused
    r = inspect(platform, h, other, departments=[AMR], inspectors=["tax-inspector"], started_at=joint["scanned_at"])
    assert r.status_code == 422 and "tax-inspector is not of a department of this visit" in r.json()["detail"]
    r = inspect(
        platform, h, other, departments=[AMR, TAX], inspectors=["tax-inspector"], started_at=joint["scanned_at"]
    )
    assert r.status_code == 201, r.text
    assert r.json()["scan"] == joint["uid"]
    # officials and enterprises cannot record one at all
    for who, status in (("official3", 403), ("enterprise", 403), ("anonymous", 401)):
        assert inspect(platform, platform.headers(who), uscc).status_code == status


def test_an_emergency_entry_needs_a_scan_before_leaving(platform) -> None:
    uscc, h = platform.usccs[1], platform.headers("inspector")
    began = datetime.now(UTC) - timedelta(minutes=40)
    why = "燃气泄漏，先行处置"
    r = inspect(platform, h, uscc, started_at=began.isoformat(), emergency=why)
    assert r.status_code == 409 and "emergency visit needs a scan" in r.json()["detail"]
    with transaction(platform.ctx.sessions) as s:  # a scan before the start is no scan during the visit
        before = inspections.record_scan(
            platform.ctx.credit, s, uscc=uscc, inspector="inspector1", department=AMR,
            at=began - timedelta(minutes=1), actor="user:inspector1",
        ).uid  # fmt: skip
    r = inspect(platform, h, uscc, started_at=began.isoformat(), emergency=why, scan=before)
    assert r.status_code == 409 and "too early" in r.json()["detail"]
    leaving = scan(platform, h, uscc, "leave")
    r = inspect(platform, h, uscc, started_at=began.isoformat(), emergency=why)
    assert r.status_code == 201, r.text
    assert r.json()["scan"] == leaving["uid"]
    with platform.ctx.sessions() as s:
        row = s.scalars(select(Inspection).where(Inspection.uid == r.json()["uid"])).one()
    assert row.emergency == why and row.content["emergency"] == why and row.reason == "schedule"
    assert inspect(platform, h, uscc, emergency="x" * 501).status_code == 422  # oversized


def test_an_unscheduled_inspection_needs_a_reason_from_the_rule_file(platform) -> None:
    uscc, h = platform.usccs[0], platform.headers("inspector")
    visit(platform, uscc, days_ago=30)  # the schedule's visit: not due again for years (class A)

    def fresh(**extra):
        entered = scan(platform, h, uscc)
        return inspect(platform, h, uscc, started_at=entered["scanned_at"], scan=entered["uid"], **extra)

    r = fresh()
    assert r.status_code == 422
    assert all(reason in r.json()["detail"] for reason in load_policy().unscheduled_reasons), r.json()["detail"]
    for reason in ("schedule", "boredom", "random_draw"):  # not due; not a reason; a draw without its draw
        assert fresh(reason=reason).status_code == 422, reason
    assert fresh(reason="emergency").status_code == 422  # an emergency says what it was
    with transaction(platform.ctx.sessions) as s:  # committed, not drawn yet: it drew nobody
        pending = draws.commit(platform.ctx.credit, s, targets=3, per_target=1, actor="user:amr-official")[0].id
    r = fresh(reason="random_draw", draw_id=pending)
    assert r.status_code == 422 and f"did not draw {uscc}" in r.json()["detail"]
    with transaction(platform.ctx.sessions) as s:  # one of the three enterprises: this one or another
        row, seed = draws.commit(platform.ctx.credit, s, targets=1, per_target=1, actor="user:amr-official")
        one = draws.reveal(platform.ctx.credit, s, row, seed)
        one_id, picked = one.id, one.result[0]["uscc"]
    assert fresh(reason="random_draw", draw_id=one_id).status_code == (201 if picked == uscc else 422)
    with transaction(platform.ctx.sessions) as s:  # every enterprise
        row, seed = draws.commit(platform.ctx.credit, s, targets=3, per_target=1, actor="user:amr-official")
        every = draws.reveal(platform.ctx.credit, s, row, seed).id
    r = fresh(draw_id=every)
    assert r.status_code == 201 and r.json()["reason"] == "random_draw"
    assert fresh(draw_id=2**31).status_code == 422
    for claimed in ("complaint", "alert"):  # the inspector's word is not a department's record
        r = fresh(reason=claimed)
        assert r.status_code == 422 and f"no open {claimed}" in r.json()["detail"]
    r = fresh(reason="referral")
    assert r.status_code == 201 and r.json()["reason"] == "referral"


def test_a_complaint_makes_a_class_a_enterprise_due_and_an_inspection_closes_it(platform) -> None:
    c, uscc, h = platform.client, platform.usccs[0], platform.headers("inspector")
    visit(platform, uscc, days_ago=30)
    before = c.get(f"/v1/inspector/enterprises/{uscc}/standing", headers=h).json()
    assert before["grade"]["grade"] == "A" and before["inspection"]["due"] is False
    assert before["inspection"]["reasons"] == [] and before["inspection"]["open_triggers"] == 0
    body = {"uscc": uscc, "kind": "complaint", "reason": "消费者投诉：过期食品", "reference": "12345-2026-88"}
    for who, status in (("inspector", 403), ("enterprise", 403), ("anonymous", 401), ("admin", 403)):
        assert c.post("/v1/department/credit/triggers", headers=platform.headers(who), json=body).status_code == status
    for bad in ({"kind": "rumour"}, {"reason": "x" * 501}, {"reason": ""}, {"uscc": "123"}):
        assert (
            c.post(
                "/v1/department/credit/triggers", headers=platform.headers("official2"), json={**body, **bad}
            ).status_code
            == 422
        )
    missing = {**body, "uscc": "91110000600037341L"}  # a well-formed USCC of no enterprise here
    assert (
        c.post("/v1/department/credit/triggers", headers=platform.headers("official2"), json=missing).status_code == 404
    )
    r = c.post("/v1/department/credit/triggers", headers=platform.headers("official2"), json=body)
    assert r.status_code == 201, r.text
    trigger = r.json()
    assert trigger["department"] == TAX and trigger["closed_by"] is None
    answer = c.post("/v1/inspector/scan", headers=h, json={"text": one_code(platform, uscc)}).json()
    due = answer["inspection"]
    assert answer["grade"]["grade"] == "A" and due["due"] is True and due["open_triggers"] == 1
    assert due["due_on"] == before["inspection"]["due_on"]  # the schedule's date is kept
    (reason,) = due["reasons"]
    assert reason["kind"] == "complaint" and reason["reason"] == body["reason"] and reason["department"] == TAX
    own = c.get("/v1/enterprise/credit", headers=platform.headers("enterprise")).json()
    assert "inspection" not in own and body["reason"] not in str(own)  # who complained stays the departments'
    assert body["reason"] not in c.get(f"/v1/public/enterprises/{uscc}/standing").text
    r = inspect(platform, h, uscc, started_at=answer["scan"]["scanned_at"])
    assert r.status_code == 201 and r.json()["reason"] == "complaint"
    with platform.ctx.sessions() as s:
        row = s.scalars(select(InspectionTrigger).where(InspectionTrigger.uid == trigger["uid"])).one()
        closing = s.scalars(select(Inspection.id).where(Inspection.uid == r.json()["uid"])).one()
    assert row.closed_by == closing and row.closed_at is not None
    after = c.get(f"/v1/inspector/enterprises/{uscc}/standing", headers=h).json()["inspection"]
    assert after["due"] is False and after["reasons"] == [] and after["open_triggers"] == 0


def test_too_many_visits_raise_an_alert_and_joint_visits_count_once(platform) -> None:
    c, uscc = platform.client, platform.usccs[0]  # class A: one visit allowed in the window
    assert load_policy().visits_allowed["A"] == 1
    visit(platform, uscc, days_ago=60)
    visit(platform, uscc, days_ago=60, inspector="inspector1", departments=[AMR, TAX], reason="referral")  # same day
    with platform.ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(VisitAlert)) == 0  # a joint visit counts once
    over = visit(platform, uscc, days_ago=10, reason="complaint")
    with platform.ctx.sessions() as s:
        (alert,) = s.scalars(select(VisitAlert)).all()
        assert (alert.uscc, alert.grade, alert.visits, alert.allowed) == (uscc, "A", 2, 1)
        assert s.get_one(Inspection, alert.inspection_id).uid == over
    for who in ("official", "official2", "official3"):  # the district: officials of every department
        r = c.get("/v1/department/credit/alerts", headers=platform.headers(who))
        assert r.status_code == 200 and [(a["uscc"], a["visit"], a["visits"]) for a in r.json()] == [(uscc, over, 2)]
    for who, status in (("enterprise", 403), ("inspector", 403), ("anonymous", 401), ("citizen", 403)):
        assert c.get("/v1/department/credit/alerts", headers=platform.headers(who)).status_code == status
    mine = c.get("/v1/enterprise/credit/visits", headers=platform.headers("enterprise")).json()
    assert mine["alerts"] == 1
    (shown,) = [v for v in mine["visits"] if v["uid"] == over]
    assert [(a["visits"], a["allowed"]) for a in shown["alerts"]] == [(2, 1)]
    theirs = c.get("/v1/enterprise/credit/visits", headers=platform.headers("enterprise2")).json()
    assert theirs["alerts"] == 0 and over not in str(theirs)
    # scans are not visits: scanning again raises nothing
    scan(platform, platform.headers("inspector"), uscc)
    with platform.ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(VisitAlert)) == 1


def test_one_scan_opens_one_visit_even_when_two_are_recorded_at_once(platform) -> None:
    """Two inspectors' phones send a visit on the same scan at the same moment: one is recorded, one refused."""
    import threading

    from credit.ledger import CreditError

    uscc, began = platform.usccs[1], datetime.now(UTC) - timedelta(minutes=10)
    with transaction(platform.ctx.sessions) as s:
        entered = inspections.record_scan(
            platform.ctx.credit, s, uscc=uscc, inspector="inspector1", department=AMR,
            at=began - timedelta(minutes=1), actor="user:inspector1",
        ).uid  # fmt: skip
    ready, outcomes = threading.Barrier(2), []

    def record() -> None:
        ready.wait()
        try:
            with transaction(platform.ctx.sessions) as s:
                inspections.record_inspection(
                    platform.ctx.credit, s, uscc=uscc, departments=[AMR], inspectors=["inspector1"], items=ITEMS,
                    findings="", result="pass", evidence=[], started_at=began, scan=entered, reason="referral",
                    actor="user:inspector1",
                )  # fmt: skip
            outcomes.append("recorded")
        except CreditError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=record) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "recorded"]
    with platform.ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Inspection).where(Inspection.kind == "inspection")) == 1
