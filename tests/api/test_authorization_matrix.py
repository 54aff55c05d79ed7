"""Every route against every role, anonymous, and a second owner of the same role: the exact allowed set."""

from __future__ import annotations

import uuid

WHO = [
    "anonymous",
    "citizen",
    "citizen2",
    "enterprise",
    "enterprise2",
    "inspector",
    "official",
    "official2",
    "official3",
    "admin",
]
EVERYONE = set(WHO)
ADMIN = {"admin"}

# (method, path) -> who may call it. A route missing here fails the test: new routes must be classified.
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("POST", "/v1/auth/token"): EVERYONE,
    ("POST", "/v1/auth/login"): EVERYONE,
    ("POST", "/v1/auth/oidc"): EVERYONE,  # 404 unless the unified login is configured (tests/api/test_production_mode)
    ("GET", "/v1/citizen/me"): {"citizen", "citizen2"},
    ("GET", "/v1/enterprise/me"): {"enterprise", "enterprise2"},
    ("GET", "/v1/enterprise/enterprises/{uscc}"): {"enterprise"},  # the owner only, not enterprise2
    ("GET", "/v1/inspector/me"): {"inspector"},
    ("GET", "/v1/inspector/enterprises/{uscc}"): {"inspector"},
    ("GET", "/v1/department/me"): {"official", "official2", "official3"},
    ("POST", "/v1/citizen/certificates"): {"citizen", "citizen2"},
    ("GET", "/v1/citizen/certificates"): {"citizen", "citizen2"},
    ("GET", "/v1/citizen/certificates/{number}"): {"citizen"},  # the owner only
    ("GET", "/v1/citizen/certificates/{number}/pdf"): {"citizen"},
    ("POST", "/v1/enterprise/certificates"): {"enterprise", "enterprise2"},
    ("GET", "/v1/enterprise/certificates"): {"enterprise", "enterprise2"},
    ("GET", "/v1/enterprise/certificates/{number}"): {"enterprise"},
    ("GET", "/v1/enterprise/certificates/{number}/pdf"): {"enterprise"},
    ("POST", "/v1/enterprise/webhooks"): {"enterprise", "enterprise2"},
    ("GET", "/v1/enterprise/webhooks"): {"enterprise", "enterprise2"},
    ("DELETE", "/v1/enterprise/webhooks/{webhook_id}"): {"enterprise"},
    ("GET", "/v1/enterprise/webhooks/{webhook_id}/deliveries"): {"enterprise"},
    # The certificate is the social-insurance bureau's: the tax bureau's official may not touch it.
    ("POST", "/v1/department/certificates/{number}/suspend"): {"official"},
    ("POST", "/v1/department/certificates/{number}/reinstate"): {"official"},
    ("POST", "/v1/department/certificates/{number}/revoke"): {"official"},
    # Bulk issuance of a tax kind: the tax bureau's officials and the admin; the job is theirs to see.
    ("POST", "/v1/department/certificate-jobs"): {"official2", "admin"},
    # The kind is the social-insurance bureau's (tests/kinds/test_attestations_api.py): only its official issues it.
    ("POST", "/v1/department/attestations"): {"official"},
    ("GET", "/v1/department/certificate-jobs/{job_id}"): {"official2", "admin"},
    ("GET", "/v1/department/certificate-jobs/{job_id}/results"): {"official2", "admin"},
    ("GET", "/v1/admin/users"): ADMIN,
    ("POST", "/v1/admin/users"): ADMIN,
    ("POST", "/v1/admin/users/{username}/disable"): ADMIN,
    ("GET", "/v1/admin/clients"): ADMIN,
    ("POST", "/v1/admin/clients"): ADMIN,
    ("POST", "/v1/admin/clients/{client_id}/disable"): ADMIN,
    ("GET", "/v1/admin/audit"): ADMIN,
    ("GET", "/v1/admin/audit/verify"): ADMIN,
    ("GET", "/v1/public/enterprises/{uscc}"): EVERYONE,
    ("GET", "/v1/verify/status/{digest}"): EVERYONE,
    ("POST", "/v1/verify"): EVERYONE,
    ("GET", "/v1/verify/keys"): EVERYONE,
    ("POST", "/v1/verify/holder"): EVERYONE,  # one bit per guess, rate-limited per caller
    ("GET", "/v1/credit/code/{code}"): EVERYONE,
    ("POST", "/v1/department/credit/records"): {"official", "official2", "official3"},
    # Each official records its own department's kind (tax arrears, SI arrears); lists are market supervision's.
    ("POST", "/v1/department/credit/lists"): {"official3"},  # market supervision's officials only
    ("POST", "/v1/department/credit/lists/{entry_id}/end"): {"official3"},  # the department that made the entry
    # The record under repair is the social-insurance bureau's: only its official decides.
    ("POST", "/v1/department/credit/repairs/{application_id}/decision"): {"official"},
    ("GET", "/v1/department/credit/enterprises/{uscc}"): {"official", "official2", "official3"},
    ("GET", "/v1/enterprise/credit"): {"enterprise", "enterprise2"},
    ("GET", "/v1/enterprise/credit/code"): {"enterprise", "enterprise2"},
    ("POST", "/v1/enterprise/credit/repairs"): {"enterprise", "enterprise2"},
    ("POST", "/v1/enterprise/credit/report"): {"enterprise", "enterprise2"},
    ("POST", "/v1/inspector/scan"): {"inspector"},
    ("POST", "/v1/inspector/inspections"): {"inspector"},
    ("GET", "/v1/inspector/enterprises/{uscc}/standing"): {"inspector"},
    ("GET", "/v1/public/enterprises/{uscc}/standing"): EVERYONE,
    ("POST", "/v1/public/codes/check"): EVERYONE,
    ("POST", "/v1/department/credit/draws"): {"official3"},  # market supervision's officials only
    # 扫码入企: the enterprise sees, rates (its own visits only) and objects; departments answer and see aggregates
    ("GET", "/v1/enterprise/credit/visits"): {"enterprise", "enterprise2"},
    ("POST", "/v1/enterprise/credit/visits/{uid}/rating"): {"enterprise"},  # the first enterprise's visit
    ("POST", "/v1/enterprise/credit/objections"): {"enterprise", "enterprise2"},
    ("GET", "/v1/department/credit/objections"): {"official", "official2", "official3"},
    # The objection is to a visit market supervision led: only its officials answer.
    ("POST", "/v1/department/credit/objections/{uid}/answer"): {"official3"},
    ("GET", "/v1/department/credit/ratings"): {"official", "official2", "official3"},
    ("GET", "/v1/department/credit/alerts"): {"official", "official2", "official3"},
    ("POST", "/v1/department/credit/triggers"): {"official", "official2", "official3"},
    ("POST", "/v1/department/credit/tax-grades"): {"official2"},  # the tax bureau's officials only
    ("GET", "/v1/public/draws"): EVERYONE,
    ("GET", "/v1/public/draws/{uid}"): EVERYONE,
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/readyz"): EVERYONE,
    ("GET", "/metrics"): EVERYONE,
    ("GET", "/"): EVERYONE,
    ("GET", "/verify"): EVERYONE,
}
HTML_PAGES = {("GET", "/"), ("GET", "/verify")}  # not in the OpenAPI spec
PUBLIC_AUTH = {("POST", "/v1/auth/token"), ("POST", "/v1/auth/login"), ("POST", "/v1/auth/oidc")}


OWN_KIND = {"tax.440604": "tax_arrears", "si.440604": "si_arrears", "amr.440604": "penalty_minor"}


def _credit_record(platform, uscc: str, department: str) -> str:
    from datetime import date

    from credit import workflows
    from store.db import transaction

    with transaction(platform.ctx.sessions) as session:
        return workflows.record(
            platform.ctx.credit,
            session,
            uscc=uscc,
            type=OWN_KIND[department],
            department=department,
            decided_on=date.today(),
            summary="matrix",
            reference="",
            actor="user:matrix",
        ).uid


def _list_entry(platform) -> int:
    from datetime import date

    from credit import workflows
    from store.db import transaction

    with transaction(platform.ctx.sessions) as session:
        return workflows.list_entry(
            platform.ctx.credit,
            session,
            uscc=platform.usccs[0],
            list_name="black",
            department="amr.440604",
            start_on=date.today(),
            end_on=None,
            reason="matrix",
            reference="",
            actor="user:matrix",
        ).id


def _repair_application(platform) -> int:
    from credit import workflows
    from store.db import transaction

    uid = _credit_record(platform, platform.usccs[0], "si.440604")
    with transaction(platform.ctx.sessions) as session:
        return workflows.apply_repair(
            platform.ctx.credit,
            session,
            uscc=platform.usccs[0],
            record_uid=uid,
            statement="matrix",
            corrected="matrix",
            promise=True,
            actor="client:matrix",
        ).id


def _visit_uid(platform, uscc: str | None = None) -> str:
    """A visit to the first enterprise, opened by inspector1's scan of its code."""
    from datetime import UTC, datetime, timedelta

    from credit import inspections
    from store.db import transaction

    uscc, began = uscc or platform.usccs[0], datetime.now(UTC) - timedelta(minutes=30)
    with transaction(platform.ctx.sessions) as session:
        scan = inspections.record_scan(
            platform.ctx.credit, session, uscc=uscc, inspector="inspector1", department="amr.440604",
            at=began - timedelta(minutes=1), actor="user:matrix",
        )  # fmt: skip
        return inspections.record_inspection(
            platform.ctx.credit, session, uscc=uscc, departments=["amr.440604"], inspectors=["inspector1"],
            items=[{"item": "matrix", "ok": True}], findings="", result="pass", evidence=[], started_at=began,
            scan=scan.uid, reason="referral", actor="user:matrix",
        ).uid  # fmt: skip


def _objection_uid(platform) -> str:
    """The first enterprise's objection to a visit market supervision led."""
    from credit import visits
    from store.db import transaction

    uid = _visit_uid(platform)
    with transaction(platform.ctx.sessions) as session:
        return visits.file_objection(
            platform.ctx.credit, session, uscc=platform.usccs[0], text="matrix", visit_uid=uid, actor="client:matrix"
        ).uid


def _draw_uid(platform) -> str:
    from credit import draws
    from store.db import transaction

    with transaction(platform.ctx.sessions) as session:
        row, seed = draws.commit(platform.ctx.credit, session, targets=1, per_target=1, actor="user:matrix")
        return draws.reveal(platform.ctx.credit, session, row, seed).uid


def _job_uid(platform) -> str:
    from store.db import transaction
    from zero_errand import bulk

    with transaction(platform.ctx.sessions) as session:
        return bulk.create_job(
            session,
            platform.ctx.pii,
            kind="tax-enterprise",
            period_from="2025-01",
            period_to="2025-06",
            department="tax.440604",
            actor="user:matrix",
        ).uid


def _request(platform, method: str, path: str, who: str):
    number = platform.certs["enterprise" if path.startswith("/v1/enterprise") else "citizen"]
    if "{job_id}" in path:
        path = path.replace("{job_id}", _job_uid(platform))
    if path.endswith("/{uid}/rating"):
        path = path.replace("{uid}", _visit_uid(platform))
    elif path.endswith("/{uid}/answer"):
        path = path.replace("{uid}", _objection_uid(platform))
    elif "{uid}" in path:
        path = path.replace("{uid}", _draw_uid(platform))
    if "{entry_id}" in path:
        path = path.replace("{entry_id}", str(_list_entry(platform)))
    if "{application_id}" in path:
        path = path.replace("{application_id}", str(_repair_application(platform)))
    url = (
        path.replace("{uscc}", platform.usccs[0])
        .replace("{username}", "citizen2")
        .replace("{client_id}", platform.client.creds.clients[1][0])
        .replace("{number}", number)
        .replace("{webhook_id}", str(platform.webhook))
        .replace("{digest}", "0x" + "ab" * 32)
        .replace("{code}", "91110000600037341L")
    )
    body = None
    if path == "/v1/department/attestations":
        from tests.kinds.test_attestations_api import _body, _registered

        _registered(platform)  # registering the same kind again changes nothing
        body = _body(platform)
    elif path == "/v1/department/certificate-jobs":
        body = {"kind": "tax-enterprise", "period_from": "2025-01", "period_to": "2025-06"}
    elif path.endswith("/certificates") and method == "POST":
        kind = "tax-enterprise" if path.startswith("/v1/enterprise") else "si-individual"
        body = {"kind": kind, "period_from": "2025-02", "period_to": "2025-03"}
    elif path.endswith(("/revoke", "/suspend")):
        body = {"reason": 4, "note": "matrix"}
    elif path == "/v1/verify":
        body = {"text": "https://zel.example/verify#1"}
    elif path == "/v1/verify/holder":
        from sqlalchemy import select

        from store.models import Certificate

        with platform.ctx.sessions() as session:
            digest = session.scalars(select(Certificate.digest).where(Certificate.number == number)).one()
        body = {"digest": digest, "identifier": platform.usccs[0]}
    elif path == "/v1/enterprise/webhooks" and method == "POST":
        body = {"url": "https://erp.example.com/zel", "events": ["certificate.issued"]}
    elif path.endswith("/reinstate"):
        body = {"note": "matrix"}
    elif path == "/v1/admin/users":
        body = {"username": "u" + uuid.uuid4().hex[:8], "role": "inspector", "department": "amr.440604"}
    elif path == "/v1/admin/clients":
        body = {"uscc": platform.usccs[1], "name": "matrix"}
    elif path == "/v1/department/credit/records":
        own = {"official": "si_arrears", "official3": "penalty_minor"}.get(who, "tax_arrears")
        body = {"uscc": platform.usccs[0], "type": own, "decided_on": "2026-01-05", "summary": "matrix"}
    elif path == "/v1/department/credit/lists":
        body = {"uscc": platform.usccs[0], "list": "red", "start_on": "2026-01-05", "reason": "matrix"}
    elif path == "/v1/enterprise/credit/report":
        body = {"period_from": "2024-01-01", "period_to": "2025-12-31"}
    elif path == "/v1/department/credit/draws":
        body = {"targets": 1}
    elif path.endswith("/end"):
        body = {"reason": "matrix"}
    elif path.endswith("/decision"):
        body = {"approve": False, "note": "matrix"}
    elif path == "/v1/enterprise/credit/repairs":
        mine = platform.usccs[1] if who == "enterprise2" else platform.usccs[0]
        body = {
            "record": _credit_record(platform, mine, "tax.440604"),
            "statement": "matrix",
            "corrected": "matrix",
            "promise": True,
        }
    elif path in ("/v1/inspector/scan", "/v1/public/codes/check"):
        from credit.codes_qr import enterprise_code

        body = {
            "text": enterprise_code(
                platform.ctx.ledger,
                platform.ctx.certificates.keys["amr.440604"],
                "https://zel.example",
                platform.usccs[0],
            )
        }
    elif path == "/v1/inspector/inspections":
        from datetime import UTC, datetime

        from credit import inspections
        from store.db import transaction

        with transaction(platform.ctx.sessions) as session:  # 扫码入企: inspector1 scanned the code first
            scan = inspections.record_scan(
                platform.ctx.credit, session, uscc=platform.usccs[0], inspector="inspector1",
                department="amr.440604", actor="user:inspector1",
            )  # fmt: skip
            started_at = scan.started_at or datetime.now(UTC)
        body = {
            "uscc": platform.usccs[0],
            "departments": ["amr.440604"],
            "items": [{"item": "matrix", "ok": True}],
            "result": "pass",
            "started_at": started_at.isoformat(),
            "scan": scan.uid,
            "reason": "referral",
        }
    elif path.endswith("/rating"):
        body = {"stars": 4, "comment": "matrix"}
    elif path == "/v1/enterprise/credit/objections":
        mine = platform.usccs[1] if who == "enterprise2" else platform.usccs[0]
        body = {"record": _credit_record(platform, mine, "tax.440604"), "text": "matrix"}
    elif path.endswith("/answer"):
        body = {"text": "matrix"}
    elif path == "/v1/department/credit/triggers":
        body = {"uscc": platform.usccs[0], "kind": "complaint", "reason": "matrix"}
    elif path == "/v1/department/credit/tax-grades":
        body = {"uscc": platform.usccs[0], "year": 2025, "grade": "B", "decided_on": "2026-04-10"}
    return platform.client.request(method, url, json=body, headers=platform.headers(who))


def test_every_route_is_classified(platform):
    spec = platform.app.openapi()["paths"]
    routes = {(m.upper(), path) for path, item in spec.items() for m in item} | HTML_PAGES
    assert routes - set(EXPECTED) == set(), "classify new routes in EXPECTED"
    assert set(EXPECTED) - routes == set(), "EXPECTED names routes that no longer exist"


def test_authorization_matrix(platform):
    wrong = []
    # Deleting the webhook must come after the routes that read it, and disabling citizen2 and enterprise2's client
    # after everything else: their tokens stop working on the next request (issue 15.3).
    order = sorted(EXPECTED.items(), key=lambda item: (item[0][1].endswith("/disable"), item[0][0] == "DELETE"))
    for (method, path), allowed in order:
        if (method, path) in PUBLIC_AUTH:
            continue  # credentials in the body decide; covered by test_auth
        for who in WHO:
            status = _request(platform, method, path, who).status_code
            if who in allowed:
                ok = status not in (401, 403, 404)  # 404 here would mean the owner cannot see its own
            elif who == "anonymous":
                ok = status == 401
            elif (
                ("{number}" in path or "{webhook_id}" in path or path.endswith("/{uid}/rating"))
                and not path.startswith("/v1/department")
                and who.rstrip("2") in allowed
            ):
                ok = status == 404  # another owner's certificate: not even its existence is revealed
            elif "{job_id}" in path and who.startswith("official"):
                ok = status == 404  # another department's job: not even its existence is revealed
            else:
                ok = status == 403
            if not ok:
                wrong.append(f"{method} {path} as {who}: {status}")
    assert wrong == []


def test_denials_are_problem_documents(platform):
    r = platform.client.get("/v1/admin/users")
    assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:zel:problem:unauthenticated" and r.headers["www-authenticate"] == "Bearer"
    r = platform.client.get(f"/v1/enterprise/enterprises/{platform.usccs[0]}", headers=platform.headers("enterprise2"))
    assert r.status_code == 403 and r.json()["type"] == "urn:zel:problem:not-owner"
    r = platform.client.get("/v1/admin/users", headers=platform.headers("official"))
    assert r.json()["type"] == "urn:zel:problem:forbidden" and "admin" in r.json()["detail"]


def test_citizens_see_only_themselves(platform):
    one = platform.client.get("/v1/citizen/me", headers=platform.headers("citizen")).json()
    two = platform.client.get("/v1/citizen/me", headers=platform.headers("citizen2")).json()
    assert one["username"] == "citizen1" and two["username"] == "citizen2"
    assert one["id_number_masked"] != two["id_number_masked"]
    assert one["id_number_masked"].startswith("4406") and "*" * 10 in one["id_number_masked"]


def test_enterprises_see_only_themselves(platform):
    me = platform.client.get("/v1/enterprise/me", headers=platform.headers("enterprise2")).json()
    assert me["uscc"] == platform.usccs[1]
