"""Bulk issuance (零申请推送): a department pushes one kind to every eligible subject of a period.

Through the API and the CLI, on SQLite and PostgreSQL: every eligible subject gets exactly one certificate, a second
job issues nothing new, subjects without records are skipped with the reason, only the kind's department (or the
admin) may push it, and a `zel cert bulk` killed with SIGKILL at random points and resumed loses nothing and
issues nothing twice.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.context import open_store
from identifiers import id_check_char, uscc_check_char
from store import audit
from store.db import transaction
from store.models import AuditEntry, Certificate, IssuanceChunk, IssuanceJob, WebhookDelivery
from zero_errand import bulk
from zero_errand.builder import batch_digest
from zero_errand.certificates import CertKind
from zero_errand.people import add_enterprise
from zero_errand.seed import months_before, seed_data

LAST_YEAR = months_before(date.today(), 24)[:12]  # twelve months the seeded records cover
PERIOD = (LAST_YEAR[0], LAST_YEAR[-1])
JOBS = "/v1/department/certificate-jobs"


def _push(platform, who: str, **body):
    body = {"kind": "tax-enterprise", "period_from": PERIOD[0], "period_to": PERIOD[1], **body}
    return platform.client.post(JOBS, json=body, headers=platform.headers(who))


def _work(platform) -> int:
    return platform.ctx.require_certificates().job_worker().run_once()


def _bulk_certificates(ctx, kind: CertKind) -> list[tuple[str, str]]:
    key = bulk.idempotency_key(kind, *PERIOD)
    with ctx.sessions() as s:
        return list(s.execute(select(Certificate.owner, Certificate.number).where(Certificate.idempotency_key == key)))


def test_a_job_issues_every_eligible_subject_once_and_a_second_job_nothing(platform):
    ctx = platform.ctx
    with ctx.sessions() as s:
        eligible = bulk.eligible(s, CertKind.TAX_ENTERPRISE, list(LAST_YEAR))
    assert len(eligible) >= 3
    r = _push(platform, "official2")  # the tax bureau's official
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["state"] == "QUEUED" and job["subjects"] == len(eligible) and job["counts"]["pending"] == len(eligible)
    assert r.headers["location"] == f"{JOBS}/{job['id']}"
    assert _work(platform) == 1  # one chunk
    done = platform.client.get(f"{JOBS}/{job['id']}", headers=platform.headers("official2")).json()
    assert done["state"] == "DONE" and done["counts"] == {
        "issued": len(eligible),
        "existing": 0,
        "skipped": 0,
        "failed": 0,
        "pending": 0,
    }
    issued = _bulk_certificates(ctx, CertKind.TAX_ENTERPRISE)
    assert sorted(owner for owner, _ in issued) == sorted(eligible)
    with ctx.sessions() as s:  # every certificate is signed, stored ISSUED for anchoring and audited
        certs = s.scalars(select(Certificate).where(Certificate.number.in_([n for _, n in issued]))).all()
        assert {c.state for c in certs} == {"ISSUED"}
        assert audit.verify(s).ok
        # one audit entry for the chunk, committing to every certificate's number and digest
        logged = s.scalars(select(AuditEntry).where(AuditEntry.action == "certificate.bulk-issue")).all()
        assert [e.target for e in logged] == [job["id"]]
        assert logged[0].detail == {
            "kind": "tax-enterprise",
            "chunk": 0,
            **batch_digest((c.number, c.digest) for c in certs),
        }
        assert logged[0].detail["certificates"] == len(eligible)
    # the enterprise with a webhook hears of its certificate
    with ctx.sessions() as s:
        events = s.scalars(select(WebhookDelivery).where(WebhookDelivery.webhook_id == platform.webhook)).all()
    pushed = {n for o, n in issued if o == f"uscc:{platform.usccs[0]}"}
    assert {e.payload["certificate"]["number"] for e in events} >= pushed and pushed

    again = _push(platform, "admin")  # the admin may push any kind; the same kind and period again
    assert again.status_code == 202
    _work(platform)
    second = platform.client.get(f"{JOBS}/{again.json()['id']}", headers=platform.headers("admin")).json()
    assert second["counts"]["existing"] == len(eligible) and second["counts"]["issued"] == 0
    assert len(_bulk_certificates(ctx, CertKind.TAX_ENTERPRISE)) == len(eligible)

    # the enterprise finds it in its account, marked as pushed (nobody applied); its own request is not
    mine = platform.client.get("/v1/enterprise/certificates", headers=platform.headers("enterprise")).json()
    marked = {c["number"]: c["pushed"] for c in mine}
    assert all(marked[n] for n in pushed) and marked[platform.certs["enterprise"]] is False

    download = platform.client.get(f"{JOBS}/{job['id']}/results", headers=platform.headers("official2"))
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows) == len(eligible) and {r["outcome"] for r in rows} == {"issued"}
    assert {r["number"] for r in rows} == {n for _, n in issued}


def test_only_the_kinds_department_or_the_admin_may_push_and_see_it(platform):
    assert _push(platform, "official").status_code == 403  # the social-insurance bureau, a tax kind
    assert _push(platform, "citizen").status_code == 403
    assert _push(platform, "enterprise").status_code == 403
    assert _push(platform, "inspector").status_code == 403
    assert _push(platform, "anonymous").status_code == 401
    job = _push(platform, "official2").json()["id"]
    for who, status in (("official", 404), ("official3", 404), ("enterprise", 403), ("anonymous", 401)):
        assert platform.client.get(f"{JOBS}/{job}", headers=platform.headers(who)).status_code == status, who
        got = platform.client.get(f"{JOBS}/{job}/results", headers=platform.headers(who))
        assert got.status_code == status, who
    # a credit report is not pushed; a period must have ended; the kind must exist
    assert _push(platform, "admin", kind="credit-report").status_code == 422
    assert _push(platform, "admin", kind="no-such-kind").status_code == 422
    future = f"{date.today().year + 1}-01"
    late = _push(platform, "official2", period_from=future, period_to=future)
    assert late.status_code == 422 and late.json()["invalid_params"][0]["name"] == "period_to"
    # nothing was issued by the refused requests
    with platform.ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(IssuanceJob)) == 1


def test_a_list_skips_subjects_without_records_and_refuses_a_malformed_line(platform):
    ctx = platform.ctx
    unknown = "91440604MA4W00000" + uscc_check_char("91440604MA4W00000")  # valid, not in the store
    malformed = _push(platform, "official2", subjects=[platform.usccs[0], "91440604MA4W000001"])
    assert malformed.status_code == 422 and "line 2" in malformed.json()["detail"]
    with transaction(ctx.sessions) as s:  # an enterprise registered but without tax records
        quiet = "91440604MA4Q00000" + uscc_check_char("91440604MA4Q00000")
        add_enterprise(s, quiet, "佛山市禅城区无账公司")
    r = _push(platform, "official2", subjects=[platform.usccs[0], unknown, quiet, platform.usccs[0]])
    assert r.status_code == 202 and r.json()["subjects"] == 3  # the repeat is one subject
    _work(platform)
    done = platform.client.get(f"{JOBS}/{r.json()['id']}", headers=platform.headers("official2")).json()
    assert done["counts"]["issued"] == 1 and done["counts"]["skipped"] == 2 and done["counts"]["failed"] == 0
    reasons = {p["subject"]: p["reason"] for p in done["problems"]}
    assert reasons == {f"unknown:{unknown}": bulk.SKIPPED["not-found"], f"uscc:{quiet}": bulk.SKIPPED["no-records"]}
    # citizens' ID numbers: a wrong check digit is refused, a valid unknown one is skipped and shown masked
    wrong = "44060419850312201" + ("0" if id_check_char("44060419850312201") != "0" else "1")
    refused = _push(platform, "official", kind="si-individual", subjects=[wrong])
    assert refused.status_code == 422 and wrong not in refused.text  # the ID number is not echoed whole
    stranger = "44060419850312201" + id_check_char("44060419850312201")
    people = _push(platform, "official", kind="si-individual", subjects=[platform.client.creds.people[0], stranger])
    assert people.status_code == 202 and people.json()["subjects"] == 2, people.text
    _work(platform)
    done = platform.client.get(f"{JOBS}/{people.json()['id']}", headers=platform.headers("official")).json()
    assert done["counts"]["issued"] + done["counts"]["skipped"] == 2 and done["counts"]["failed"] == 0
    assert f"unknown:{stranger[:4]}" in json.dumps(done) and stranger not in json.dumps(done)


def test_a_bulk_key_cannot_be_taken_by_a_requester(platform):
    key = bulk.idempotency_key(CertKind.TAX_ENTERPRISE, *PERIOD)
    r = platform.client.post(
        "/v1/enterprise/certificates",
        json={"kind": "tax-enterprise", "period_from": PERIOD[0], "period_to": "2025-01"},
        headers={**platform.headers("enterprise"), "Idempotency-Key": key},
    )
    assert r.status_code == 422 and r.json()["invalid_params"][0]["name"] == "Idempotency-Key"


# -- kill -9 ---------------------------------------------------------------------------------------------------


def _cli_env(platform) -> dict[str, str]:
    env = dict(os.environ)
    env["ZEL_DATABASE_URL"] = platform.ctx.settings.database_url
    env.pop("ZEL_KEYSTORE_PASSWORD", None)
    return env


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_bulk_run_killed_at_random_points_resumes_without_losses_or_duplicates(platform, tmp_path: Path):
    ctx = platform.ctx
    with transaction(ctx.sessions) as s:
        seed_data(s, ctx.pii, people=120, enterprises=4, seed=61)
    with ctx.sessions() as s:
        eligible = bulk.eligible(s, CertKind.SI_INDIVIDUAL, list(LAST_YEAR))
    data_dir = str(ctx.settings.data_dir)
    ctx.ledger.close()  # the CLI processes open the embedded chain themselves
    env = _cli_env(platform)
    seed = int(os.environ.get("ZEL_FAULT_SEED", random.randrange(2**31)))
    print(f"fault seed {seed} (set ZEL_FAULT_SEED to replay)")
    rng = random.Random(seed)
    base = [sys.executable, "-m", "api.cli", "cert", "bulk", "--data-dir", data_dir, "--lease", "1", "--chunk", "10"]
    first = subprocess.Popen(
        [*base, "--kind", "si-individual", "--period", f"{PERIOD[0]}..{PERIOD[1]}", "--json", "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    parts = open_store(ctx.settings)
    try:
        job = None
        deadline = time.monotonic() + 60
        while job is None and first.poll() is None and time.monotonic() < deadline:
            with parts.sessions() as s:  # the job is made once the process has opened the store and the chain
                job = s.scalars(select(IssuanceJob).order_by(IssuanceJob.id.desc())).first()
            time.sleep(0.05)
        assert job is not None, first.communicate()[1].decode()[-2000:]
        time.sleep(rng.uniform(0.0, 1.5))  # somewhere in the run: claiming, issuing, committing a chunk
        os.killpg(first.pid, signal.SIGKILL)  # the main process and its helper worker
        first.wait()
        kills = 1
        while True:
            resumed = subprocess.Popen(
                [*base, "--resume", job.uid, "--json"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            if kills < 3 and rng.random() < 0.7:
                time.sleep(rng.uniform(2.0, 4.0))
                if resumed.poll() is None:
                    os.killpg(resumed.pid, signal.SIGKILL)
                    resumed.wait()
                    kills += 1
                    continue
            out, err = resumed.communicate(timeout=120)
            assert resumed.returncode == 0, err.decode()
            with parts.sessions() as s:
                if s.get_one(IssuanceJob, job.id).state == "DONE":
                    break
            time.sleep(1.1)  # a chunk still leased to a killed worker: its lease runs out
        with parts.sessions() as s:
            key = bulk.idempotency_key(CertKind.SI_INDIVIDUAL, *PERIOD)
            owners = list(s.scalars(select(Certificate.owner).where(Certificate.idempotency_key == key)))
            chunks = s.scalars(select(IssuanceChunk).where(IssuanceChunk.job_id == job.id)).all()
            assert audit.verify(s).ok
            info = bulk.describe(s, s.get_one(IssuanceJob, job.id))
        assert sorted(owners) == sorted(eligible)  # every eligible subject, each exactly once
        assert {c.state for c in chunks} == {"DONE"}
        assert sum(c.issued for c in chunks) == len(eligible)  # counted once, though chunks ran again
        assert info["counts"]["failed"] == 0 and info["counts"]["pending"] == 0
    finally:
        parts.engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_cli_pushes_a_list_with_a_progress_bar_and_refuses_a_malformed_file(platform, tmp_path: Path):
    ctx = platform.ctx
    data_dir = str(ctx.settings.data_dir)
    ctx.ledger.close()  # the command opens the embedded chain itself
    env = _cli_env(platform)
    listed = tmp_path / "subjects.txt"
    listed.write_text(f"# the district's enterprises\n{platform.usccs[0]}\n\n{platform.usccs[1]}  # second\n")
    base = [sys.executable, "-m", "api.cli", "cert", "bulk", "--data-dir", data_dir, "--kind", "si-enterprise"]
    period = ["--period", f"{PERIOD[0]}..{PERIOD[1]}"]
    done = subprocess.run([*base, *period, "--subjects", str(listed)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "DONE: 2 issued, 0 already issued, 0 skipped, 0 failed, 0 pending" in done.stdout
    assert "issuing" in done.stdout + done.stderr  # the progress bar
    listed.write_text(f"{platform.usccs[0]}\n91440604MA4W000001\n")
    refused = subprocess.run([*base, *period, "--subjects", str(listed)], env=env, capture_output=True, text=True)
    assert refused.returncode == 2 and "line 2" in refused.stderr
    bad = subprocess.run([*base, "--period", "2025-01"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and "FROM..TO" in bad.stderr


def test_a_number_taken_between_the_check_and_the_insert_is_retried_not_lost(platform, monkeypatch):
    """Two job workers may draw the same number at once: fresh_numbers checked it free, the other batch inserted it
    first. The certificate must not be counted as issued (it was not): its chunk runs again and issues it."""
    from zero_errand import issuance

    with platform.ctx.sessions() as s:
        taken = s.scalars(select(Certificate.number)).first()
    real, calls = issuance.fresh_numbers, []

    def racing(session, kinds, now):  # the first draw returns a number another batch has just stored
        calls.append(len(kinds))
        numbers = real(session, kinds, now)
        return [taken, *numbers[1:]] if len(calls) == 1 else numbers

    monkeypatch.setattr(issuance, "fresh_numbers", racing)
    job = _push(platform, "official2", subjects=[platform.usccs[1]]).json()
    assert _work(platform) == 1
    done = platform.client.get(f"{JOBS}/{job['id']}", headers=platform.headers("official2")).json()
    assert len(calls) == 2 and done["counts"]["issued"] == 1 and done["counts"]["existing"] == 0
    owners = [o for o, _ in _bulk_certificates(platform.ctx, CertKind.TAX_ENTERPRISE)]
    assert owners == [f"uscc:{platform.usccs[1]}"]
