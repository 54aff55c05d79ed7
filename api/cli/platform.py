"""`zel serve`, `zel users`, `zel clients`, `zel audit`, `zel db`: the service's command line."""

from __future__ import annotations

import gc
import json
import sys
import threading
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy import select

from api.cli.options import ChainUrl, DataDir, JsonOut, cli_actor, fail, open_store, settings_of, writable
from api.context import AppContext, build_context
from api.services import add_client, add_user, set_client_disabled, set_user_disabled
from errors import ZelError
from store import audit
from store.db import transaction
from store.models import ApiClient, Role, User

if TYPE_CHECKING:
    from ledger.audit_anchor import AuditAnchorer

users_app = typer.Typer(help="People who sign in: citizens, inspectors, officials, admins.", no_args_is_help=True)
clients_app = typer.Typer(help="Enterprise OAuth2 API clients.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
db_app = typer.Typer(help="The store's schema.", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
    demo: Annotated[bool, typer.Option("--demo", help="Seed demo users and clients and print them.")] = False,
) -> None:
    """Start the API; with nothing configured, on the embedded chain and SQLite under the data directory."""
    import uvicorn

    from api.context import provision_in_child
    from api.http.app import create_app

    settings = settings_of(data_dir, chain_url, demo=demo)
    if demo:  # the administrators' part, in a child process: this one holds department keys only
        provision_in_child(settings)
    ctx = build_context(settings)  # held until the process exits
    ledger, credit = ctx.require_ledger(), ctx.require_credit()
    base = f"http://{host}:{port}"
    writable(ledger.conn, "it serves this data directory already (at {url}); give this one another --data-dir")
    if ledger.conn.backend is not None:  # the CLI beside this server names it to commands that must write
        ledger.conn.backend.announce(base)
    d = ledger.deployment
    typer.echo(f"ZeroErrand Ledger on {base} — chain {d.chain_id}, store {ctx.engine.url.render_as_string()}")
    for name, address in d.addresses.items():
        typer.echo(f"  {name:<20} {address}")
    if demo:
        from api.demo import demo_attestations, describe, seed, seed_credit
        from credit.codes_qr import CODE_DEPARTMENT, enterprise_code

        with transaction(ctx.sessions) as session:
            creds = seed(session, ctx.pii)
            creds.standings = seed_credit(credit, session, creds.usccs)  # the banner's classes and lists
        key = credit.keys[CODE_DEPARTMENT]
        creds.codes = [enterprise_code(ledger, key, ctx.settings.public_url, u) for u in creds.usccs]
        creds.attestations = demo_attestations(ctx, creds.people[0])
        typer.echo(describe(creds, base))
    sys.stdout.flush()
    stop = threading.Event()
    if settings.anchor_in_process:
        from zero_errand.webhooks import Deliverer

        anchorer = ctx.require_certificates().anchorer(settings.anchor_batch_size, settings.anchor_max_wait)
        anchorer.lease_ttl = settings.anchor_lease_ttl
        threading.Thread(target=anchorer.run_forever, args=(stop,), name="anchor", daemon=True).start()
        _start_audit_anchoring(ctx, stop)
        deliverer = Deliverer(ctx.sessions, allow_loopback=settings.mode != "production")  # loopback: development
        threading.Thread(target=deliverer.run_forever, args=(stop,), name="webhooks", daemon=True).start()
        threading.Thread(target=credit.run_forever, args=(stop,), name="credit", daemon=True).start()
    if ctx.certificates is not None:  # bulk issuance jobs (zero_errand.bulk): any replica may run their chunks
        jobs = ctx.certificates.job_worker(lease_seconds=settings.job_lease_seconds)
        threading.Thread(target=jobs.run_forever, args=(stop,), name="bulk-jobs", daemon=True).start()
    app = create_app(ctx)
    # Startup leaves ~10^6 long-lived objects (contract ABIs, the EVM, SQLAlchemy metadata); moving them out of
    # the collector's reach keeps full collections from pausing requests for tens of milliseconds.
    gc.collect()
    gc.freeze()
    try:
        # proxy_headers=False: the client address comes from the peer, or from X-Forwarded-For only through
        # ZEL_TRUSTED_PROXIES (api.http.deps); uvicorn's own rewriting would believe any loopback peer.
        uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False, access_log=False)
    finally:
        stop.set()


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[Role, typer.Option(help="citizen, inspector, official or admin.")],
    display_name: Annotated[str, typer.Option("--display-name")] = "",
    department: Annotated[str | None, typer.Option(help="Department id for inspectors and officials.")] = None,
    id_number: Annotated[str | None, typer.Option("--id-number", help="Citizens: ID number.")] = None,
    name: Annotated[str | None, typer.Option(help="Citizens: name.")] = None,
    phone: Annotated[str | None, typer.Option(help="Citizens: phone.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Add a user; prints a generated password for the development identity provider."""
    store = open_store(data_dir)
    with transaction(store.sessions) as session:
        user, password = add_user(
            session,
            store.pii,
            cli_actor(),
            username=username,
            role=role,
            display_name=display_name,
            department=department,
            id_number=id_number,
            name=name,
            phone=phone,
        )
    typer.echo(f"added {user.username} ({user.role}); password {password}")


@users_app.command("list")
def users_list(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """List users."""
    with open_store(data_dir).sessions() as session:
        rows = [
            {"username": u.username, "role": u.role, "department": u.department, "disabled": u.disabled}
            for u in session.scalars(select(User).order_by(User.username))
        ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for r in rows:
        typer.echo(
            f"{r['username']:<20} {r['role']:<10} {r['department'] or '-':<14} "
            f"{'disabled' if r['disabled'] else 'active'}"
        )


@users_app.command("disable")
def users_disable(username: str, data_dir: DataDir = None) -> None:
    """Disable a user (their tokens stop working at the next request)."""
    with transaction(open_store(data_dir).sessions) as session:
        set_user_disabled(session, cli_actor(), username)
    typer.echo(f"disabled {username}")


@clients_app.command("add")
def clients_add(
    uscc: Annotated[str, typer.Option(help="The enterprise's USCC.")],
    name: Annotated[str, typer.Option(help="A label for the client.")] = "api",
    enterprise_name: Annotated[str | None, typer.Option("--enterprise-name", help="Register the enterprise.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Register an enterprise API client; prints its id and secret once."""
    with transaction(open_store(data_dir).sessions) as session:
        client, secret = add_client(session, cli_actor(), uscc=uscc, name=name, enterprise_name=enterprise_name)
    typer.echo(f"client_id {client.client_id}\nclient_secret {secret}")


@clients_app.command("list")
def clients_list(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """List API clients."""
    with open_store(data_dir).sessions() as session:
        rows = [
            {"client_id": c.client_id, "uscc": c.uscc, "name": c.name, "disabled": c.disabled}
            for c in session.scalars(select(ApiClient).order_by(ApiClient.client_id))
        ]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for r in rows:
        typer.echo(f"{r['client_id']:<22} {r['uscc']} {r['name']:<12} {'disabled' if r['disabled'] else 'active'}")


@clients_app.command("disable")
def clients_disable(client_id: str, data_dir: DataDir = None) -> None:
    """Disable an API client."""
    with transaction(open_store(data_dir).sessions) as session:
        set_client_disabled(session, cli_actor(), client_id)
    typer.echo(f"disabled {client_id}")


def audit_anchorer_of(ctx: AppContext) -> AuditAnchorer | None:
    """The audit log's head anchorer with the data office's key, or None (and a warning) when this data directory
    has no such key yet (provisioned by an older zel: `zel issuer provision` adds it)."""
    from ledger.audit_anchor import AuditAnchorer
    from zero_errand.departments import AUDIT_DEPARTMENT

    key = ctx.require_certificates().keys.get(AUDIT_DEPARTMENT)
    if key is None:
        typer.echo(
            f"warning: no {AUDIT_DEPARTMENT} key: the audit log's head is not anchored on chain (run `zel "
            "issuer provision` to admit the data office and register its key)",
            err=True,
        )
        return None
    return AuditAnchorer(ctx.sessions, ctx.require_ledger(), key, interval=ctx.settings.anchor_max_wait)


def _start_audit_anchoring(ctx: AppContext, stop: threading.Event) -> None:
    from ledger import audit_anchor

    anchorer = audit_anchorer_of(ctx)
    if anchorer is not None:
        threading.Thread(
            target=audit_anchor.run_forever, args=(anchorer, stop), name="audit-anchor", daemon=True
        ).start()


@audit_app.command("verify")
def audit_verify(
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
    as_json: JsonOut = False,
    store_only: Annotated[
        bool,
        typer.Option(
            "--store-only",
            help="Check only the hash chain in the store, not the heads anchored on chain (which catch "
            "a rewrite of the whole log).",
        ),
    ] = False,
) -> None:
    """Recompute the audit log's hash chain and check it against the heads anchored on chain; exit 1 if an entry
    was edited, deleted or inserted (naming the first entry, or the span of entries, that differs)."""
    store = open_store(data_dir, chain_url=chain_url)
    with store.sessions() as session:
        if store_only:
            report = audit.verify(session)
        else:
            from dataclasses import replace

            from ledger.audit_anchor import verify_against_chain
            from ledger.client import Ledger

            try:
                with Ledger.open(replace(store.settings.chain(), read_only=True)) as ledger:
                    report = verify_against_chain(session, ledger)
            except ZelError as exc:
                raise fail(
                    f"cannot read the anchored heads: {exc.message} (--store-only checks the store alone)", 2
                ) from exc
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "ok": report.ok,
                    "entries": report.entries,
                    "problem": report.problem,
                    "seq": report.seq,
                    "anchored_heads": report.anchored,
                    "anchored_through": report.anchored_through,
                }
            )
        )
    elif report.ok:
        typer.echo(
            f"audit log intact: {report.entries} entries"
            + (
                f"; {report.anchored} heads on chain, the newest at entry {report.anchored_through}"
                if report.anchored is not None
                else " (store only: the chain was not checked)"
            )
        )
    else:
        typer.echo(f"audit log BROKEN at entry {report.seq}: {report.problem}", err=True)
    if not report.ok:
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Apply the store's migrations."""
    typer.echo(f"store at head: {open_store(data_dir).engine.url.render_as_string()}")


pii_app = typer.Typer(help="Personal-data encryption keys.", no_args_is_help=True)


@pii_app.command("rotate")
def pii_rotate(
    batch: Annotated[int, typer.Option(help="Rows per transaction.")] = 200,
    data_dir: DataDir = None,
) -> None:
    """Re-encrypt personal data under the current (first) key of the ring, in small online batches.

    Put the new key first in ZEL_PII_KEYS (or the key file's `keys=` line), keeping the old ones after it;
    run this; then drop the old keys.
    """
    from store.pii import rotate_people

    store = open_store(data_dir)
    pii = store.pii
    done = rotate_people(store.sessions, pii, batch)
    with transaction(store.sessions) as session:
        audit.append(
            session,
            actor=cli_actor().subject,
            role="admin",
            action="pii.rotate",
            target=pii.keys.current,
            detail={"rows": done},
        )
    typer.echo(f"re-encrypted {done} people under key {pii.keys.current}")


anchor_app = typer.Typer(help="The anchoring worker.", no_args_is_help=True)


@anchor_app.command("run")
def anchor_run(
    once: Annotated[bool, typer.Option("--once", help="Anchor everything pending now, then exit.")] = False,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Digests per batch (default 4096).")] = None,
    max_wait: Annotated[
        float | None, typer.Option("--max-wait", help="Seconds a digest may wait (default 10).")
    ] = None,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Anchor issued certificates in Merkle batches, deliver webhooks and write credit records, grades, lists and
    inspection batches to the chain (where `zel serve` does not)."""
    settings = settings_of(data_dir, chain_url)
    ctx = build_context(settings)  # held until the process exits
    writable(
        ctx.require_ledger().conn,
        "it anchors issued certificates itself, every few seconds (`zel cert list --state ISSUED` shows what waits)",
    )
    anchorer = ctx.require_certificates().anchorer(
        batch_size or settings.anchor_batch_size, max_wait if max_wait is not None else settings.anchor_max_wait
    )
    anchorer.lease_ttl = settings.anchor_lease_ttl
    if once:
        done = anchorer.run_once(force=True)
        audit_anchorer = audit_anchorer_of(ctx)
        head = audit_anchorer.run_once(force=True) if audit_anchorer else None
        typer.echo(
            f"anchored {done} certificates; {anchorer.pending()} pending"
            + (f"; audit log head anchored at entry {head}" if head else "")
        )
        if (holder := anchorer.lease.current_holder()) is not None:  # another worker anchors them
            typer.echo(f"another anchor worker holds the lease ({holder}); it anchors what is pending")
        return
    stop = threading.Event()
    import signal

    from zero_errand.webhooks import Deliverer

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    deliverer = Deliverer(ctx.sessions, allow_loopback=settings.mode != "production")  # loopback: development
    threading.Thread(target=deliverer.run_forever, args=(stop,), name="webhooks", daemon=True).start()
    threading.Thread(target=ctx.require_credit().run_forever, args=(stop,), name="credit", daemon=True).start()
    _start_audit_anchoring(ctx, stop)
    typer.echo(f"anchoring every {anchorer.max_wait:g} s or {anchorer.batch_size} certificates; Ctrl-C stops")
    try:
        anchorer.run_forever(stop, poll=min(1.0, max(anchorer.max_wait / 4, 0.05)))
    except KeyboardInterrupt:
        pass


@anchor_app.command("reanchor")
def anchor_reanchor(data_dir: DataDir = None, chain_url: ChainUrl = None) -> None:
    """After a chain reset: anchor again every batch the chain no longer knows (same roots, same proofs) and
    re-apply its revocations and suspensions. Deploy the contracts on the new chain first."""
    with build_context(settings_of(data_dir, chain_url)) as ctx:
        writable(ctx.require_ledger().conn)
        batches, changes = ctx.require_certificates().anchorer().reanchor()
    typer.echo(f"re-anchored {batches} batches; re-applied {changes} revocations and suspensions")


def issuer_provision(
    demo: Annotated[bool, typer.Option("--demo", help="Development: create missing key passwords as files.")] = False,
    migrate: Annotated[
        bool,
        typer.Option(
            "--migrate",
            help="After a chain reset: register keys valid from their oldest stored certificate, "
            "through the migration path the registry records (flagged on every verification).",
        ),
    ] = False,
    administrator: Annotated[str, typer.Option("--as", help="The administrator keystore that proposes.")] = "admin",
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Deploy if needed, admit the departments (with their credit scopes) and register each one's signing key
    (its own keystore and password). An administrator's act; with k > 1 it proposes, and others approve. With
    --demo it also registers the demo's kinds from `kinds/files/` (the residence proof, the school-enrolment
    material receipt), as `zel kinds register` would."""
    from api.provisioning import provision_deployment, register_demo_kinds

    settings = settings_of(data_dir, chain_url, demo=demo, service=False)
    keys = provision_deployment(settings, development=demo, migrate=migrate, administrator=administrator)
    for dept, address in keys.items():
        typer.echo(f"{dept:<12} {address}")
    if demo:
        for kind in register_demo_kinds(settings, administrator):
            typer.echo(f"kind {kind}")


def seed(
    people: Annotated[int, typer.Option("--people", help="How many people.")] = 20,
    enterprises: Annotated[int, typer.Option("--enterprises", help="How many enterprises.")] = 5,
    seed_value: Annotated[int, typer.Option("--seed", help="Random seed: the same seed, the same data.")] = 1,
    as_json: JsonOut = False,
    data_dir: DataDir = None,
) -> None:
    """Fill the built-in department adapters with realistic data (names, ID numbers, USCCs, records)."""
    from zero_errand.seed import seed_data

    store = open_store(data_dir, development=True)
    with transaction(store.sessions) as session:
        result = seed_data(session, store.pii, people, enterprises, seed_value)
    if as_json:
        typer.echo(json.dumps({"people": result.people, "enterprises": result.enterprises}))
    else:
        typer.echo(
            f"{len(result.people)} people and {len(result.enterprises)} enterprises with 24 months of "
            "tax and social-insurance records"
        )
