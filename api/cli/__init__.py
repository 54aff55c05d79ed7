"""`zel`: the ZeroErrand Ledger command-line tool. Every command honours `--data-dir` / `ZEL_DATA_DIR`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from api.cli import attest as attest_cli
from api.cli import bulk as bulk_cli
from api.cli import certs as cert_cli
from api.cli import chain as ledger_cli
from api.cli import credit as credit_cli
from api.cli import kinds as kinds_cli
from api.cli import platform as platform_cli
from api.cli.options import ChainUrl, DataDir, JsonOut, ZelGroup, fail, quiet_settings
from api.settings import Settings
from ledger.client import bootstrap

app = typer.Typer(
    cls=ZelGroup,  # every command's domain errors: `error: <message>` and exit 2 (api/cli/options.py)
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
app.add_typer(platform_cli.anchor_app, name="anchor")
app.command("seed")(platform_cli.seed)
cert_cli.cert_app.command("bulk")(bulk_cli.cert_bulk)
app.add_typer(cert_cli.cert_app, name="cert")
app.command("verify")(cert_cli.verify)
app.add_typer(cert_cli.trustlist_app, name="trustlist")
credit_cli.register_inspect(app)
app.add_typer(credit_cli.credit_app, name="credit")
app.add_typer(kinds_cli.kinds_app, name="kinds")
app.add_typer(attest_cli.attest_app, name="attest")
app.command("serve")(platform_cli.serve)
ledger_cli.issuer_app.command("provision")(platform_cli.issuer_provision)


@app.command("status")
def status(data_dir: DataDir = None, chain_url: ChainUrl = None, as_json: JsonOut = False) -> None:
    """Show the chain, the contract addresses, the departments and the keys."""
    ledger_cli.show_status(data_dir, chain_url, as_json)


@app.command("up")
def up(data_dir: DataDir = None, chain_url: ChainUrl = None) -> None:
    """Open the chain (the embedded one by default), deploy the contracts if needed, print the addresses (an
    administrator's act: it loads the `admin` keystore). Refuses a deployment of an older trust model."""
    ledger, _admin, fresh = bootstrap(quiet_settings(data_dir, chain_url).chain())
    with ledger:
        ledger_cli.print_deployment(ledger, fresh, as_json=False)


def main() -> None:
    """The `zel` entry point."""
    try:
        level = Settings().log_level
    except ValidationError:  # a malformed ZEL_* variable: the command that reads it says which
        level = "WARNING"
    logging.basicConfig(level=level)
    app()


network_app = typer.Typer(help="Permissioned Besu QBFT network files.", no_args_is_help=True)
app.add_typer(network_app, name="network")


@network_app.command("init")
def network_init(
    out: Annotated[Path, typer.Option("--out", help="Directory to create (must be new or empty).")],
    validators: Annotated[int, typer.Option("--validators", help="Number of QBFT validators (>= 4).")] = 4,
    chain_id: Annotated[int, typer.Option("--chain-id")] = 440604,
    block_period: Annotated[int, typer.Option("--block-period", help="Seconds between blocks (2-5).")] = 2,
    data_dir: DataDir = None,
) -> None:
    """Generate validator keys, the QBFT genesis, static nodes, the node allowlist and signer keystores."""
    from ledger.network import init_network

    # The signers' keystores share one password: ZEL_KEYSTORE_PASSWORD when set, else a generated one.
    password = quiet_settings(data_dir).key_policy().passwords("ZEL_KEYSTORE_PASSWORD")
    try:
        summary = init_network(out, validators, chain_id, block_period, password)
    except (ValueError, FileExistsError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(f"QBFT network for chain {summary['chainId']} in {out}:")
    for v in summary["validators"]:
        typer.echo(f"  {v['name']:<12} {v['address']}")
    typer.echo(f"  rpc          {summary['rpc']['url']}")
    for name, address in summary["signers"].items():
        typer.echo(f"  signer {name:<5} {address}")


if __name__ == "__main__":
    main()
