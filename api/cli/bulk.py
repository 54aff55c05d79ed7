"""`zel cert bulk`: push one kind to every eligible subject of a period (零申请推送), with a progress bar.

The job is made in the store (`zero_errand.bulk`) and issued chunk by chunk by this process and, with
`--workers N`, N-1 more `zel cert bulk --resume` processes: the chunks are claimed with leases in the store, so a
`kill -9` of any of them loses nothing, and `--resume JOB` (or running the same command again) finishes the job.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from sqlalchemy import select

from api.cli.options import ChainUrl, DataDir, JsonOut, cli_actor, cli_context, fail
from store.db import transaction
from store.models import IssuanceJob
from zero_errand import bulk

MAX_WORKERS = 16


def cert_bulk(
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="tax-individual, tax-enterprise, si-individual, si-enterprise, or (with --entries) a registered kind",
        ),
    ] = None,
    period: Annotated[str | None, typer.Option("--period", help="FROM..TO, months as YYYY-MM")] = None,
    subjects: Annotated[
        Path | None,
        typer.Option(
            "--subjects",
            help="A file of citizen ID numbers or USCCs, one a line (default: every subject "
            "with records for the period).",
        ),
    ] = None,
    entries: Annotated[
        Path | None,
        typer.Option(
            "--entries",
            help="For a kind registered from a schema file: a JSON Lines file, one "
            '{"subject": ID number or USCC, "fields": {name: value}} a line (no --period).',
        ),
    ] = None,
    resume: Annotated[str | None, typer.Option("--resume", help="Finish the job with this id.")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=MAX_WORKERS, help="Processes issuing.")] = 1,
    lease: Annotated[float, typer.Option("--lease", help="Seconds a worker holds a chunk.", hidden=True)] = 0.0,
    chunk: Annotated[int, typer.Option("--chunk", min=1, max=5000, help="Subjects a transaction.", hidden=True)] = (
        bulk.CHUNK
    ),
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar (a worker of another run).")] = False,
    as_json: JsonOut = False,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Issue KIND for the period to every subject with the department's records (or those in --subjects), nobody
    applying: enterprises hear through their webhooks, citizens find the certificate in their account. Subjects
    already holding one for the same kind and period are not issued again; those without records are listed as
    skipped. With --entries, KIND is a kind registered from a schema file and each line its subject and values
    (checked before anything is issued); the same attestation is not issued twice to a subject either."""
    if resume is None and entries is not None and (kind is None or period is not None or subjects is not None):
        raise fail("give --kind with --entries, without --period or --subjects: the entries name the subjects")
    if resume is None and entries is None and (kind is None or period is None):
        raise fail("give --kind and --period, or --kind and --entries (or --resume JOB)")
    listed = _read_subjects(subjects) if subjects is not None else None
    lines = _read_entries(entries) if entries is not None else None
    with cli_context(data_dir, chain_url) as ctx:
        service = ctx.require_certificates()
        if resume is None and lines is not None:
            assert kind is not None
            with transaction(ctx.sessions) as session:
                job = service.attestation_job(
                    session, kind=kind, entries=lines, department=None, actor=cli_actor().subject, chunk=chunk
                )
                job_id, uid = job.id, job.uid
        elif resume is None:
            assert kind is not None and period is not None
            start, sep, end = period.partition("..")
            if not sep:
                raise fail(f"--period is FROM..TO (e.g. 2025-01..2025-12), not {period!r}")
            with transaction(ctx.sessions) as session:
                job = bulk.create_job(
                    session,
                    ctx.pii,
                    kind=kind,
                    period_from=start.strip(),
                    period_to=end.strip(),
                    department=None,
                    actor=cli_actor().subject,
                    subjects=listed,
                    chunk=chunk,
                )
                job_id, uid = job.id, job.uid
        else:
            with ctx.sessions() as session:
                found = session.scalars(select(IssuanceJob).where(IssuanceJob.uid == resume)).first()
                if found is None:
                    raise fail(f"no bulk issuance job {resume}")
                job_id, uid = found.id, found.uid
        if not quiet and not as_json:
            typer.echo(f"job {uid}", err=True)
        helpers = [_spawn(uid, data_dir, chain_url, lease) for _ in range(workers - 1)]
        worker = service.job_worker(job_id=job_id, lease_seconds=lease or ctx.settings.job_lease_seconds)
        try:
            if quiet or as_json:
                worker.run_once()
            else:
                _with_progress(ctx.sessions, job_id, worker)
        finally:
            for helper in helpers:
                helper.wait()
        with ctx.sessions() as session:
            info = bulk.describe(session, session.get_one(IssuanceJob, job_id))
    if quiet:
        return
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False))
        return
    c = info["counts"]
    typer.echo(
        f"job {info['id']} {info['state']}: {c['issued']} issued, {c['existing']} already issued, "
        f"{c['skipped']} skipped, {c['failed']} failed, {c['pending']} pending"
    )
    for problem in info["problems"][:20]:
        typer.echo(f"  {problem['subject']}: {problem['outcome']} ({problem['reason']})")
    if info["state"] != "DONE":
        typer.echo(
            f"chunks are held by other workers; `zel cert bulk --resume {info['id']}` finishes the job", err=True
        )


def _read_subjects(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from exc
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return [line for line in lines if line]


def _read_entries(path: Path) -> list[Any]:
    """The entries of a JSON Lines file (blank lines skipped); a line that is not JSON is refused by its number."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from exc
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise fail(f"{path}:{number}: not JSON ({exc.msg})") from exc
    return out


def _spawn(uid: str, data_dir: Path | None, chain_url: str | None, lease: float) -> subprocess.Popen[bytes]:
    """Another process working on the same job (the store hands out the chunks)."""
    args = [sys.executable, "-m", "api.cli", "cert", "bulk", "--resume", uid, "--quiet"]
    if data_dir is not None:
        args += ["--data-dir", str(data_dir)]
    if chain_url:
        args += ["--chain-url", chain_url]
    if lease:
        args += ["--lease", str(lease)]
    return subprocess.Popen(args, env=os.environ.copy())


def _with_progress(sessions: Any, job_id: int, worker: bulk.JobWorker) -> None:
    """Work on the job with a rich progress bar over every worker's chunks (rate, ETA, failures)."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>7}/s"),
        TextColumn("skipped {task.fields[skipped]} failed {task.fields[failed]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    started = time.monotonic()
    with Progress(*columns, transient=False) as progress:
        task = progress.add_task("issuing", total=None, rate="-", skipped=0, failed=0)

        def update(*_: Any) -> None:
            with sessions() as session:
                info = bulk.describe(session, session.get_one(IssuanceJob, job_id), problems=0)
            c = info["counts"]
            done = info["subjects"] - c["pending"]
            rate = f"{(c['issued'] + c['existing']) / max(time.monotonic() - started, 1e-6):.0f}"
            progress.update(
                task, total=info["subjects"], completed=done, rate=rate, skipped=c["skipped"], failed=c["failed"]
            )

        update()
        worker.run_once(on_chunk=update)
        update()
