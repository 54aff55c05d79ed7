"""`zel kinds`: attestation kinds from schema files (issue 19). `check` reads a schema file as registration will
and says every rule it breaks, with its place, before anything goes on chain; `register` (the district admin) puts
it on chain for its department and keeps the file in the store; `list` shows every kind the chain has."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli.options import AsAdmin, ChainUrl, DataDir, JsonOut, cli_context, fail, out, quiet_settings
from kinds.schema import KindSchema, KindSchemaError, load
from ledger.client import ADMIN_KEY
from qr.attestation import MOST_VERSION, longest_version
from zero_errand.kind_registry import KindRegistrationRefused, listed, register

kinds_app = typer.Typer(help="Attestation kinds from schema files.", no_args_is_help=True)
SchemaFile = Annotated[Path, typer.Argument(help="The kind's schema file (JSON).", exists=True, dir_okay=False)]


def _refuse(file: Path, problems: list[dict[str, str]], as_json: bool) -> typer.Exit:
    """Say every problem (each with its place) and return the exit (2) to raise."""
    if as_json:
        typer.echo(json.dumps({"ok": False, "file": str(file), "problems": problems}, ensure_ascii=False))
        return typer.Exit(2)
    for p in problems:
        typer.echo(f"  {p['where'] or '(schema)'}: {p['rule']}", err=True)
    return fail(f"{file} breaks {len(problems)} rule{'s' if len(problems) != 1 else ''}")


def _checked(file: Path, url: str | None, as_json: bool) -> KindSchema:
    """The file's kind, refused (exit 2) with every rule it breaks, its QR code's size at its longest included."""
    try:
        kind = load(file.read_bytes())
    except KindSchemaError as exc:
        raise _refuse(file, exc.detail.get("problems", []), as_json) from exc
    version = longest_version(kind, url or quiet_settings(None).public_url)
    if version > MOST_VERSION:
        problem = {
            "where": "fields",
            "rule": f"at its longest its QR code needs version {version} at level Q (at most {MOST_VERSION}): "
            "lower a string's max_length or set in_qr false on a field",
        }
        raise _refuse(file, [problem], as_json)
    return kind


@kinds_app.command("check")
def check(
    file: SchemaFile,
    url: Annotated[
        str | None, typer.Option("--url", help="The verify pages' public URL (default: the deployment's).")
    ] = None,
    as_json: JsonOut = False,
) -> None:
    """Check a kind's schema file: its title, department, subject and fields, and that its QR code fits version 13
    at level Q at its longest; or every rule it breaks (exit 2)."""
    kind = _checked(file, url, as_json)
    base = url or quiet_settings(None).public_url
    version = longest_version(kind, base)
    summary = {
        "ok": True,
        "slug": kind.slug,
        "version": kind.version,
        "title": {"zh": kind.title.zh, "en": kind.title.en},
        "department": kind.department,
        "subject": kind.subject,
        "validity_days": kind.validity_days,
        "schema_digest": "0x" + kind.digest.hex(),
        "qr_version_at_longest": version,
        "fields": [{"name": f.name, "type": f.type, "in_qr": f.in_qr} for f in kind.fields],
    }
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    table = Table(title=f"{kind.slug} v{kind.version}: {kind.title.zh} ({kind.title.en})")
    for column in ("field", "type", "label", "in QR"):
        table.add_column(column)
    for f in kind.fields:
        table.add_row(f.name, f.type, f"{f.label.zh} / {f.label.en}", "yes" if f.in_qr else "no (detail)")
    out.print(table)
    out.print(f"department {kind.department}, subject {kind.subject}, valid {kind.validity_days} days")
    out.print(f"schema digest 0x{kind.digest.hex()}; QR version {version} at level Q at its longest on {base}")


@kinds_app.command("register")
def register_kind(
    file: SchemaFile,
    administrator: AsAdmin = ADMIN_KEY,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
    as_json: JsonOut = False,
) -> None:
    """Register a kind from its schema file for its department (the district admin's act, through the ledger's
    approvals): its digest, slug and version go on chain, the file into the store. Registering the same file again
    changes nothing. Refused (exit 2), naming the field and the rule, for a file that breaks a rule, an unknown or
    retired department, a slug of another department or a version not above the latest."""
    kind = _checked(file, None, as_json)
    with cli_context(data_dir, chain_url, writes="stop it first, or register on the node it uses") as ctx:
        admin = ctx.settings.keystore().load(administrator)
        try:
            done = register(ctx.require_ledger(), admin, ctx.sessions, kind)
        except KindRegistrationRefused as exc:
            raise _refuse(file, exc.detail["problems"], as_json) from exc
    summary = {
        "ok": True,
        "slug": kind.slug,
        "version": kind.version,
        "department": kind.department,
        "schema_digest": "0x" + kind.digest.hex(),
        "index": done.index,
        "already_registered": done.already,
        "proposal": done.proposal_id,
    }
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False))
    elif done.index is None:
        typer.echo(f"proposed {kind.slug} v{kind.version} (proposal {done.proposal_id}): it needs more approvals")
    else:
        said = "was already registered" if done.already else "registered"
        typer.echo(f"{kind.slug} v{kind.version} ({kind.title.zh}) {said} as kind #{done.index} of {kind.department}")


@kinds_app.command("list")
def list_kinds(data_dir: DataDir = None, chain_url: ChainUrl = None, as_json: JsonOut = False) -> None:
    """Every kind registered on chain, in registration order: number, slug, version, department and, where this
    data directory's store has its file, its title and fields."""
    with cli_context(data_dir, chain_url) as ctx:
        rows = [row.as_json() for row in listed(ctx.require_ledger(), ctx.sessions)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title="Registered kinds 已登记的证明种类")
    for column in ("#", "kind", "version", "department", "title"):
        table.add_column(column)
    for r in rows:
        title = f"{r['title']['zh']} / {r['title']['en']}" if r["file_here"] else "(file not in this store)"
        table.add_row(str(r["index"]), r["slug"], str(r["version"]), r["department"], title)
    out.print(table)
