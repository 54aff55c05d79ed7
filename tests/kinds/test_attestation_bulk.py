"""Bulk issuance of a kind registered from a schema file (issue 19): a department pushes attestations from a list of
entries, each a subject and its field values, through `POST /v1/department/certificate-jobs` (SQLite and
PostgreSQL) and `zel cert bulk --entries`. Every entry is checked before the job is made (a bad one refuses the whole
list, naming its line, the field and the rule, and nothing is stored); each attestation is issued once, whether the
entry is repeated, the job run again or pushed a second time; an unknown subject is skipped with the reason; only
the kind's department (or the admin) may push it; what was issued verifies VALID once anchored."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sqlalchemy import func, select

from identifiers import id_check_char
from store.models import AuditEntry, Certificate, IssuanceJob
from tests.kinds.test_attestations import _ok, _zel, district  # noqa: F401 - the module's fixture
from tests.kinds.test_attestations_api import _registered

JOBS = "/v1/department/certificate-jobs"
UNKNOWN = "44060419900101123" + id_check_char("44060419900101123")  # well formed; nobody in the store


def _entry(subject: str, matter: str = "card", note: str = "窗口办理") -> dict:
    return {"subject": subject, "fields": {"visited_on": "2026-11-30", "matter": matter, "note": note}}


def _push(platform, who: str, entries: list[dict], **extra: object):  # noqa: ANN001, ANN202
    body = {"kind": "si-counter-receipt", "entries": entries, **extra}
    return platform.client.post(JOBS, json=body, headers=platform.headers(who))


def _receipts(platform) -> list[tuple[str, str]]:  # noqa: ANN001
    with platform.ctx.sessions() as s:
        q = select(Certificate.owner, Certificate.number).where(Certificate.kind == "si-counter-receipt.v1")
        return sorted(s.execute(q).tuples().all())


def test_a_job_issues_each_attestation_once_and_they_verify(platform) -> None:
    _registered(platform)
    people = platform.client.creds.people
    entries = [_entry(people[0]), _entry(people[1], "transfer"), _entry(people[0]), _entry(UNKNOWN)]
    r = _push(platform, "official", entries)  # the social-insurance bureau's official: the kind's department
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["kind"] == "si-counter-receipt.v1" and job["state"] == "QUEUED"
    assert job["subjects"] == 3  # the repeated entry is one attestation; the unknown subject stays, to be skipped
    assert platform.ctx.require_certificates().job_worker().run_once() == 1
    done = platform.client.get(f"{JOBS}/{job['id']}", headers=platform.headers("official")).json()
    assert done["state"] == "DONE" and done["counts"] == {
        "issued": 2,
        "existing": 0,
        "skipped": 1,
        "failed": 0,
        "pending": 0,
    }
    assert done["problems"][0]["code"] == "not-found" and UNKNOWN not in json.dumps(done)  # shown masked only
    issued = _receipts(platform)
    assert len(issued) == 2 and len({owner for owner, _ in issued}) == 2

    # pushed again (and a chunk run twice would meet the same keys): nothing new
    again = _push(platform, "admin", entries).json()
    platform.ctx.require_certificates().job_worker().run_once()
    second = platform.client.get(f"{JOBS}/{again['id']}", headers=platform.headers("admin")).json()
    assert second["counts"]["existing"] == 2 and second["counts"]["issued"] == 0
    assert _receipts(platform) == issued
    # other values for the same subject are another attestation
    _push(platform, "official", [_entry(people[0], note="补办")])
    platform.ctx.require_certificates().job_worker().run_once()
    assert len(_receipts(platform)) == 3

    rows = list(
        csv.DictReader(
            io.StringIO(platform.client.get(f"{JOBS}/{job['id']}/results", headers=platform.headers("official")).text)
        )
    )
    assert [r["outcome"] for r in rows] == ["issued", "issued", "skipped"]
    assert {r["number"] for r in rows if r["number"]} == {n for _, n in issued}
    assert rows[2]["subject"].startswith("4406") and "*" in rows[2]["subject"]

    mine = platform.client.get("/v1/citizen/certificates", headers=platform.headers("citizen")).json()
    numbers = {c["number"] for c in (mine["items"] if isinstance(mine, dict) else mine)}
    assert len(numbers & {n for _, n in _receipts(platform)}) == 2  # citizen1's two receipts
    platform.ctx.require_certificates().anchorer().run_once(force=True)
    for _, number in issued:
        held = platform.client.get(f"/v1/citizen/certificates/{number}", headers=platform.headers("citizen"))
        if held.status_code != 200:
            continue  # the other person's
        verdict = platform.client.post("/v1/verify", json={"text": held.json()["verify_url"]}).json()
        assert verdict["status"] == "VALID", verdict
    with platform.ctx.sessions() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.target == job["id"])).all()
    assert "certificate.bulk" in actions


def test_the_wrong_side_and_bad_entries_are_refused_and_nothing_is_stored(platform) -> None:
    _registered(platform)
    people = platform.client.creds.people

    def jobs() -> int:
        with platform.ctx.sessions() as s:
            return s.scalar(select(func.count()).select_from(IssuanceJob)) or 0

    before, receipts = jobs(), _receipts(platform)
    good = [_entry(people[0])]
    assert _push(platform, "official2", good).status_code == 403  # the tax bureau's official: not its kind
    for who, status in (("citizen", 403), ("enterprise", 403), ("inspector", 403), ("anonymous", 401)):
        assert _push(platform, who, good).status_code == status, who
    bad = _push(platform, "official", [good[0], _entry(people[1], matter="lunch")])
    assert bad.status_code == 422 and "line 2" in bad.text and "matter" in bad.text, bad.text
    missing = _push(platform, "official", [{"subject": people[0], "fields": {"matter": "card"}}])
    assert missing.status_code == 422 and "visited_on" in missing.text
    assert _push(platform, "official", [_entry("4406041990")]).status_code == 422  # not an ID number
    assert _push(platform, "official", good, period_from="2025-01", period_to="2025-06").status_code == 422
    assert _push(platform, "official", []).status_code == 422
    r = platform.client.post(JOBS, json={"kind": "no-such-kind", "entries": good}, headers=platform.headers("admin"))
    assert r.status_code == 422 and "no-such-kind" in r.text
    over = [{"subject": people[0], "fields": {"visited_on": "2026-11-30", "matter": "card", "note": "长" * 21}}]
    assert _push(platform, "official", over).status_code == 422  # note: at most 20 characters
    assert jobs() == before and _receipts(platform) == receipts


def test_zel_cert_bulk_takes_a_file_of_entries(district: dict, tmp_path: Path) -> None:  # noqa: F811
    data = district["data"]
    lines = [
        {
            "subject": district["person"],
            "fields": {"address": "禅城区祖庙路9号", "since": "2018-05-06", "purpose": "work"},
        },
        {"subject": UNKNOWN, "fields": {"address": "禅城区祖庙路9号", "since": "2018-05-06", "purpose": "work"}},
    ]
    entries = tmp_path / "entries.jsonl"
    entries.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n\n", encoding="utf-8")
    out = _ok(data, "cert", "bulk", "--kind", "residence-proof", "--entries", str(entries))
    assert out["kind"] == "residence-proof.v1" and out["counts"]["issued"] == 1 and out["counts"]["skipped"] == 1
    again = _ok(data, "cert", "bulk", "--kind", "residence-proof", "--entries", str(entries))
    assert again["counts"]["existing"] == 1 and again["counts"]["issued"] == 0

    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps({**lines[0], "fields": {**lines[0]["fields"], "since": "2018-13-01"}}) + "\n")
    refused = _zel(data, "cert", "bulk", "--kind", "residence-proof", "--entries", str(broken), "--json")
    assert refused.exit_code == 2 and "line 1" in refused.output and "since" in refused.output, refused.output
    garbled = tmp_path / "garbled.jsonl"
    garbled.write_text(json.dumps(lines[0]) + "\n{not json\n")
    refused = _zel(data, "cert", "bulk", "--kind", "residence-proof", "--entries", str(garbled), "--json")
    assert refused.exit_code == 2 and "garbled.jsonl:2" in refused.output, refused.output
    both = _zel(
        data, "cert", "bulk", "--kind", "residence-proof", "--entries", str(entries), "--period", "2025-01..2025-02"
    )
    assert both.exit_code == 2
