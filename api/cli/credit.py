"""`zel credit code|record|list|list-end|repair|grade|audit|sync|refresh|qr|report` and `zel inspect draw|redraw`: the
credit ledger from the command line (audited as the CLI user). All but `code` need the store and the chain."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from api.cli.options import ChainUrl, DataDir, JsonOut, cli_actor, cli_context, fail
from api.context import AppContext
from credit import workflows
from credit.ledger import PASS_CHUNK, CreditError, PassProgress
from errors import ZelError
from identifiers import validate
from store.db import transaction
from store.models import Enterprise

credit_app = typer.Typer(help="Credit codes, records, lists, repair, grades and the chain audit.", no_args_is_help=True)
repair_app = typer.Typer(help="Credit repair: apply for a record, review an application.", no_args_is_help=True)
inspect_app = typer.Typer(
    help="Double random draws (双随机) of inspection targets and inspectors.", no_args_is_help=True
)
Department = Annotated[str, typer.Option("--department", help="tax.440604, si.440604 or amr.440604.")]


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError as exc:
        raise fail(f"{text!r} is not a date (YYYY-MM-DD)") from exc


@credit_app.command("code")
def code(
    value: Annotated[str, typer.Argument(help="A USCC or citizen ID number, as pasted (spaces, full-width...).")],
    kind: Annotated[str | None, typer.Option("--kind", help="uscc or citizen_id; guessed when omitted.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print valid, kind, normalized, error, position.")] = False,
) -> None:
    """Validate a code; exit 0 when valid, 1 when not."""
    if kind not in (None, "uscc", "citizen_id"):
        raise fail("--kind must be uscc or citizen_id")
    result = validate(value, kind)  # type: ignore[arg-type]
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    elif result.valid:
        typer.echo(f"valid {result.kind}: {result.normalized}")
    else:
        where = f" at position {result.position}" if result.position else ""
        typer.echo(f"invalid{(' ' + result.kind) if result.kind else ''}: {result.error}{where}")
    raise typer.Exit(0 if result.valid else 1)


Action = Callable[[AppContext, Session], dict[str, Any]]


def _run(data_dir: Path | None, chain_url: str | None, action: Action, as_json: bool, instead: str) -> None:
    """Do `action(ctx, session)` in one transaction, then write to the chain; print what it returns. Refused up
    front, saying what to do `instead` ("{url}": the server's), when `zel serve` holds the embedded chain."""
    with cli_context(data_dir, chain_url, writes=instead) as ctx:
        try:
            with transaction(ctx.sessions) as session:
                info = action(ctx, session)
            ctx.require_credit().sync()
        except CreditError:
            raise  # the credit ledger's refusal, said as it is
        except ZelError as exc:
            raise fail(f"stored, but not yet on chain ({exc.message}); `zel credit sync` retries") from exc
    typer.echo(json.dumps(info, ensure_ascii=False) if as_json else " ".join(f"{k}={v}" for k, v in info.items()))


@credit_app.command("record")
def record(
    uscc: str,
    type: Annotated[
        str,
        typer.Option(
            "--type",
            help="tax_arrears, si_arrears, penalty_minor|general|serious, "
            "dishonest_debtor, inspection_pass|issues|fail, commendation.",
        ),
    ],
    department: Department,
    summary: Annotated[str, typer.Option("--summary")],
    decided: Annotated[str | None, typer.Option("--decided", help="Decision date (default today).")] = None,
    reference: Annotated[str, typer.Option("--reference", help="The decision's document number.")] = "",
    amount_fen: Annotated[int | None, typer.Option("--amount-fen")] = None,
    as_json: JsonOut = False,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Add a department's credit record; its digest goes on the enterprise's chain and the grade is recomputed."""

    def action(ctx: AppContext, session: Session) -> dict[str, Any]:
        row = workflows.record(
            ctx.require_credit(),
            session,
            uscc=uscc,
            type=type,
            department=department,
            decided_on=_day(decided) or date.today(),
            summary=summary,
            reference=reference,
            amount_fen=amount_fen,
            actor=cli_actor().subject,
        )
        return {"uid": row.uid, "seq": row.seq, "digest": row.digest}

    _run(
        data_dir,
        chain_url,
        action,
        as_json,
        f"record it through it (POST {{url}}/v1/department/credit/records, signed in as an official of {department})",
    )


@credit_app.command("list")
def list_entry(
    uscc: str,
    list_name: Annotated[str, typer.Option("--list", help="red or black.")],
    department: Department,
    reason: Annotated[str, typer.Option("--reason")],
    start: Annotated[str | None, typer.Option("--start", help="Default today.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Open-ended when omitted.")] = None,
    reference: Annotated[str, typer.Option("--reference")] = "",
    as_json: JsonOut = False,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Put an enterprise on the red or the black list (black: joint punishment by every department)."""

    def action(ctx: AppContext, session: Session) -> dict[str, Any]:
        entry = workflows.list_entry(
            ctx.require_credit(),
            session,
            uscc=uscc,
            list_name=list_name,
            department=department,
            start_on=_day(start) or date.today(),
            end_on=_day(end),
            reason=reason,
            reference=reference,
            actor=cli_actor().subject,
        )
        return {"entry": entry.id, "list": entry.list, "joint_punishment": entry.joint_punishment}

    _run(
        data_dir,
        chain_url,
        action,
        as_json,
        f"list it through it (POST {{url}}/v1/department/credit/lists, signed in as an official of {department})",
    )


@credit_app.command("list-end")
def list_end(
    entry: Annotated[int, typer.Argument(help="The list entry's id (printed by `zel credit list`).")],
    department: Department,
    reason: Annotated[str, typer.Option("--reason")],
    end: Annotated[str | None, typer.Option("--end", help="First day off the list (default today).")] = None,
    reference: Annotated[str, typer.Option("--reference")] = "",
    as_json: JsonOut = False,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """End a red or black list entry (only the department that made it)."""

    def action(ctx: AppContext, session: Session) -> dict[str, Any]:
        ended = workflows.end_list_entry(
            ctx.require_credit(),
            session,
            entry_id=entry,
            department=department,
            end_on=_day(end),
            reason=reason,
            reference=reference,
            actor=cli_actor().subject,
        )
        return {"entry": ended.id, "list": ended.list, "end_on": ended.end_on.isoformat() if ended.end_on else None}

    _run(
        data_dir,
        chain_url,
        action,
        as_json,
        f"end it through it (POST {{url}}/v1/department/credit/lists/{entry}/end, signed in as an official of "
        f"{department})",
    )


@repair_app.command("apply")
def repair_apply(
    uscc: str,
    record_uid: str,
    statement: Annotated[str, typer.Option("--statement")],
    corrected: Annotated[str, typer.Option("--corrected", help="How the wrong was corrected")] = "",
    promise: Annotated[
        bool, typer.Option("--promise/--no-promise", help="Make the credit promise (信用承诺); a repair needs it")
    ] = False,
    as_json: JsonOut = False,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Apply to repair a record (refused before its minimum display period is over)."""

    def action(ctx: AppContext, session: Session) -> dict[str, Any]:
        app = workflows.apply_repair(
            ctx.require_credit(),
            session,
            uscc=uscc,
            record_uid=record_uid,
            statement=statement,
            corrected=corrected,
            promise=promise,
            actor=cli_actor().subject,
        )
        return {"application": app.id, "state": app.state}

    _run(
        data_dir,
        chain_url,
        action,
        as_json,
        "apply through it (POST {url}/v1/enterprise/credit/repairs, with the enterprise's API client token)",
    )


@repair_app.command("review")
def repair_review(
    application: int,
    department: Department,
    approve: Annotated[bool, typer.Option("--approve/--reject")],
    note: Annotated[str, typer.Option("--note")] = "",
    as_json: JsonOut = False,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Approve or reject a repair application (the department that made the record)."""

    def action(ctx: AppContext, session: Session) -> dict[str, Any]:
        app = workflows.review_repair(
            ctx.require_credit(),
            session,
            application_id=application,
            approve=approve,
            department=department,
            note=note,
            actor=cli_actor().subject,
        )
        return {"application": app.id, "state": app.state}

    _run(
        data_dir,
        chain_url,
        action,
        as_json,
        f"decide through it (POST {{url}}/v1/department/credit/repairs/{application}/decision, signed in as an "
        f"official of {department})",
    )


@credit_app.command("grade")
def grade(uscc: str, as_json: JsonOut = False, data_dir: DataDir = None, chain_url: ChainUrl = None) -> None:
    """Recompute and show an enterprise's grade with its explanation."""

    def action(ctx: AppContext, session: Session) -> dict[str, Any]:
        row = ctx.require_credit().regrade(session, uscc)
        return {
            "uscc": uscc,
            "grade": row.grade,
            "score": row.score,
            "rules": row.rules_version,
            "explanation": row.explanation,
        }

    _run(
        data_dir,
        chain_url,
        action,
        as_json,
        f"it regrades every enterprise daily and after each record; read the grade from it (GET "
        f"{{url}}/v1/department/credit/enterprises/{uscc}, signed in as an official)",
    )


@credit_app.command("audit")
def audit(uscc: str, as_json: JsonOut = False, data_dir: DataDir = None, chain_url: ChainUrl = None) -> None:
    """Recompute the enterprise's credit chain from the store and compare it with the ledger; exit 1 on mismatch."""
    with cli_context(data_dir, chain_url) as ctx:
        report = ctx.require_credit().audit(uscc)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        typer.echo(
            f"{'OK' if report['ok'] else 'MISMATCH'}  {uscc}: {report['appended']} records on chain "
            f"(chain says {report['chain_length']}), {report['pending']} pending, head {report['chain_head']}"
        )
        for problem in report["problems"]:
            typer.echo(f"  - {problem}")
    raise typer.Exit(0 if report["ok"] else 1)


@credit_app.command("sync")
def sync(data_dir: DataDir = None, chain_url: ChainUrl = None) -> None:
    """Regrade every enterprise as of today, then write pending credit records, grades and list flags to the
    chain (the service does this every 2 s, and regrades once a day)."""
    with cli_context(
        data_dir,
        chain_url,
        writes="it writes pending credit records, grades and lists to the chain itself every 2 s: nothing to do",
    ) as ctx:
        credit = ctx.require_credit()
        done = credit.refresh() | credit.sync()
    typer.echo(json.dumps(done))


@credit_app.command("refresh")
def refresh(
    on: Annotated[str | None, typer.Option("--on", help="The day to grade as of (YYYY-MM-DD); default today.")] = None,
    chunk: Annotated[int, typer.Option("--chunk", min=1, help="Enterprises per chunk (one transaction each).")] = (
        PASS_CHUNK
    ),
    as_json: JsonOut = False,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Run the day's regrading pass, which the service runs by itself once a day: every enterprise regraded as of the
    day in USCC order, chunk by chunk, taking up a pass that was stopped at its cursor; a finished day is not redone,
    and while another process runs the pass this one does nothing (exit 1). Only the store is written: changed
    grades reach the chain with the service's next sync (or `zel credit sync`)."""
    day = _day(on) or date.today()
    shown = [time.monotonic()]

    def report(progress: PassProgress) -> None:
        if not as_json and time.monotonic() - shown[0] >= 5:
            shown[0] = time.monotonic()
            typer.echo(f"  {progress.total_regraded} enterprises graded, up to {progress.cursor}", err=True)

    with cli_context(data_dir, chain_url) as ctx:
        credit = ctx.require_credit()
        done = credit.daily_pass(day, chunk=chunk, after_chunk=report)
        holder = credit.pass_lease.current_holder() if done.state in ("busy", "lost") else None
    if as_json:
        typer.echo(json.dumps(done.as_dict() | {"holder": holder}))
    elif done.state == "done":
        typer.echo(
            f"the pass of {day} finished before: {done.total_regraded} enterprises, {done.total_changed} grades changed"
        )
    elif done.state == "finished":
        typer.echo(
            f"the pass of {day} finished{' (continued from where it stopped)' if done.resumed else ''}: "
            f"{done.regraded} enterprises graded in {done.seconds:g} s, {done.changed} grades changed, "
            f"{done.lists} red-list entries queued; {done.total_regraded} enterprises in the day's pass"
        )
    else:
        typer.echo(f"another process runs the pass of {day} ({holder or 'its lease just ended'}): nothing done here")
    raise typer.Exit(0 if done.state in ("done", "finished") else 1)


@inspect_app.command("draw")
def draw(
    targets: Annotated[int, typer.Option("--targets", help="Enterprises to inspect.")],
    per_target: Annotated[int, typer.Option("--per-target", help="Inspectors per enterprise.")] = 2,
    as_json: JsonOut = False,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Commit a seed on chain, then draw targets (weighted by credit class) and inspectors, and publish it all."""
    from credit import draws

    cli = cli_context(
        data_dir,
        chain_url,
        writes="draw through it (POST {url}/v1/department/credit/draws, signed in as an official of amr.440604)",
    )
    with cli as ctx:
        credit = ctx.require_credit()
        with transaction(ctx.sessions) as session:  # the commitment is on chain and stored before the draw
            record, seed = draws.commit(
                credit, session, targets=targets, per_target=per_target, actor=cli_actor().subject
            )
            uid = record.uid
        with transaction(ctx.sessions) as session:
            from sqlalchemy import select

            from store.models import RandomDraw

            record = session.scalars(select(RandomDraw).where(RandomDraw.uid == uid)).one()
            info = draws.published(draws.reveal(credit, session, record, seed))
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False))
    else:
        typer.echo(
            f"draw {uid}: {len(info['candidates'])} candidates, {len(info['inspectors'])} inspectors, "
            f"seed {info['seed']}"
        )
        for target in info["result"]:
            typer.echo(f"  {target['uscc']}  class {target['grade']}  inspectors {', '.join(target['inspectors'])}")


@inspect_app.command("redraw")
def redraw(
    draw_id: str,
    file: Annotated[
        Path | None, typer.Option("--file", help="A published draw (JSON) instead of the store's copy.")
    ] = None,
    as_json: JsonOut = False,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Redo a published draw from public data and check it against the chain; exit 1 if anything differs."""
    from sqlalchemy import select

    from credit import draws
    from store.models import RandomDraw

    with cli_context(data_dir, chain_url) as ctx:
        if file is not None:
            record = json.loads(file.read_text())
        else:
            with ctx.sessions() as session:
                row = session.scalars(select(RandomDraw).where(RandomDraw.uid == draw_id)).first()
                if row is None:
                    raise fail(f"no draw {draw_id}", 1)
                record = draws.published(row)
        if record.get("uid") != draw_id:
            raise fail(f"the file holds draw {record.get('uid')}, not {draw_id}")
        report = draws.redraw(ctx.require_credit(), record)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        typer.echo(("OK: the same draw" if report["ok"] else "MISMATCH") + f" ({draw_id})")
        for problem in report["problems"]:
            typer.echo(f"  - {problem}")
    raise typer.Exit(0 if report["ok"] else 1)


@credit_app.command("qr")
def qr(
    uscc: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="A .png or .svg file to write.")],
    ecc: Annotated[str, typer.Option("--ecc", help="Error correction: L, M, Q (default) or H.")] = "Q",
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Write an enterprise's one code (一企一码): the signed link to its public profile, as a QR code."""
    from api.cli.certs import write_qr
    from credit.codes_qr import CODE_DEPARTMENT, enterprise_code

    with cli_context(data_dir, chain_url) as ctx:
        with ctx.sessions() as session:
            if session.get(Enterprise, uscc) is None:
                raise fail(f"no enterprise {uscc}", 1)
        url = enterprise_code(
            ctx.require_ledger(), ctx.require_credit().keys[CODE_DEPARTMENT], ctx.settings.public_url, uscc
        )
    write_qr(url, output, ecc)


@credit_app.command("report")
def report(
    uscc: str,
    period_from: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
    period_to: Annotated[str | None, typer.Option("--to", help="Last day (default today).")] = None,
    as_json: JsonOut = False,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Issue an enterprise's signed credit report (企业信用报告) over a span of up to 5 years; `zel cert pdf NUMBER`
    prints it, and its QR verifies like every certificate's."""
    from credit.report import make_report
    from zero_errand.verification import url_of

    def action(ctx: AppContext, session: Session) -> dict[str, Any]:
        cert = make_report(
            ctx.require_credit(),
            session,
            uscc=uscc,
            period_from=_day(period_from) or date.today(),
            period_to=_day(period_to) or date.today(),
            builder=ctx.require_certificates().builder,
            actor=cli_actor().subject,
        )
        return {
            "number": cert.number,
            "grade": cert.content["values"]["grade"].upper(),  # the schema's enum code: a .. d
            "records": cert.content["values"]["record_count"],
            "verify_url": url_of(cert, ctx.settings.public_url),
        }

    _run(
        data_dir,
        chain_url,
        action,
        as_json,
        "make it through it (POST {url}/v1/enterprise/credit/report, with the enterprise's API client token)",
    )


credit_app.add_typer(repair_app, name="repair")


def register_inspect(app: typer.Typer) -> None:
    """`zel inspect draw|redraw`."""
    app.add_typer(inspect_app, name="inspect")
