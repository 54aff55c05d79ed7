"""Certificates: citizens and enterprises request and fetch theirs; departments revoke, suspend, reinstate."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Header, Path, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.context import AppContext
from api.http.deps import (
    Context,
    CurrentCitizen,
    CurrentEnterprise,
    CurrentOfficial,
    Expensive,
    SessionDep,
    signed_in_router,
)
from api.http.problems import ProblemError, problem_responses
from api.security import Principal
from ledger.errors import LedgerError, NodeUnavailable
from ledger.proofs import proof_of
from store.models import AnchorBatch, Certificate
from zero_errand.certificates import CertKind
from zero_errand.issuance import Request, Subject
from zero_errand.verification import HOLDER_GUESSES, holder_check_state, url_of

PROTECTED = (401, 403, 404, 409, 413, 422, 429)  # the problem statuses their routes may answer
BULK_PREFIX = "bulk:"
Number = Annotated[
    str,
    Path(min_length=17, max_length=17, pattern=r"^[1-59]\d{16}$", description="Certificate number (9: an attestation)"),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=128,
        description="Repeat a request safely: the same key with the same body "
        "returns the same certificate; the key with another body is "
        "refused (422). Keys are per requester",
    ),
]

citizen = signed_in_router("/v1/citizen/certificates", "citizen", PROTECTED)
enterprise = signed_in_router("/v1/enterprise/certificates", "enterprise", PROTECTED)
department = signed_in_router("/v1/department/certificates", "department", PROTECTED)

PERIOD = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="Month, YYYY-MM")


class CertificateRequest(BaseModel):
    kind: Literal["tax-individual", "si-individual"]
    period_from: str = PERIOD
    period_to: str = PERIOD


class EnterpriseCertificateRequest(BaseModel):
    kind: Literal["tax-enterprise", "si-enterprise"]
    period_from: str = PERIOD
    period_to: str = PERIOD


class Anchor(BaseModel):
    root: str
    proof: list[str]
    tx_hash: str | None
    block_number: int | None


class HolderCheckOut(BaseModel):
    wrong_guesses: int = Field(description="Wrong ID numbers or USCCs strangers tried on the public holder check")
    locked: bool = Field(
        description=f"After {HOLDER_GUESSES} wrong guesses the check answers nobody any more: "
        "verifiers must see the holder's own ID (a new certificate has its own check)"
    )


class CertificateOut(BaseModel):
    number: str
    kind: str
    state: Literal["ISSUED", "ANCHORED", "REVOKED", "SUSPENDED"]
    department: str
    issued_at: datetime
    expires_at: datetime
    content: dict[str, Any]
    detail: dict[str, Any]
    digest: str
    signer: str
    signature: str
    anchor: Anchor | None
    status_reason: int | None
    verify_url: str
    holder_check: HolderCheckOut
    pushed: bool = Field(
        description="Pushed by its department to every eligible subject (零申请推送, a bulk job): nobody applied"
    )


class StatusChange(BaseModel):
    reason: int = Field(
        ge=1,
        le=9,
        description="1 issued in error, 2 data corrected, 3 fraud, 4 under investigation, 5 subject request, 9 other",
    )
    note: str = Field("", max_length=200)


class Reinstate(BaseModel):
    note: str = Field("", max_length=200)


def _out(ctx: Any, session: Any, cert: Certificate) -> dict[str, Any]:
    anchor = None
    if cert.batch_id is not None and cert.state != "ISSUED":
        batch = session.get(AnchorBatch, cert.batch_id)
        anchor = {
            "root": batch.root,
            "proof": proof_of(session, Certificate, cert, batch.root) or [],
            "tx_hash": batch.tx_hash,
            "block_number": batch.block_number,
        }
    return {
        "number": cert.number,
        "kind": cert.kind,
        "state": cert.state,
        "department": cert.department,
        "issued_at": cert.issued_at,
        "expires_at": cert.expires_at,
        "content": cert.content,
        "detail": cert.detail,
        "digest": cert.digest,
        "signer": cert.signer,
        "signature": cert.signature,
        "anchor": anchor,
        "status_reason": cert.status_reason,
        "verify_url": url_of(cert, ctx.settings.public_url),
        "pushed": (cert.idempotency_key or "").startswith(BULK_PREFIX),
        "holder_check": holder_check_state(cert),
    }


async def _request(
    ctx: AppContext, session: Session, me: Principal, subject: Subject, body: Any, key: str | None, response: Response
) -> dict[str, Any]:
    """Issue on the event loop: the request waits for its group commit (`zero_errand.group`) without a thread of
    the pool; only an anchored certificate (an idempotent replay) reads its proof, in the pool."""
    service = ctx.require_certificates()
    if key is not None and key.startswith(BULK_PREFIX):  # bulk issuance's own keys (zero_errand.bulk)
        raise ProblemError(
            422,
            f"Idempotency-Key may not start with {BULK_PREFIX!r}",
            invalid_params=[{"name": "Idempotency-Key", "reason": "reserved for bulk issuance"}],
        )
    cert, created = await service.submit_async(
        Request(CertKind.parse(body.kind), subject, body.period_from, body.period_to, me.subject, me.role.value, key)
    )
    response.status_code = 201 if created else 200
    if cert.batch_id is None:  # not anchored yet: nothing to read
        return _out(ctx, session, cert)
    return await run_in_threadpool(_out, ctx, session, cert)


def _own(session: Any, owner: str, number: str) -> Certificate:
    cert = session.scalars(select(Certificate).where(Certificate.number == number)).first()
    if cert is None or cert.owner != owner:
        raise ProblemError(404, f"no certificate {number} of yours")  # do not reveal others' numbers
    return cert


def _pdf(ctx: Any, cert: Certificate) -> Response:
    from zero_errand.pdf import render

    pdf = render(cert, verify_base=ctx.settings.public_url, pii=ctx.pii)
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{cert.number}.pdf"'}
    )


PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The certificate as an A4 PDF"}
}


@citizen.post(
    "",
    response_model=CertificateOut,
    status_code=201,
    summary="Request a certificate",
    dependencies=[Expensive],
    responses={200: {"model": CertificateOut, "description": "Returned for a repeated Idempotency-Key"}},
)
async def citizen_request(
    ctx: Context,
    session: SessionDep,
    me: CurrentCitizen,
    body: CertificateRequest,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Issue the signed-in citizen a personal tax-payment or social-insurance contribution certificate for whole
    months that have ended, from the department's records; 201 with the certificate (state ISSUED until its batch is
    anchored, within seconds). With an `Idempotency-Key`, repeating the same request returns the same certificate
    (200); the key with a different kind or period is refused with 422."""
    return await _request(ctx, session, me, Subject(person_id=me.person_id), body, idempotency_key, response)


@citizen.get("", response_model=list[CertificateOut], summary="My certificates")
def citizen_list(ctx: Context, session: SessionDep, me: CurrentCitizen) -> list[dict[str, Any]]:
    """The signed-in citizen's certificates, newest first (at most 200), with their anchoring and verify URLs."""
    certs = session.scalars(
        select(Certificate)
        .where(Certificate.owner == f"person:{me.person_id}")
        .order_by(Certificate.id.desc())
        .limit(200)
    )
    return [_out(ctx, session, c) for c in certs]


@citizen.get("/{number}", response_model=CertificateOut, summary="One of my certificates")
def citizen_get(ctx: Context, session: SessionDep, me: CurrentCitizen, number: Number) -> dict[str, Any]:
    """One of the signed-in citizen's certificates by number, with its Merkle proof once anchored and how many
    wrong guesses the public holder check has answered; 404 for any number that is not theirs."""
    return _out(ctx, session, _own(session, f"person:{me.person_id}", number))


@citizen.get(
    "/{number}/pdf",
    response_class=Response,
    responses=PDF,
    summary="Download one of my certificates",
    dependencies=[Expensive],
)
def citizen_pdf(ctx: Context, session: SessionDep, me: CurrentCitizen, number: Number) -> Response:
    """One of the signed-in citizen's certificates as an A4 PDF with its verification QR code (CJK font embedded);
    404 for any number that is not theirs."""
    return _pdf(ctx, _own(session, f"person:{me.person_id}", number))


@enterprise.post(
    "",
    response_model=CertificateOut,
    status_code=201,
    summary="Request a certificate",
    dependencies=[Expensive],
    responses={200: {"model": CertificateOut, "description": "Returned for a repeated Idempotency-Key"}},
)
async def enterprise_request(
    ctx: Context,
    session: SessionDep,
    me: CurrentEnterprise,
    body: EnterpriseCertificateRequest,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Issue the calling enterprise a tax-payment or social-insurance participation certificate for whole months that
    have ended; 201 with the certificate (ISSUED until anchored). With an `Idempotency-Key`, repeating the same
    request returns the same certificate (200); the key with a different kind or period is refused with 422. Keys
    belong to the enterprise: another enterprise's use of the same key is a request of its own."""
    return await _request(ctx, session, me, Subject(uscc=me.uscc), body, idempotency_key, response)


@enterprise.get("", response_model=list[CertificateOut], summary="Our certificates")
def enterprise_list(ctx: Context, session: SessionDep, me: CurrentEnterprise) -> list[dict[str, Any]]:
    """The calling enterprise's certificates, newest first (at most 200)."""
    certs = session.scalars(
        select(Certificate).where(Certificate.owner == f"uscc:{me.uscc}").order_by(Certificate.id.desc()).limit(200)
    )
    return [_out(ctx, session, c) for c in certs]


@enterprise.get("/{number}", response_model=CertificateOut, summary="One of our certificates (JSON)")
def enterprise_get(ctx: Context, session: SessionDep, me: CurrentEnterprise, number: Number) -> dict[str, Any]:
    """One of the calling enterprise's certificates as JSON: signed content, signature, anchoring (batch root,
    Merkle proof, transaction) and verify URL; 404 for any number that is not its own."""
    return _out(ctx, session, _own(session, f"uscc:{me.uscc}", number))


@enterprise.get(
    "/{number}/pdf",
    response_class=Response,
    responses=PDF,
    summary="One of our certificates (PDF)",
    dependencies=[Expensive],
)
def enterprise_pdf(ctx: Context, session: SessionDep, me: CurrentEnterprise, number: Number) -> Response:
    """One of the calling enterprise's certificates as an A4 PDF with its verification QR code; 404 for any number
    that is not its own."""
    return _pdf(ctx, _own(session, f"uscc:{me.uscc}", number))


def _change(
    ctx: AppContext, session: Session, me: Principal, number: str, action: str, reason: int, note: str
) -> dict[str, Any]:
    service = ctx.require_certificates()
    # The chain answers for the department's key held by this service, not for the caller: whatever the contract
    # said (a NotAuthorized is the service key's, never the official's 403), the change was refused on chain (409);
    # an unreachable node is retried by the caller (503, Retry-After).
    try:
        with session.begin():
            cert = service.change_status(
                session, number, action, department=me.department or "", reason=reason, note=note, actor=me.subject
            )
    except NodeUnavailable as exc:
        raise ProblemError(
            503, f"the chain node is unavailable; retry later ({exc.message})", headers={"Retry-After": "30"}
        ) from exc
    except LedgerError as exc:
        raise ProblemError(409, exc.message, "chain-refused") from exc
    return _out(ctx, session, cert)


CHANGE = problem_responses(503)


@department.post(
    "/{number}/revoke", response_model=CertificateOut, responses=CHANGE, summary="Revoke a certificate (permanent)"
)
def revoke(
    ctx: Context, session: SessionDep, me: CurrentOfficial, number: Number, body: StatusChange
) -> dict[str, Any]:
    """Revoke an anchored certificate for good, on chain with the department's key, then in the store. Only an
    official of the issuing department may; 409 while the certificate waits for anchoring or when the chain
    refuses, 503 when the chain node is unreachable."""
    return _change(ctx, session, me, number, "revoke", body.reason, body.note)


@department.post("/{number}/suspend", response_model=CertificateOut, responses=CHANGE, summary="Suspend a certificate")
def suspend(
    ctx: Context, session: SessionDep, me: CurrentOfficial, number: Number, body: StatusChange
) -> dict[str, Any]:
    """Suspend an anchored certificate (verifiers see SUSPENDED until it is reinstated), on chain and in the store.
    Only an official of the issuing department may; 409 when it is not anchored or the chain refuses."""
    return _change(ctx, session, me, number, "suspend", body.reason, body.note)


@department.post("/{number}/reinstate", response_model=CertificateOut, responses=CHANGE, summary="Lift a suspension")
def reinstate(
    ctx: Context, session: SessionDep, me: CurrentOfficial, number: Number, body: Reinstate
) -> dict[str, Any]:
    """Lift a suspension, on chain and in the store; a revoked certificate stays revoked. Only an official of the
    issuing department may; 409 when the certificate is not suspended or the chain refuses."""
    return _change(ctx, session, me, number, "reinstate", 0, body.note)
