"""`zel contracts|keys|issuer|status`: the chain's command-line surface (mounted by `api.cli`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from api.cli.options import (
    AsAdmin,
    ChainUrl,
    DataDir,
    JsonOut,
    config_of,
    fail,
    iso,
    out,
    parse_time,
    quiet_settings,
    writable,
)
from ledger import compile as build
from ledger.client import ADMIN_KEY, AdminResult, Ledger, bootstrap
from ledger.keys import SUITES, Keystore
from ledger.kinds import CreditScope, Kind, department_id, department_name, kinds_mask, scopes_mask

contracts_app = typer.Typer(help="Build and deploy the Solidity contracts.", no_args_is_help=True)
keys_app = typer.Typer(help="Encrypted signing keystores.", no_args_is_help=True)
issuer_app = typer.Typer(help="Departments, their signing keys and inspectors in IssuerRegistry.", no_args_is_help=True)


# -- contracts -------------------------------------------------------------------------------------


@contracts_app.command("build")
def contracts_build(
    check: Annotated[bool, typer.Option("--check", help="Rebuild and fail if the committed artifacts differ.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Compile contracts/src into contracts/artifacts (npm solc under Node, or a matching native solc)."""
    if check:
        problems = build.check()
        if problems:
            for p in problems:
                typer.echo(f"stale: {p}", err=True)
            raise fail("artifacts differ from a fresh build: run `zel contracts build` and commit", 1)
        typer.echo(f"artifacts match a fresh build with solc {build.pinned_solc_version()}")
        return
    for path in build.write_artifacts(build.build_artifacts()):
        typer.echo(f"wrote {path.relative_to(build.ROOT)}")


@contracts_app.command("deploy")
def contracts_deploy(
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
    redeploy: Annotated[bool, typer.Option("--redeploy", help="Replace an existing deployment.")] = False,
    administrators: Annotated[
        str | None,
        typer.Option(
            "--administrators",
            help="Comma-separated keystore names or addresses of the district administrators "
            "(default: the admin key alone).",
        ),
    ] = None,
    threshold: Annotated[int, typer.Option("--threshold", help="Approvals an administrative call needs (k of n).")] = 1,
    as_json: JsonOut = False,
) -> None:
    """Deploy the three contracts (the `admin` key pays) and write the chain's deployment record."""
    settings = quiet_settings(data_dir, chain_url)
    store = settings.keystore()
    admins = (
        [_resolve_address(store, a.strip()) for a in administrators.split(",") if a.strip()] if administrators else None
    )
    ledger, _admin, fresh = bootstrap(settings.chain(), redeploy=redeploy, administrators=admins, threshold=threshold)
    with ledger:
        print_deployment(ledger, fresh, as_json)


def print_deployment(ledger: Ledger, fresh: bool, as_json: bool) -> None:
    d = ledger.deployment
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "chainId": d.chain_id,
                    "addresses": d.addresses,
                    "block": d.block,
                    "administrators": d.administrators,
                    "threshold": d.threshold,
                    "deployedNow": fresh,
                    "gasUsed": d.gas_used,
                }
            )
        )
        return
    state = "deployed now" if fresh else "already deployed"
    out.print(
        f"chain {d.chain_id}: contracts {state} (block {d.block}; {d.threshold} of "
        f"{len(d.administrators)} administrators approve: {', '.join(d.administrators)})"
    )
    for name, address in d.addresses.items():
        out.print(f"  {name:<20} {address}")


def show_status(data_dir: Path | None, chain_url: str | None, as_json: bool) -> None:
    """`zel status`: chain, deployment, departments and keys."""
    cfg = config_of(data_dir, chain_url, read_only=True)
    with Ledger.open(cfg) as ledger:
        d = ledger.deployment
        block = ledger.w3.eth.get_block("latest")
        departments = ledger.departments()
        keys = ledger.keys()
    info = {
        "backend": "embedded" if cfg.embedded else cfg.rpc_url,
        "dataDir": str(cfg.data_dir),
        "chainId": d.chain_id,
        "block": block["number"],
        "blockTime": iso(block["timestamp"]),
        "addresses": d.addresses,
        "administrators": d.administrators,
        "threshold": d.threshold,
        "departments": [
            {"id": department_name(i), "name": n, "admittedAt": iso(a), "retiredAt": iso(r)}
            for i, n, a, r in departments
        ],
        "keys": [
            {
                "address": k.address,
                "department": department_name(k.department),
                "kinds": [x.slug for x in k.kinds],
                "validFrom": iso(k.valid_from),
                "revokedAt": iso(k.revoked_at),
                "migrated": k.migrated,
                "suite": k.suite,
            }
            for k in keys
        ],
    }
    if as_json:
        typer.echo(json.dumps(info))
        return
    out.print(f"chain {info['chainId']} ({info['backend']}), block {info['block']} at {info['blockTime']}")
    out.print(f"data directory {info['dataDir']}, {d.threshold} of {len(d.administrators)} administrators approve")
    for name, address in d.addresses.items():
        out.print(f"  {name:<20} {address}")
    out.print(f"{len(departments)} departments, {len(keys)} keys")


# -- keys ------------------------------------------------------------------------------------------


@keys_app.command("new")
def keys_new(
    name: Annotated[str, typer.Argument(help="Keystore name, e.g. tax-2026.")],
    suite: Annotated[
        str,
        typer.Option(
            "--suite",
            help="secp256k1 (EIP-712 certificates, chain transactions) or sm2 (SM2/SM3 certificates, GB/T 32918).",
        ),
    ] = "secp256k1",
    data_dir: DataDir = None,
) -> None:
    """Create an encrypted keystore holding a fresh key (password from the environment or a prompt)."""
    store = quiet_settings(data_dir).keystore()
    if suite not in SUITES:
        raise fail(f"unknown suite {suite!r}: choose {' or '.join(SUITES)}")
    entry = store.new(name, store.password(name, confirm=True), suite=suite)
    typer.echo(f"{entry.name} {entry.address} {entry.path} {entry.suite}")


@keys_app.command("list")
def keys_list(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """List the keystores in the data directory (no password needed)."""
    entries = quiet_settings(data_dir).keystore().list()
    if as_json:
        typer.echo(json.dumps([{"name": e.name, "address": e.address, "suite": e.suite} for e in entries]))
        return
    for e in entries:
        typer.echo(f"{e.name:<24} {e.suite:<9} {e.address}")


# -- issuer ----------------------------------------------------------------------------------------


def _resolve_address(store: Keystore, key: str) -> str:
    if key.startswith("0x") and len(key) == 42:
        return key
    return store.address(key)


@issuer_app.command("grant")
def issuer_grant(
    key: Annotated[str, typer.Argument(help="Keystore name or address of the key.")],
    department: Annotated[str, typer.Option("--department", "-d", help="Department id, e.g. tax.440604.")],
    kinds: Annotated[str, typer.Option("--kinds", "-k", help="Comma-separated kinds, e.g. tax,credit-record.")] = "",
    department_title: Annotated[
        str | None, typer.Option("--department-name", help="Admit the department with this name first.")
    ] = None,
    valid_from: Annotated[
        str | None,
        typer.Option("--valid-from", help="ISO time, now or later (keys are never back-dated); default now."),
    ] = None,
    inspector: Annotated[bool, typer.Option("--inspector", help="Grant the inspector role instead.")] = False,
    credit_scopes: Annotated[
        str,
        typer.Option(
            "--credit-scopes", help="With --department-name: comma-separated CreditRegistry scopes, e.g. penalty,grade."
        ),
    ] = "",
    administrator: AsAdmin = ADMIN_KEY,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Propose registering a department signing key for some kinds (or making an account an inspector)."""
    settings = quiet_settings(data_dir, chain_url)
    store = settings.keystore()
    try:
        kind_list = [Kind.parse(k) for k in kinds.split(",") if k.strip()]
    except ValueError as exc:
        raise fail(str(exc)) from exc
    if not inspector and not kind_list:
        raise fail("give --kinds (e.g. --kinds tax) or --inspector")
    try:
        dept = department_id(department)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    try:
        scopes = scopes_mask(
            [CreditScope[c.strip().upper().replace("-", "_")] for c in credit_scopes.split(",") if c.strip()]
        )
    except KeyError as exc:
        raise fail(f"unknown credit scope {exc}; choose from {', '.join(c.name.lower() for c in CreditScope)}") from exc
    address = _resolve_address(store, key)
    with Ledger.open(settings.chain()) as ledger:
        writable(ledger.conn)
        admin = store.load(administrator)
        if department_title:
            _report(
                ledger.admit_department(admin, dept, department_title, scopes),
                f"admitted department {department} ({department_title})",
            )
        if inspector:
            _report(ledger.grant_inspector(admin, address, dept), f"{address} is now an inspector of {department}")
            return
        registered = f"registered {address} for {department}: {', '.join(k.slug for k in kind_list)}"
        if store.exists(key) and store.suite(key) == "sm2":  # an SM2 key signs certificates only: nothing to fund
            call = ledger.register_sm2_key(
                admin, store.public_key(key), dept, kinds_mask(kind_list), parse_time(valid_from)
            )
            _report(call, f"{registered} (SM2)")
        elif _report(
            ledger.register_key(admin, address, dept, kinds_mask(kind_list), parse_time(valid_from)), registered
        ):
            ledger.fund(admin, address)


@issuer_app.command("revoke")
def issuer_revoke(
    key: Annotated[str, typer.Argument(help="Keystore name or address.")],
    at: Annotated[str | None, typer.Option("--at", help="Revocation time (ISO); default now.")] = None,
    inspector: Annotated[bool, typer.Option("--inspector", help="Withdraw the inspector role instead.")] = False,
    administrator: AsAdmin = ADMIN_KEY,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Propose revoking a key from a time on (signatures made before it keep verifying), or an inspector."""
    settings = quiet_settings(data_dir, chain_url)
    store = settings.keystore()
    address = _resolve_address(store, key)
    with Ledger.open(settings.chain()) as ledger:
        writable(ledger.conn)
        admin = store.load(administrator)
        if inspector:
            _report(ledger.revoke_inspector(admin, address), f"{address} is no longer an inspector")
            return
        if _report(ledger.revoke_key(admin, address, parse_time(at)), f"revoked {address}"):
            typer.echo(f"  from {iso(ledger.key_info(address).revoked_at)}")


@issuer_app.command("approve")
def issuer_approve(
    proposal_id: Annotated[int, typer.Argument(help="The proposal's id (see `zel issuer proposals`).")],
    administrator: AsAdmin = ADMIN_KEY,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Approve a pending administrative proposal; the approval that reaches the threshold executes it."""
    settings = quiet_settings(data_dir, chain_url)
    with Ledger.open(settings.chain()) as ledger:
        writable(ledger.conn)
        admin = settings.keystore().load(administrator)
        _report(ledger.approve(admin, proposal_id), f"proposal {proposal_id} executed")


@issuer_app.command("proposals")
def issuer_proposals(data_dir: DataDir = None, chain_url: ChainUrl = None, as_json: JsonOut = False) -> None:
    """List administrative proposals, their approvals and whether they executed."""
    with Ledger.open(config_of(data_dir, chain_url, read_only=True)) as ledger:
        rows, threshold = ledger.proposals(), ledger.threshold()
    if as_json:
        typer.echo(json.dumps({"threshold": threshold, "proposals": [p.__dict__ for p in rows]}))
        return
    for p in rows:
        state = "executed" if p.executed else f"{p.approvals}/{threshold} approvals"
        typer.echo(f"#{p.id:<4} {state:<16} by {p.proposer}  {p.call}")


def _report(result: AdminResult, done: str) -> bool:
    """Print what an administrative transaction did; True when its proposal executed."""
    if result.executed:
        typer.echo(done)
        return True
    typer.echo(
        f"proposal {result.proposal_id} has {result.approvals} approval(s); other administrators approve it "
        f"with `zel issuer approve {result.proposal_id} --as NAME`"
    )
    return False


@issuer_app.command("list")
def issuer_list(data_dir: DataDir = None, chain_url: ChainUrl = None, as_json: JsonOut = False) -> None:
    """List departments and their keys as IssuerRegistry holds them."""
    with Ledger.open(config_of(data_dir, chain_url, read_only=True)) as ledger:
        departments = ledger.departments()
        keys = ledger.keys()
    rows = [
        {
            "address": k.address,
            "department": department_name(k.department),
            "kinds": [x.slug for x in k.kinds],
            "validFrom": iso(k.valid_from),
            "revokedAt": iso(k.revoked_at),
            "suite": k.suite,
        }
        for k in keys
    ]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "departments": [
                        {"id": department_name(i), "name": n, "retiredAt": iso(r)} for i, n, _a, r in departments
                    ],
                    "keys": rows,
                }
            )
        )
        return
    for i, n, a, r in departments:
        typer.echo(f"department {department_name(i)}  {n}  admitted {iso(a)}  retired {iso(r)}")
    for row in rows:
        typer.echo(
            f"key {row['address']}  {row['suite']}  {row['department']}  {','.join(row['kinds'])}  "
            f"valid from {row['validFrom']}  revoked {row['revokedAt']}"
        )
