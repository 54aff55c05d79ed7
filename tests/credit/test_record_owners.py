"""Each department writes only the credit record kinds it owns, and a list entry is changed or ended only by the
department that made it: refused at the API and the CLI before anything is stored, as the chain would refuse it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.security import Principal
from credit.ledger import SCOPE_OF
from ledger.errors import NotAuthorized
from ledger.keys import Keystore
from ledger.kinds import CreditScope, department_id, scopes_mask
from store.models import AuditEntry, CreditRecord, ListEntry, Role
from zero_errand.departments import DEPARTMENTS, credit_scopes

TODAY = date.today()
RECORDS = "/v1/department/credit/records"


def amr_headers(platform) -> dict[str, str]:
    """A market-supervision official (the demo's amr-official), signed in."""
    token = platform.ctx.tokens.issue(Principal("user:amr-official", Role.OFFICIAL, department="amr.440604"))[0]
    return {"Authorization": f"Bearer {token}"}


def counts(platform) -> tuple[int, int, int]:
    """Credit records, list entries and credit audit entries in the store."""
    with platform.ctx.sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(CreditRecord)),
            s.scalar(select(func.count()).select_from(ListEntry)),
            s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("credit.%"))),
        )


def record(platform, headers: dict[str, str], type: str, uscc: str | None = None):
    return platform.client.post(
        RECORDS,
        headers=headers,
        json={
            "uscc": uscc or platform.usccs[0],
            "type": type,
            "decided_on": str(TODAY - timedelta(days=2)),
            "summary": f"{type} 测试",
            "reference": "禅〔2026〕1号",
        },
    )


def test_the_service_goes_by_the_table_provisioning_admits() -> None:
    owners = {t: sorted(d for d, s in credit_scopes().items() if SCOPE_OF[t] in s) for t in SCOPE_OF}
    assert owners["tax_arrears"] == ["tax.440604"] and owners["si_arrears"] == ["si.440604"]
    for kind in (
        "penalty_minor",
        "penalty_general",
        "penalty_serious",
        "commendation",
        "dishonest_debtor",
        "inspection_pass",
        "list_red",
        "list_black",
    ):
        assert "amr.440604" in owners[kind] and "tax.440604" not in owners[kind] and "si.440604" not in owners[kind]


def test_a_tax_official_recording_a_penalty_is_refused_and_nothing_is_stored(platform) -> None:
    before = counts(platform)
    r = record(platform, platform.headers("official2"), "penalty_general")
    assert r.status_code == 403, r.text
    problem = r.json()
    assert problem["type"] == "urn:zel:problem:forbidden" and r.headers["content-type"] == "application/problem+json"
    assert "penalty_general" in problem["detail"] and "tax.440604" in problem["detail"]
    assert "amr.440604" in problem["detail"]  # and says who records penalties
    assert counts(platform) == before
    assert platform.ctx.credit.sync()["records"] == 0  # nothing waits for the chain to refuse it


def test_an_si_official_recording_tax_arrears_is_refused(platform) -> None:
    before = counts(platform)
    r = record(platform, platform.headers("official"), "tax_arrears")
    assert r.status_code == 403 and "tax_arrears" in r.json()["detail"] and "si.440604" in r.json()["detail"]
    for kind in ("commendation", "dishonest_debtor", "inspection_pass"):  # nor market supervision's kinds
        assert record(platform, platform.headers("official"), kind).status_code == 403
    r = platform.client.post(
        "/v1/department/credit/lists",
        headers=platform.headers("official"),
        json={"uscc": platform.usccs[0], "list": "black", "start_on": str(TODAY), "reason": "严重失信"},
    )
    assert r.status_code == 403 and "list_black" in r.json()["detail"] and "si.440604" in r.json()["detail"]
    assert counts(platform) == before


def test_the_owning_departments_still_record_and_the_chain_takes_it(platform) -> None:
    uscc, credit = platform.usccs[0], platform.ctx.credit
    for headers, kind in (
        (platform.headers("official2"), "tax_arrears"),
        (platform.headers("official"), "si_arrears"),
        (amr_headers(platform), "penalty_minor"),
        (amr_headers(platform), "commendation"),
    ):
        r = record(platform, headers, kind, uscc)
        assert r.status_code == 201, r.text
    credit.sync()  # each request already pushed its record; nothing was left for the chain to refuse
    report = credit.audit(uscc)
    assert report["ok"] and report["chain_length"] == 4 and report["pending"] == 0


def test_the_cli_refuses_a_record_outside_the_departments_kinds(zel_bin: str, tmp_path: Path) -> None:
    env = {**os.environ, "ZEL_DATA_DIR": str(tmp_path / "data")}

    def zel(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([zel_bin, *args], env=env, capture_output=True, text=True, timeout=180)

    assert zel("issuer", "provision", "--demo").returncode == 0
    uscc = json.loads(zel("seed", "--people", "1", "--enterprises", "1", "--json").stdout)["enterprises"][0]
    out = zel("credit", "record", uscc, "--type", "penalty_serious", "--department", "tax.440604", "--summary", "x")
    assert out.returncode == 2 and "penalty_serious" in out.stderr and "tax.440604" in out.stderr
    with sqlite3.connect(tmp_path / "data" / "zel.sqlite") as store:
        assert store.execute("SELECT count(*) FROM credit_record").fetchone() == (0,)
    out = zel(
        "credit", "record", uscc, "--type", "tax_arrears", "--department", "tax.440604", "--summary", "欠税", "--json"
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(zel("credit", "audit", uscc, "--json").stdout)["chain_length"] == 1
    listed = zel(
        "credit", "list", uscc, "--list", "black", "--department", "amr.440604", "--reason", "严重失信", "--json"
    )
    assert listed.returncode == 0, listed.stderr
    entry = str(json.loads(listed.stdout)["entry"])
    out = zel("credit", "list-end", entry, "--department", "tax.440604", "--reason", "x")
    assert out.returncode == 2 and "amr.440604" in out.stderr  # not the tax bureau's entry to end
    out = zel("credit", "list-end", entry, "--department", "amr.440604", "--reason", "移出名单", "--json")
    assert out.returncode == 0, out.stderr
    audit = json.loads(zel("credit", "audit", uscc, "--json").stdout)
    assert audit["ok"] and audit["chain_length"] == 3  # the arrears, the listing and its end


@pytest.fixture
def tax_lists(platform, monkeypatch: pytest.MonkeyPatch):
    """The district admits the tax bureau for the red list too (纳税信用A级 lists), on chain and in the service."""
    admin = Keystore(platform.ctx.settings.root).load("admin")
    widened = (*DEPARTMENTS["tax.440604"].credit_scopes, CreditScope.RED_LIST)
    platform.ctx.ledger.set_credit_scopes(admin, department_id("tax.440604"), scopes_mask(widened))
    monkeypatch.setattr(platform.ctx.credit, "scopes", {**platform.ctx.credit.scopes, "tax.440604": frozenset(widened)})
    return platform


def test_a_list_entry_is_ended_or_changed_only_by_the_department_that_made_it(tax_lists) -> None:
    platform, credit = tax_lists, tax_lists.ctx.credit
    uscc, tax, amr = platform.usccs[1], platform.headers("official2"), amr_headers(platform)
    r = platform.client.post(
        "/v1/department/credit/lists",
        headers=tax,
        json={
            "uscc": uscc,
            "list": "red",
            "start_on": str(TODAY),
            "reason": "纳税信用A级",
            "reference": "禅税〔2026〕5号",
        },
    )
    assert r.status_code == 201, r.text
    entry = r.json()["id"]
    subject = credit.subject(uscc)
    assert platform.ctx.ledger.standing(subject).red_listed
    before = counts(platform)
    # Market supervision may keep red lists, but not end the tax bureau's entry ...
    r = platform.client.post(f"/v1/department/credit/lists/{entry}/end", headers=amr, json={"reason": "撤销"})
    assert r.status_code == 403 and r.json()["type"] == "urn:zel:problem:forbidden"
    assert "tax.440604" in r.json()["detail"] and str(entry) in r.json()["detail"]
    # ... nor change it by listing the enterprise over it ...
    r = platform.client.post(
        "/v1/department/credit/lists",
        headers=amr,
        json={
            "uscc": uscc,
            "list": "red",
            "start_on": str(TODAY),
            "end_on": str(TODAY + timedelta(days=30)),
            "reason": "守合同重信用",
        },
    )
    assert r.status_code == 403 and "tax.440604" in r.json()["detail"]
    assert counts(platform) == before
    # ... which the chain would refuse too: the entry is the tax bureau's there as well.
    with pytest.raises(NotAuthorized, match="tax.440604"):
        platform.ctx.ledger.set_red_list(credit.keys["amr.440604"], subject, False, b"\1" * 32)
    # The tax bureau ends it; its end is a record on the enterprise's chain, and the flag is off on chain.
    r = platform.client.post(f"/v1/department/credit/lists/{entry}/end", headers=tax, json={"reason": "年度复评"})
    assert r.status_code == 200 and r.json() == {"id": entry, "list": "red", "end_on": str(TODAY)}
    assert not platform.ctx.ledger.standing(subject).red_listed
    with platform.ctx.sessions() as s:
        types = [
            t for t in s.scalars(select(CreditRecord.type).where(CreditRecord.uscc == uscc).order_by(CreditRecord.seq))
        ]
        assert types == ["list_red", "list_red_end"] and s.get(ListEntry, entry).state == "ENDED"
    assert credit.audit(uscc)["ok"]
    # An ended entry is not ended again.
    r = platform.client.post(f"/v1/department/credit/lists/{entry}/end", headers=tax, json={"reason": "again"})
    assert r.status_code == 409


def test_a_black_list_entry_is_ended_only_by_its_department(platform) -> None:
    uscc, credit, amr = platform.usccs[0], platform.ctx.credit, amr_headers(platform)
    r = platform.client.post(
        "/v1/department/credit/lists",
        headers=amr,
        json={"uscc": uscc, "list": "black", "start_on": str(TODAY - timedelta(days=1)), "reason": "严重违法失信"},
    )
    assert r.status_code == 201, r.text
    entry, subject = r.json()["id"], credit.subject(uscc)
    assert platform.ctx.ledger.standing(subject).black_list_end == 2**63
    for who in ("official", "official2"):  # neither holds the black list, nor made the entry
        r = platform.client.post(
            f"/v1/department/credit/lists/{entry}/end", headers=platform.headers(who), json={"reason": "x"}
        )
        assert r.status_code == 403 and "amr.440604" in r.json()["detail"]
    end = TODAY + timedelta(days=10)
    r = platform.client.post(
        f"/v1/department/credit/lists/{entry}/end",
        headers=amr,
        json={"reason": "信用修复，移出名单", "end_on": str(end)},
    )
    assert r.status_code == 200, r.text
    standing = platform.ctx.ledger.standing(subject)
    assert standing.black_list_end == (end - date(1970, 1, 1)).days * 86400
    assert credit.audit(uscc)["ok"]


def test_repair_is_decided_only_by_the_recording_department(platform) -> None:
    uid = record(platform, amr_headers(platform), "penalty_minor").json()["uid"]
    app_id = platform.client.post(
        "/v1/enterprise/credit/repairs",
        headers=platform.headers("enterprise"),
        json={"record": uid, "statement": "已整改", "corrected": "已缴纳罚款并完成整改", "promise": True},
    ).json()["id"]
    before = counts(platform)
    for who in ("official", "official2"):
        r = platform.client.post(
            f"/v1/department/credit/repairs/{app_id}/decision", headers=platform.headers(who), json={"approve": True}
        )
        assert r.status_code == 403
    assert counts(platform) == before
    r = platform.client.post(
        f"/v1/department/credit/repairs/{app_id}/decision",
        headers=amr_headers(platform),
        json={"approve": True, "note": "整改到位"},
    )
    assert r.json() == {"id": app_id, "state": "APPROVED"}
