"""`zel credit code`: validate and normalize citizen ID numbers and USCCs."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from identifiers import validate

credit_app = typer.Typer(help="Credit codes, records, lists, repair, grades and the chain audit.", no_args_is_help=True)


@credit_app.command("code")
def code(
    value: Annotated[str, typer.Argument(help="A USCC or citizen ID number, as pasted (spaces, full-width...).")],
    kind: Annotated[str | None, typer.Option("--kind", help="uscc or citizen_id; guessed when omitted.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print valid, kind, normalized, error, position.")] = False,
) -> None:
    """Validate a code; exit 0 when valid, 1 when not."""
    if kind not in (None, "uscc", "citizen_id"):
        typer.echo("error: --kind must be uscc or citizen_id", err=True)
        raise typer.Exit(2)
    result = validate(value, kind)  # type: ignore[arg-type]
    if as_json:
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    elif result.valid:
        typer.echo(f"valid {result.kind}: {result.normalized}")
    else:
        where = f" at position {result.position}" if result.position else ""
        typer.echo(f"invalid{(' ' + result.kind) if result.kind else ''}: {result.error}{where}")
    raise typer.Exit(0 if result.valid else 1)
