"""`zel kinds`: attestation kinds from schema files (issue 19). `check` reads a schema file as registration will
and says every rule it breaks, with its place, before anything goes on chain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli.options import JsonOut, fail, out, quiet_settings
from kinds.schema import KindSchemaError, load
from qr.attestation import MOST_VERSION, longest_version

kinds_app = typer.Typer(help="Attestation kinds from schema files.", no_args_is_help=True)


@kinds_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="The kind's schema file (JSON).", exists=True, dir_okay=False)],
    url: Annotated[
        str | None, typer.Option("--url", help="The verify pages' public URL (default: the deployment's).")
    ] = None,
    as_json: JsonOut = False,
) -> None:
    """Check a kind's schema file: its title, department, subject and fields, and that its QR code fits version 13
    at level Q at its longest; or every rule it breaks (exit 2)."""
    try:
        kind = load(file.read_bytes())
    except KindSchemaError as exc:
        problems = exc.detail.get("problems", [])
        if as_json:
            typer.echo(json.dumps({"ok": False, "file": str(file), "problems": problems}, ensure_ascii=False))
            raise typer.Exit(2) from exc
        for p in problems:
            typer.echo(f"  {p['where'] or '(schema)'}: {p['rule']}", err=True)
        raise fail(f"{file} breaks {len(problems)} rule{'s' if len(problems) != 1 else ''}") from exc
    base = url or quiet_settings(None).public_url
    version = longest_version(kind, base)
    if version > MOST_VERSION:
        problem = {
            "where": "fields",
            "rule": f"at its longest its QR code needs version {version} at level Q (at most {MOST_VERSION}): "
            "lower a string's max_length or set in_qr false on a field",
        }
        if as_json:
            typer.echo(json.dumps({"ok": False, "file": str(file), "problems": [problem]}, ensure_ascii=False))
            raise typer.Exit(2)
        raise fail(f"{file}: {problem['where']}: {problem['rule']}")
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
