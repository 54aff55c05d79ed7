"""`zel`: the ZeroErrand Ledger command-line tool. Every command honours `--data-dir` / `ZEL_DATA_DIR`."""

from __future__ import annotations

import logging
import os

import typer

from api import platform_cli
from ledger import cli as ledger_cli
from ledger.client import bootstrap
from ledger.errors import LedgerError

app = typer.Typer(
    help="ZeroErrand Ledger (zel): zero-errand certificates and credit records on a permissioned chain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(ledger_cli.contracts_app, name="contracts")
app.add_typer(ledger_cli.keys_app, name="keys")
app.add_typer(ledger_cli.issuer_app, name="issuer")
app.add_typer(platform_cli.users_app, name="users")
app.add_typer(platform_cli.clients_app, name="clients")
app.add_typer(platform_cli.audit_app, name="audit")
app.add_typer(platform_cli.db_app, name="db")
app.add_typer(platform_cli.pii_app, name="pii")
app.command("serve")(platform_cli.serve)


@app.command("status")
def status(
    data_dir: ledger_cli.DataDir = None, chain_url: ledger_cli.ChainUrl = None, as_json: ledger_cli.JsonOut = False
) -> None:
    """Show the chain, the contract addresses, the departments and the keys."""
    ledger_cli.show_status(data_dir, chain_url, as_json)


@app.command("up")
def up(data_dir: ledger_cli.DataDir = None, chain_url: ledger_cli.ChainUrl = None) -> None:
    """Open the chain (the embedded one by default), deploy the contracts if needed, print the addresses."""
    try:
        ledger, _admin, fresh = bootstrap(ledger_cli.config_of(data_dir, chain_url))
    except LedgerError as exc:
        raise ledger_cli.fail(exc.message) from exc
    with ledger:
        ledger_cli._print_deployment(ledger, fresh, as_json=False)


def main() -> None:
    logging.basicConfig(level=os.environ.get("ZEL_LOG_LEVEL", "WARNING"))
    app()
