"""`zel cert`: issue, show, list and change certificates from the command line (audited as the CLI user)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select

from api.cli.options import ChainUrl, DataDir, JsonOut, cli_actor, cli_context, fail, open_store, quiet_settings
from identifiers import is_valid_uscc
from ledger.keys import Sm2Account
from ledger.proofs import proof_of
from store.db import transaction
from store.models import AnchorBatch, Certificate
from zero_errand.certificates import CertKind
from zero_errand.issuance import IssuanceError, Subject
from zero_errand.people import find_person

cert_app = typer.Typer(help="Certificates: issue, show, list, revoke, suspend, reinstate.", no_args_is_help=True)


def describe(session: Any, cert: Certificate) -> dict[str, Any]:
    batch = session.get(AnchorBatch, cert.batch_id) if cert.batch_id else None
    anchored = batch if batch is not None and batch.state == "ANCHORED" else None
    return {
        "id": cert.number,
        "number": cert.number,
        "kind": cert.kind,
        "state": cert.state,
        "department": cert.department,
        "digest": cert.digest,
        "signer": cert.signer,
        "signature": cert.signature,
        "content": cert.content,
        "issued_at": cert.issued_at.isoformat(),
        "expires_at": cert.expires_at.isoformat(),
        "batch_root": anchored.root if anchored else None,
        "proof": proof_of(session, Certificate, cert, anchored.root) if anchored else None,
        "tx_hash": anchored.tx_hash if anchored else None,
        "block_number": anchored.block_number if anchored else None,
        "status_reason": cert.status_reason,
    }


def show(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(info, ensure_ascii=False))
    else:
        typer.echo(
            f"{info['number']}  {info['kind']}  {info['state']}  digest {info['digest']}"
            + (f"  root {info['batch_root']}  tx {info['tx_hash']}" if info["batch_root"] else "")
        )


@cert_app.command("issue")
def cert_issue(
    kind: Annotated[str, typer.Option("--kind", help="tax-individual, tax-enterprise, si-individual, si-enterprise")],
    subject: Annotated[str, typer.Option("--subject", help="Citizen ID number or USCC.")],
    period_from: Annotated[str, typer.Option("--from", help="First month, YYYY-MM.")],
    period_to: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM.")],
    idempotency_key: Annotated[str | None, typer.Option("--idempotency-key")] = None,
    as_json: JsonOut = False,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Issue a certificate for a subject (as the department would for a counter request)."""
    try:
        cert_kind = CertKind.parse(kind)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    value = subject.strip().upper()
    with cli_context(data_dir, chain_url) as ctx:
        with transaction(ctx.sessions) as session:
            if is_valid_uscc(value):
                subj = Subject(uscc=value)
            else:
                person = find_person(session, ctx.pii, value)
                if person is None:
                    raise IssuanceError("not-found", "no person or enterprise with this ID number or USCC")
                subj = Subject(person_id=person.id)
            actor = cli_actor()
            cert, _ = ctx.require_certificates().request(
                session,
                kind=cert_kind,
                subject=subj,
                period_from=period_from,
                period_to=period_to,
                actor=actor.subject,
                actor_role="admin",
                idempotency_key=idempotency_key,
            )
            info = describe(session, cert)
        holder = ctx.require_ledger().conn.holder
    show(info, as_json)
    if holder is not None and info["state"] == "ISSUED":  # issuing needs no chain write; anchoring does
        typer.echo(f"{holder.describe()} holds the chain and anchors the certificate within seconds", err=True)


@cert_app.command("show")
def cert_show(number: str, as_json: JsonOut = False, data_dir: DataDir = None) -> None:
    """Show one certificate with its anchoring (batch root, proof, transaction)."""
    with open_store(data_dir).sessions() as session:
        cert = session.scalars(select(Certificate).where(Certificate.number == number)).first()
        if cert is None:
            raise fail(f"no certificate {number}", 1)
        info = describe(session, cert)
    show(info, as_json)


@cert_app.command("qr")
def cert_qr(
    number: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="A .png or .svg file to write.")],
    ecc: Annotated[str, typer.Option("--ecc", help="Error correction: L, M, Q (default) or H.")] = "Q",
    data_dir: DataDir = None,
) -> None:
    """Write a certificate's QR code (the verify URL with its signed payload) as PNG or SVG."""
    from zero_errand.verification import url_of

    store = open_store(data_dir)
    with store.sessions() as session:
        cert = session.scalars(select(Certificate).where(Certificate.number == number)).first()
        if cert is None:
            raise fail(f"no certificate {number}", 1)
        url = url_of(cert, store.settings.public_url)
    write_qr(url, output, ecc)


def write_qr(url: str, output: Path, ecc: str) -> None:
    """Write `url` as a QR code, SVG or PNG by the file's suffix."""
    from qr.render import png, svg, version_of

    if ecc.upper() not in ("L", "M", "Q", "H"):
        raise fail("--ecc must be L, M, Q or H")
    output.write_bytes(svg(url, ecc.upper()) if output.suffix.lower() == ".svg" else png(url, ecc.upper()))
    typer.echo(f"wrote {output} (QR version {version_of(url, ecc.upper())}, level {ecc.upper()})")


@cert_app.command("pdf")
def cert_pdf(
    number: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="The PDF file to write.")],
    data_dir: DataDir = None,
) -> None:
    """Print a certificate as an A4 PDF with its verification QR code (the same PDF the API serves)."""
    from zero_errand.pdf import render

    store = open_store(data_dir)
    with store.sessions() as session:
        cert = session.scalars(select(Certificate).where(Certificate.number == number)).first()
        if cert is None:
            raise fail(f"no certificate {number}", 1)
        pdf = render(cert, verify_base=store.settings.public_url, pii=store.pii)
    output.write_bytes(pdf)
    typer.echo(f"wrote {output} ({len(pdf)} bytes, certificate {number})")


@cert_app.command("list")
def cert_list(
    state: Annotated[str | None, typer.Option(help="ISSUED, ANCHORED, REVOKED or SUSPENDED.")] = None,
    as_json: JsonOut = False,
    data_dir: DataDir = None,
) -> None:
    """List certificates, newest first."""
    with open_store(data_dir).sessions() as session:
        query = select(Certificate).order_by(Certificate.id.desc()).limit(500)
        if state:
            query = query.where(Certificate.state == state.upper())
        rows = [describe(session, c) for c in session.scalars(query)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
    else:
        for r in rows:
            show(r, False)


REASON_WORDS = {"error": 1, "corrected": 2, "fraud": 3, "investigation": 4, "request": 5, "other": 9}


def parse_reason(reason: str, note: str) -> tuple[int, str]:
    """(code, note) of `--reason`: a code (1, 2, 3, 4, 5, 9), its word (`fraud`), or any other words, which are kept
    as the note under code 9 (other) when no --note is given."""
    text = reason.strip()
    if text.isdigit():
        return int(text), note
    if text.lower() in REASON_WORDS:
        return REASON_WORDS[text.lower()], note
    return 9, note or text


def _change(
    action: str, number: str, reason: str, note: str, data_dir: Path | None, chain_url: str | None, as_json: bool
) -> None:
    code, note = parse_reason(reason, note)
    instead = (
        f"{action} through it (POST {{url}}/v1/department/certificates/{number}/{action}, signed in as an "
        "official of the issuing department)"
    )
    with cli_context(data_dir, chain_url, writes=instead) as ctx, transaction(ctx.sessions) as session:
        department = session.scalars(select(Certificate.department).where(Certificate.number == number)).first()
        cert = ctx.require_certificates().change_status(
            session, number, action, department=department or "", reason=code, note=note, actor=cli_actor().subject
        )
        info = describe(session, cert)
    show(info, as_json)


Reason = Annotated[
    str,
    typer.Option(
        "--reason",
        help="1 error, 2 corrected, 3 fraud, 4 investigation, 5 request, 9 other (the code or its word); other "
        "words are kept as the note, under 9",
    ),
]
Note = Annotated[str, typer.Option("--note")]


@cert_app.command("revoke")
def cert_revoke(
    number: str,
    reason: Reason = "1",
    note: Note = "",
    as_json: JsonOut = False,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Revoke a certificate for good, with the issuing department's key."""
    _change("revoke", number, reason, note, data_dir, chain_url, as_json)


@cert_app.command("suspend")
def cert_suspend(
    number: str,
    reason: Reason = "4",
    note: Note = "",
    as_json: JsonOut = False,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Suspend a certificate."""
    _change("suspend", number, reason, note, data_dir, chain_url, as_json)


@cert_app.command("reinstate")
def cert_reinstate(
    number: str, note: Note = "", as_json: JsonOut = False, data_dir: DataDir = None, chain_url: ChainUrl = None
) -> None:
    """Lift a suspension."""
    _change("reinstate", number, "0", note, data_dir, chain_url, as_json)


def verify(
    source: Annotated[str | None, typer.Argument(help="An image file, a verify URL, or payload digits.")] = None,
    batch: Annotated[Path | None, typer.Option("--batch", help="A file with one input per line.")] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Verify with a trust list only.")] = False,
    trustlist: Annotated[Path | None, typer.Option("--trustlist", help="Trust list file for --offline.")] = None,
    trust_anchor: Annotated[str | None, typer.Option("--trust-anchor", help="District admin address to pin.")] = None,
    trust_fingerprint: Annotated[
        str | None,
        typer.Option(
            "--trust-fingerprint", help="The list's published fingerprint (`zel trustlist export` prints it)."
        ),
    ] = None,
    as_json: JsonOut = False,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Verify certificates (signature, issuer authority, anchor, revocation, expiry); online by default.

    Offline, the trust list must be pinned: by --trust-anchor, --trust-fingerprint, or else the admin in the data
    directory's deployment record for the list's chain; an unpinned list is never VALID. Exit code 0 only when
    every input is VALID.
    """
    from qr.batch import verify_many
    from qr.decode import NoQrCode, read_image
    from qr.trustlist import TrustList, anchor_from
    from qr.verify import Check, Verdict, verify_text

    inputs = (
        [line.strip() for line in batch.read_text().splitlines() if line.strip()]
        if batch
        else ([source] if source else [])
    )
    if not inputs:
        raise fail("give an INPUT or --batch FILE")
    if offline:
        if trustlist is None:
            raise fail("--offline needs --trustlist FILE (made with `zel trustlist export`)")
        root = quiet_settings(data_dir).root
        try:
            trust = TrustList.load(trustlist.read_text())
            anchor = anchor_from(trust_anchor, trust_fingerprint, root, trust.body.get("chain_id"))
        except OSError as exc:
            raise fail(str(exc)) from exc

    else:
        # A verifier reads: the store and the chain (read-only, beside `zel serve` or not), no department key.
        from dataclasses import replace

        from ledger.client import Ledger
        from zero_errand.verification import LedgerResolver

        store = open_store(data_dir, chain_url=chain_url)
        ledger = Ledger.open(replace(store.settings.chain(), read_only=True))
        resolver = LedgerResolver(store.sessions, ledger)

        def check(text: str) -> Verdict:
            return verify_text(text, resolver)

    all_valid = True
    try:
        # Images are read first. Offline, the payloads are verified together on every core (`qr.batch`); online, one
        # by one as each verdict is printed.
        texts: list[str | None] = []
        unreadable: dict[int, Verdict] = {}
        for n, item in enumerate(inputs):
            path = Path(item)
            if len(item) < 300 and path.is_file():
                try:
                    texts.append(read_image(path.read_bytes()))
                except NoQrCode as exc:
                    texts.append(None)
                    unreadable[n] = Verdict("INVALID", [Check("format", False, f"图片中未找到二维码：{exc}", str(exc))])
            else:
                texts.append(item)
        readable = [t for t in texts if t is not None]
        checked = iter(verify_many(readable, trust, anchor)) if offline else map(check, readable)
        for n, text in enumerate(texts):
            verdict = unreadable[n] if text is None else next(checked)
            all_valid &= verdict.status == "VALID"
            if as_json:
                shown = verdict.as_dict()
                if text and text.startswith(("http://", "https://")):
                    shown["url"] = text  # what the QR code opens: the verify page with the payload after '#'
                typer.echo(json.dumps(shown, ensure_ascii=False))
            else:
                cert = verdict.certificate or {}
                typer.echo(
                    f"{verdict.status}  {cert.get('number', '-')}  {cert.get('kind_en', '')}  "
                    + "; ".join(c.en for c in verdict.checks if c.ok is not True)
                )
    finally:
        if not offline:
            ledger.close()
    if not all_valid:
        raise typer.Exit(1)


trustlist_app = typer.Typer(help="Signed trust lists for offline verification.", no_args_is_help=True)


@trustlist_app.command("export")
def trustlist_export(
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="Keystore that signs the list: the district admin's (default), or an SM2 keystore of the district "
            "(`zel keys new NAME --suite sm2`); verifiers pin its address or the list's fingerprint.",
        ),
    ] = None,
    data_dir: DataDir = None,
    chain_url: ChainUrl = None,
) -> None:
    """Write the department keys, kinds, validity windows and revoked certificates, signed by the admin key."""
    from ledger.client import ADMIN_KEY
    from qr.trustlist import FORMAT, fingerprint, sign_list
    from zero_errand.verification import key_list, store_bodies

    with cli_context(data_dir, chain_url) as ctx:
        admin = ctx.settings.keystore().signer(key or ADMIN_KEY)
        if key and ctx.require_ledger().key_info(admin.address).department.strip(b"\0"):
            raise fail(f"{key} is a department's signing key on chain: sign the list with a key of the district's")
        with ctx.sessions() as session:
            revoked = sorted(session.scalars(select(Certificate.digest).where(Certificate.state == "REVOKED")))
            suspended = sorted(session.scalars(select(Certificate.digest).where(Certificate.state == "SUSPENDED")))
        body = {
            "format": FORMAT,
            **key_list(ctx.require_ledger(), store_bodies(ctx.sessions)),
            "revoked": revoked,
            "suspended": suspended,
        }
    output.write_text(json.dumps(sign_list(body, admin), ensure_ascii=False, indent=1) + "\n")
    suite = "SM2" if isinstance(admin, Sm2Account) else "secp256k1"
    typer.echo(f"wrote {output}: {len(body['keys'])} keys, {len(revoked)} revoked, signed by {admin.address} ({suite})")
    typer.echo(f"fingerprint {fingerprint(body)}")
    typer.echo(
        "publish the fingerprint (or the signer's address) where verifiers can check it apart from the file: "
        "`zel verify --offline` trusts the list with --trust-fingerprint FINGERPRINT or --trust-anchor ADDRESS"
    )
