"""`zel credit record|list|list-end|repair|grade|audit|sync`: the credit ledger from the command line (audited as the
CLI user). `zel credit code` lives in credit/cli.py; these need the store and the chain."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.certs import cli_context
from api.cli.chain import ChainUrl, DataDir, JsonOut, fail
from api.cli.platform import cli_actor
from credit import workflows
from credit.ledger import CreditError
from errors import ZelError
from store.db import transaction
from store.models import Enterprise

repair_app = typer.Typer(help="Credit repair: apply for a record, review an application.", no_args_is_help=True)
inspect_app = typer.Typer(help="Double random draws (双随机) of inspection targets and inspectors.",
                          no_args_is_help=True)
Department = Annotated[str, typer.Option("--department", help="tax.440604, si.440604 or amr.440604.")]


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError as exc:
        raise fail(f"{text!r} is not a date (YYYY-MM-DD)") from exc


def _run(data_dir: Any, chain_url: Any, action: Any, as_json: bool, instead: str) -> None:
    """Do `action(ctx, session)` in one transaction, then write to the chain; print what it returns. Refused up
    front, saying what to do `instead` ("{url}": the server's), when `zel serve` holds the embedded chain."""
    ctx = cli_context(data_dir, chain_url, writes=instead)
    try:
        with transaction(ctx.sessions) as session:
            info = action(ctx, session)
        ctx.credit.sync()
    except CreditError as exc:
        raise fail(exc.message) from exc
    except ZelError as exc:
        raise fail(f"stored, but not yet on chain ({exc.message}); `zel credit sync` retries") from exc
    finally:
        ctx.ledger.close()
    typer.echo(json.dumps(info, ensure_ascii=False) if as_json else " ".join(f"{k}={v}" for k, v in info.items()))


def record(
    uscc: str,
    type: Annotated[str, typer.Option("--type", help="tax_arrears, si_arrears, penalty_minor|general|serious, "
                                      "dishonest_debtor, inspection_pass|issues|fail, commendation.")],
    department: Department,
    summary: Annotated[str, typer.Option("--summary")],
    decided: Annotated[str | None, typer.Option("--decided", help="Decision date (default today).")] = None,
    reference: Annotated[str, typer.Option("--reference", help="The decision's document number.")] = "",
    amount_fen: Annotated[int | None, typer.Option("--amount-fen")] = None,
    as_json: JsonOut = False, data_dir: DataDir = None, chain_url: ChainUrl = None,
) -> None:
    """Add a department's credit record; its digest goes on the enterprise's chain and the grade is recomputed."""

    def action(ctx: Any, session: Any) -> dict[str, Any]:
        row = workflows.record(ctx.credit, session, uscc=uscc, type=type, department=department,
                               decided_on=_day(decided) or date.today(), summary=summary, reference=reference,
                               amount_fen=amount_fen, actor=cli_actor().subject)
        return {"uid": row.uid, "seq": row.seq, "digest": row.digest}

    _run(data_dir, chain_url, action, as_json,
         f"record it through it (POST {{url}}/v1/department/credit/records, signed in as an official of {department})")


def list_entry(
    uscc: str,
    list_name: Annotated[str, typer.Option("--list", help="red or black.")],
    department: Department,
    reason: Annotated[str, typer.Option("--reason")],
    start: Annotated[str | None, typer.Option("--start", help="Default today.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="Open-ended when omitted.")] = None,
    reference: Annotated[str, typer.Option("--reference")] = "",
    as_json: JsonOut = False, data_dir: DataDir = None, chain_url: ChainUrl = None,
) -> None:
    """Put an enterprise on the red or the black list (black: joint punishment by every department)."""

    def action(ctx: Any, session: Any) -> dict[str, Any]:
        entry = workflows.list_entry(ctx.credit, session, uscc=uscc, list_name=list_name, department=department,
                                     start_on=_day(start) or date.today(), end_on=_day(end), reason=reason,
                                     reference=reference, actor=cli_actor().subject)
        return {"entry": entry.id, "list": entry.list, "joint_punishment": entry.joint_punishment}

    _run(data_dir, chain_url, action, as_json,
         f"list it through it (POST {{url}}/v1/department/credit/lists, signed in as an official of {department})")


def list_end(
    entry: Annotated[int, typer.Argument(help="The list entry's id (printed by `zel credit list`).")],
    department: Department,
    reason: Annotated[str, typer.Option("--reason")],
    end: Annotated[str | None, typer.Option("--end", help="First day off the list (default today).")] = None,
    reference: Annotated[str, typer.Option("--reference")] = "",
    as_json: JsonOut = False, data_dir: DataDir = None, chain_url: ChainUrl = None,
) -> None:
    """End a red or black list entry (only the department that made it)."""

    def action(ctx: Any, session: Any) -> dict[str, Any]:
        ended = workflows.end_list_entry(ctx.credit, session, entry_id=entry, department=department,
                                         end_on=_day(end), reason=reason, reference=reference,
                                         actor=cli_actor().subject)
        return {"entry": ended.id, "list": ended.list, "end_on": ended.end_on.isoformat()}

    _run(data_dir, chain_url, action, as_json,
         f"end it through it (POST {{url}}/v1/department/credit/lists/{entry}/end, signed in as an official of "
         f"{department})")


@repair_app.command("apply")
def repair_apply(uscc: str, record_uid: str, statement: Annotated[str, typer.Option("--statement")],
                 as_json: JsonOut = False, data_dir: DataDir = None, chain_url: ChainUrl = None) -> None:
    """Apply to repair a record (refused before its minimum display period is over)."""

    def action(ctx: Any, session: Any) -> dict[str, Any]:
        app = workflows.apply_repair(ctx.credit, session, uscc=uscc, record_uid=record_uid, statement=statement,
                                     actor=cli_actor().subject)
        return {"application": app.id, "state": app.state}

    _run(data_dir, chain_url, action, as_json,
         "apply through it (POST {url}/v1/enterprise/credit/repairs, with the enterprise's API client token)")


@repair_app.command("review")
def repair_review(application: int, department: Department,
                  approve: Annotated[bool, typer.Option("--approve/--reject")],
                  note: Annotated[str, typer.Option("--note")] = "",
                  as_json: JsonOut = False, data_dir: DataDir = None, chain_url: ChainUrl = None) -> None:
    """Approve or reject a repair application (the department that made the record)."""

    def action(ctx: Any, session: Any) -> dict[str, Any]:
        app = workflows.review_repair(ctx.credit, session, application_id=application, approve=approve,
                                      department=department, note=note, actor=cli_actor().subject)
        return {"application": app.id, "state": app.state}

    _run(data_dir, chain_url, action, as_json,
         f"decide through it (POST {{url}}/v1/department/credit/repairs/{application}/decision, signed in as an "
         f"official of {department})")


def grade(uscc: str, as_json: JsonOut = False, data_dir: DataDir = None, chain_url: ChainUrl = None) -> None:
    """Recompute and show an enterprise's grade with its explanation."""

    def action(ctx: Any, session: Any) -> dict[str, Any]:
        row = ctx.credit.regrade(session, uscc)
        return {"uscc": uscc, "grade": row.grade, "score": row.score, "rules": row.rules_version,
                "explanation": row.explanation}

    _run(data_dir, chain_url, action, as_json,
         f"it regrades every enterprise daily and after each record; read the grade from it (GET "
         f"{{url}}/v1/department/credit/enterprises/{uscc}, signed in as an official)")


def audit(uscc: str, as_json: JsonOut = False, data_dir: DataDir = None, chain_url: ChainUrl = None) -> None:
    """Recompute the enterprise's credit chain from the store and compare it with the ledger; exit 1 on mismatch."""
    ctx = cli_context(data_dir, chain_url)
    try:
        report = ctx.credit.audit(uscc)
    except ZelError as exc:
        raise fail(exc.message) from exc
    finally:
        ctx.ledger.close()
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        typer.echo(f"{'OK' if report['ok'] else 'MISMATCH'}  {uscc}: {report['appended']} records on chain "
                   f"(chain says {report['chain_length']}), {report['pending']} pending, head {report['chain_head']}")
        for problem in report["problems"]:
            typer.echo(f"  - {problem}")
    raise typer.Exit(0 if report["ok"] else 1)


def sync(data_dir: DataDir = None, chain_url: ChainUrl = None) -> None:
    """Regrade every enterprise as of today, then write pending credit records, grades and list flags to the
    chain (the service does this every 2 s, and regrades once a day)."""
    ctx = cli_context(data_dir, chain_url, writes="it writes pending credit records, grades and lists to the chain "
                                                  "itself every 2 s: nothing to do")
    try:
        done = ctx.credit.refresh() | ctx.credit.sync()
    except ZelError as exc:
        raise fail(exc.message) from exc
    finally:
        ctx.ledger.close()
    typer.echo(json.dumps(done))


@inspect_app.command("draw")
def draw(targets: Annotated[int, typer.Option("--targets", help="Enterprises to inspect.")],
         per_target: Annotated[int, typer.Option("--per-target", help="Inspectors per enterprise.")] = 2,
         as_json: JsonOut = False, data_dir: DataDir = None, chain_url: ChainUrl = None) -> None:
    """Commit a seed on chain, then draw targets (weighted by credit class) and inspectors, and publish it all."""
    from credit import draws

    ctx = cli_context(data_dir, chain_url, writes="draw through it (POST {url}/v1/department/credit/draws, signed in "
                                                  "as an official of amr.440604)")
    try:
        with transaction(ctx.sessions) as session:  # the commitment is on chain and stored before the draw
            record, seed = draws.commit(ctx.credit, session, targets=targets, per_target=per_target,
                                        actor=cli_actor().subject)
            uid = record.uid
        with transaction(ctx.sessions) as session:
            from sqlalchemy import select

            from store.models import RandomDraw

            record = session.scalars(select(RandomDraw).where(RandomDraw.uid == uid)).one()
            info = draws.published(draws.reveal(ctx.credit, session, record, seed))
    except CreditError as exc:
        raise fail(exc.message) from exc
    except ZelError as exc:
        raise fail(exc.message) from exc
    finally:
        ctx.ledger.close()
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False))
    else:
        typer.echo(f"draw {uid}: {len(info['candidates'])} candidates, {len(info['inspectors'])} inspectors, "
                   f"seed {info['seed']}")
        for target in info["result"]:
            typer.echo(f"  {target['uscc']}  class {target['grade']}  inspectors {', '.join(target['inspectors'])}")


@inspect_app.command("redraw")
def redraw(draw_id: str,
           file: Annotated[Path | None, typer.Option("--file", help="A published draw (JSON) instead of the "
                                                        "store's copy.")] = None,
           as_json: JsonOut = False, data_dir: DataDir = None, chain_url: ChainUrl = None) -> None:
    """Redo a published draw from public data and check it against the chain; exit 1 if anything differs."""
    from sqlalchemy import select

    from credit import draws
    from store.models import RandomDraw

    ctx = cli_context(data_dir, chain_url)
    try:
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
        report = draws.redraw(ctx.credit, record)
    except ZelError as exc:
        raise fail(exc.message) from exc
    finally:
        ctx.ledger.close()
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        typer.echo(("OK: the same draw" if report["ok"] else "MISMATCH") + f" ({draw_id})")
        for problem in report["problems"]:
            typer.echo(f"  - {problem}")
    raise typer.Exit(0 if report["ok"] else 1)


def qr(uscc: str, output: Annotated[Path, typer.Option("-o", "--output", help="A .png or .svg file to write.")],
       ecc: Annotated[str, typer.Option("--ecc", help="Error correction: L, M, Q (default) or H.")] = "Q",
       data_dir: DataDir = None, chain_url: ChainUrl = None) -> None:
    """Write an enterprise's one code (一企一码): the signed link to its public profile, as a QR code."""
    from api.cli.certs import write_qr
    from credit.codes_qr import enterprise_code

    ctx = cli_context(data_dir, chain_url)
    try:
        with ctx.sessions() as session:
            if session.get(Enterprise, uscc) is None:
                raise fail(f"no enterprise {uscc}", 1)
        url = enterprise_code(ctx.ledger, ctx.credit.keys["amr.440604"], ctx.settings.public_url, uscc)
    finally:
        ctx.ledger.close()
    write_qr(url, output, ecc)


def report(uscc: str, period_from: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD).")],
           period_to: Annotated[str | None, typer.Option("--to", help="Last day (default today).")] = None,
           as_json: JsonOut = False, data_dir: DataDir = None, chain_url: ChainUrl = None) -> None:
    """Issue an enterprise's signed credit report (企业信用报告) over a span of up to 5 years; `zel cert pdf NUMBER`
    prints it, and its QR verifies like every certificate's."""
    from credit.report import make_report
    from zero_errand.verification import url_of

    def action(ctx: Any, session: Any) -> dict[str, Any]:
        service = ctx.certificates
        cert = make_report(ctx.credit, session, uscc=uscc, period_from=_day(period_from) or date.today(),
                           period_to=_day(period_to) or date.today(), key=service.keys["amr.440604"],
                           domain=service.domain, actor=cli_actor().subject)
        return {"number": cert.number, "grade": cert.detail["grade"]["grade"],
                "records": len(cert.detail["records"]), "verify_url": url_of(cert, ctx.settings.public_url)}

    _run(data_dir, chain_url, action, as_json,
         "make it through it (POST {url}/v1/enterprise/credit/report, with the enterprise's API client token)")


def register(app: typer.Typer) -> None:
    """Add these commands to `zel credit`."""
    app.command("record")(record)
    app.command("list")(list_entry)
    app.command("list-end")(list_end)
    app.add_typer(repair_app, name="repair")
    app.command("grade")(grade)
    app.command("audit")(audit)
    app.command("sync")(sync)
    app.command("qr")(qr)
    app.command("report")(report)


def register_inspect(app: typer.Typer) -> None:
    """`zel inspect draw|redraw`."""
    app.add_typer(inspect_app, name="inspect")
