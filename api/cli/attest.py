"""`zel attest`: attestations of kinds registered from schema files (issue 19), issued without code, as an official
of the kind's department would at the counter."""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli.certs import describe, show
from api.cli.options import ChainUrl, DataDir, JsonOut, cli_actor, cli_context, fail
from store.db import transaction
from zero_errand.verification import url_of

attest_app = typer.Typer(help="Attestations of kinds registered from schema files.", no_args_is_help=True)


def parse_fields(pairs: list[str]) -> dict[str, str]:
    """`NAME=VALUE` pairs as a dict; a pair without `=` or a name given twice is refused."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise fail(f"--field {pair!r}: write NAME=VALUE")
        if name in out:
            raise fail(f"--field {name} is given twice")
        out[name] = value
    return out


@attest_app.command("issue")
def attest_issue(
    kind: Annotated[str, typer.Option("--kind", help="The kind's slug (`zel kinds list`); its latest version.")],
    subject: Annotated[str, typer.Option("--subject", help="Citizen ID number or USCC, as the kind says.")],
    field: Annotated[list[str] | None, typer.Option("--field", help="NAME=VALUE, once per field.")] = None,
    as_json: JsonOut = False,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Issue an attestation: each field checked against the kind's schema (a refusal names the field and the
    rule), signed with the key of the kind's department, stored ISSUED for the anchor worker. `id` in the output is
    its number (`zel cert qr`, `zel cert revoke`)."""
    values = parse_fields(field or [])
    with cli_context(data_dir, chain_url) as ctx:
        with transaction(ctx.sessions) as session:
            cert = ctx.require_certificates().attest(
                session, kind=kind, subject=subject, fields=values, actor=cli_actor().subject, role="admin"
            )
            info = {**describe(session, cert), "verify_url": url_of(cert, ctx.settings.public_url)}
    show(info, as_json)
