"""Credit: departments record and list, enterprises see their standing and apply for repair, inspectors scan the
one code and record inspections, anyone reads the public profile."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.context import AppContext
from api.http.deps import (
    Context,
    CurrentEnterprise,
    CurrentInspector,
    CurrentOfficial,
    Expensive,
    SessionDep,
    SessionRoute,
    signed_in_router,
)
from api.http.params import Uscc
from api.http.problems import ProblemError, problem_responses
from credit import draws, inspections, workflows
from credit.codes_qr import CODE_DEPARTMENT, CodeError, ScannedCode, enterprise_code, read_code
from credit.grading import RECORD_TYPES
from credit.ledger import CreditLedger
from credit.report import make_report, summary
from ledger.errors import LedgerError
from ledger.kinds import Kind
from qr.render import version_of
from store.models import Certificate, RandomDraw
from zero_errand.verification import url_of

log = logging.getLogger(__name__)
PROTECTED = (401, 403, 404, 409, 413, 422, 429)  # the problem statuses their routes may answer
Digest = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
department = signed_in_router("/v1/department/credit", "department", PROTECTED)
enterprise = signed_in_router("/v1/enterprise/credit", "enterprise", PROTECTED)
inspector = signed_in_router("/v1/inspector", "inspector", PROTECTED)
public = APIRouter(
    route_class=SessionRoute, prefix="/v1/public", tags=["public"], responses=problem_responses(404, 422, 429)
)


class RecordIn(BaseModel):
    uscc: Uscc
    type: Literal[RECORD_TYPES]  # type: ignore[valid-type]
    decided_on: date
    summary: str = Field(min_length=1, max_length=500)
    reference: str = Field(default="", max_length=64, description="The decision's document number")
    amount_fen: int | None = Field(default=None, ge=0)
    evidence: list[Digest] = Field(default_factory=list, max_length=20)


class ListIn(BaseModel):
    uscc: Uscc
    list: Literal["red", "black"]
    start_on: date
    end_on: date | None = None
    reason: str = Field(min_length=1, max_length=500)
    reference: str = Field(default="", max_length=64)


class ListEndIn(BaseModel):
    end_on: date | None = Field(default=None, description="The first day off the list (default today)")
    reason: str = Field(min_length=1, max_length=500)
    reference: str = Field(default="", max_length=64, description="The decision's document number")


class RepairIn(BaseModel):
    record: str = Field(min_length=36, max_length=36, description="The record's uid")
    statement: str = Field(min_length=1, max_length=2000, description="What was put right")


class DecisionIn(BaseModel):
    approve: bool
    note: str = Field(default="", max_length=500)


class Item(BaseModel):
    item: str = Field(min_length=1, max_length=200)
    ok: bool
    note: str = Field(default="", max_length=500)


class InspectionIn(BaseModel):
    uscc: Uscc
    departments: list[Literal[inspections.DEPARTMENTS]] = Field(  # type: ignore[valid-type]
        min_length=1, description="Every department in the visit: a joint inspection is one record"
    )
    inspectors: list[str] = Field(default_factory=list, max_length=10, description="Other inspectors present")
    items: list[Item] = Field(min_length=1, max_length=100)
    findings: str = Field(default="", max_length=4000)
    result: Literal["pass", "issues", "fail"]
    evidence: list[Digest] = Field(default_factory=list, max_length=50, description="Digests of evidence files")
    visited_on: date | None = None
    draw_id: int | None = None


class ScanIn(BaseModel):
    text: str = Field(min_length=1, max_length=600, description="The scanned one-code URL")


def _do(
    ctx: AppContext, session: Session, action: Callable[[CreditLedger], Any], shape: Callable[[Any], dict[str, Any]]
) -> Any:
    """Run a credit action in a transaction and shape its result, then push it to the chain (later, if the node
    is down: the row stays PENDING and the service's sync thread retries)."""
    credit = ctx.require_credit()
    with session.begin():
        out = shape(action(credit))
    try:
        credit.sync()
    except LedgerError as exc:  # stored and PENDING: the service's sync thread retries
        log.warning("credit write deferred: %s", exc)
    return out


@department.post("/records", status_code=201, summary="Add a credit record")
def add_record(ctx: Context, session: SessionDep, me: CurrentOfficial, body: RecordIn) -> dict[str, Any]:
    """Record a credit fact about an enterprise (arrears, a penalty, a court dishonest-debtor entry, an inspection
    result, a commendation) for the official's department: its digest is appended to the enterprise's hash chain on
    CreditRegistry and the grade is recomputed. 403 for a record type the department does not own. Written to the
    chain at once, or by the sync worker if the node is down."""
    return _do(
        ctx,
        session,
        lambda credit: workflows.record(
            credit,
            session,
            uscc=body.uscc,
            type=body.type,
            department=me.department or "",
            decided_on=body.decided_on,
            summary=body.summary,
            reference=body.reference,
            amount_fen=body.amount_fen,
            evidence=[e.lower() for e in body.evidence],
            actor=me.subject,
        ),
        lambda r: {"uid": r.uid, "seq": r.seq, "digest": r.digest},
    )


@department.post("/lists", status_code=201, summary="Put an enterprise on the red or black list")
def add_list(ctx: Context, session: SessionDep, me: CurrentOfficial, body: ListIn) -> dict[str, Any]:
    """Put an enterprise on the red list (at least class B) or the black list (class D; joint punishment is flagged
    to every department) from `start_on`, until `end_on` if given. Written on chain."""
    return _do(
        ctx,
        session,
        lambda credit: workflows.list_entry(
            credit,
            session,
            uscc=body.uscc,
            list_name=body.list,
            department=me.department or "",
            start_on=body.start_on,
            end_on=body.end_on,
            reason=body.reason,
            reference=body.reference,
            actor=me.subject,
        ),
        lambda e: {"id": e.id, "list": e.list, "joint_punishment": e.joint_punishment},
    )


@department.post("/lists/{entry_id}/end", summary="End a red or black list entry (only the department that made it)")
def end_list(
    ctx: Context,
    session: SessionDep,
    me: CurrentOfficial,
    entry_id: Annotated[int, Path(ge=1, le=2**31 - 1, description="The list entry's id")],
    body: ListEndIn,
) -> dict[str, Any]:
    """End a red or black list entry early, from `end_on` (default today). Only the department that made the entry
    may end it (403 otherwise); the grade is recomputed."""
    return _do(
        ctx,
        session,
        lambda credit: workflows.end_list_entry(
            credit,
            session,
            entry_id=entry_id,
            department=me.department or "",
            end_on=body.end_on,
            reason=body.reason,
            reference=body.reference,
            actor=me.subject,
        ),
        lambda e: {"id": e.id, "list": e.list, "end_on": e.end_on.isoformat()},
    )


@department.post("/repairs/{application_id}/decision", summary="Approve or reject a repair application")
def decide_repair(
    ctx: Context, session: SessionDep, me: CurrentOfficial, application_id: int, body: DecisionIn
) -> dict[str, Any]:
    """Approve or reject an enterprise's credit repair application about a record the official's department made.
    Every step is a record on the chain; an approval recomputes the grade."""
    return _do(
        ctx,
        session,
        lambda credit: workflows.review_repair(
            credit,
            session,
            application_id=application_id,
            approve=body.approve,
            department=me.department or "",
            note=body.note,
            actor=me.subject,
        ),
        lambda a: {"id": a.id, "state": a.state},
    )


@department.get("/enterprises/{uscc}", summary="An enterprise's full standing, for departments")
def department_standing(ctx: Context, session: SessionDep, me: CurrentOfficial, uscc: Uscc) -> dict[str, Any]:
    """An enterprise's full standing, as departments see it: every record (on display or not), the grade with its
    explanation, active list entries, published inspections, whether an inspection is due, and repair applications."""
    return _standing(ctx, session, uscc, "department")


@enterprise.get("", summary="Our credit standing")
def own_standing(ctx: Context, session: SessionDep, me: CurrentEnterprise) -> dict[str, Any]:
    """The calling enterprise's own standing: every record (repaired ones marked), the grade and the records that
    moved it, active list entries, published inspections and its repair applications."""
    return _standing(ctx, session, me.uscc or "", "owner")


@enterprise.get("/code", summary="Our one code (一企一码)")
def own_code(ctx: Context, me: CurrentEnterprise) -> dict[str, Any]:
    """The enterprise's one code (一企一码): a URL of its public profile page signed by market supervision, to print as
    a QR code (`qr_version` is the QR version it needs at error correction Q)."""
    credit = ctx.require_credit()
    url = enterprise_code(credit.ledger, credit.keys[CODE_DEPARTMENT], ctx.settings.public_url, me.uscc or "")
    return {"uscc": me.uscc, "url": url, "qr_version": version_of(url, "Q")}


class ReportIn(BaseModel):
    period_from: date
    period_to: date


@enterprise.post("/report", status_code=201, dependencies=[Expensive], summary="Make a signed credit report")
def credit_report(ctx: Context, session: SessionDep, me: CurrentEnterprise, body: ReportIn) -> dict[str, Any]:
    """A credit report of the calling enterprise over `period_from`..`period_to` (at most 5 years): records, grade,
    lists and inspections, signed by market supervision as a certificate (kind `credit-report`) and anchored like
    one. The answer is its summary and verify URL; the PDF with its QR code is `GET
    /v1/enterprise/certificates/{number}/pdf`. Rate-limited."""

    def report(credit: CreditLedger) -> Certificate:
        return make_report(
            credit,
            session,
            uscc=me.uscc or "",
            period_from=body.period_from,
            period_to=body.period_to,
            builder=ctx.require_certificates().builder,
            actor=me.subject,
        )

    return _do(ctx, session, report, lambda cert: summary(cert, url_of(cert, ctx.settings.public_url)))


@public.post("/codes/check", summary="Is this one code genuine?")
def check_code(ctx: Context, body: ScanIn) -> dict[str, Any]:
    """Check a scanned one code (the URL in its QR code): `valid` when it is well formed and signed by a
    market-supervision key authorized for enterprise codes at the time it was signed; otherwise `reason` says why.
    What the public profile page asks after a scan."""
    try:
        code = read_code(body.text)
    except CodeError as exc:
        return {"valid": False, "uscc": None, "reason": str(exc)}
    valid = _code_key_authorized(ctx, code)
    return {
        "valid": valid,
        "uscc": code.uscc,
        "reason": None if valid else "not signed by a key authorized for enterprise codes",
    }


@enterprise.post("/repairs", status_code=201, summary="Apply for credit repair of one of our records")
def apply_repair(ctx: Context, session: SessionDep, me: CurrentEnterprise, body: RepairIn) -> dict[str, Any]:
    """Apply for credit repair of one of the calling enterprise's records, saying what was put right. Repair opens
    only after the record's minimum display period (409 before); the department that made the record decides."""
    return _do(
        ctx,
        session,
        lambda credit: workflows.apply_repair(
            credit, session, uscc=me.uscc or "", record_uid=body.record, statement=body.statement, actor=me.subject
        ),
        lambda a: {"id": a.id, "state": a.state},
    )


@inspector.post("/scan", summary="Scan a one code")
async def scan(ctx: Context, me: CurrentInspector, body: ScanIn) -> dict[str, Any]:
    """Check a scanned one code and answer the enterprise's standing as inspectors see it (records on display, grade
    with explanation, list flags, published inspections, whether an inspection is due). 422 for a malformed code or
    one not signed by an authorized key (possibly forged)."""
    # Signature recovery, the cached key list and a few indexed reads (~3 ms): answered on the event loop like
    # the certificate status route, since a thread hop per request costs more than it saves under load.
    code = read_code(body.text)  # a CodeError ("invalid-code") if it is no code at all
    if not _code_key_authorized(ctx, code):
        raise ProblemError(
            422, "the code is not signed by a key authorized for enterprise codes: it may be forged", "untrusted-code"
        )
    with ctx.sessions() as session:
        return {
            "code": {"uscc": code.uscc, "signer": code.signer, "issued": code.issued},
            **_standing(ctx, session, code.uscc, "inspector"),
        }


def _code_key_authorized(ctx: AppContext, code: ScannedCode) -> bool:
    """Was the code's signer a market-supervision key authorized for enterprise codes when it was signed?"""
    ctx.require_ledger("credit is")
    return ctx.key_lists().resolver().is_authorized(code.signer, int(Kind.ENTERPRISE_CODE), code.issued)


@inspector.post("/inspections", status_code=201, summary="Record an inspection")
def add_inspection(ctx: Context, session: SessionDep, me: CurrentInspector, body: InspectionIn) -> dict[str, Any]:
    """Record one inspection visit: the departments taking part (the inspector's own among them), the other
    inspectors present, the items checked, findings, result and the digests of evidence files (hashed on the phone).
    It is batch-anchored like certificates and becomes a credit record."""
    if me.department not in body.departments:
        raise ProblemError(
            422, "the inspector's own department must be among the departments of the visit", "validation"
        )
    return _do(
        ctx,
        session,
        lambda credit: inspections.record_inspection(
            credit,
            session,
            uscc=body.uscc,
            departments=list(body.departments),
            inspectors=[me.subject.removeprefix("user:"), *body.inspectors],
            items=[i.model_dump() for i in body.items],
            findings=body.findings,
            result=body.result,
            evidence=[e.lower() for e in body.evidence],
            visited_on=body.visited_on,
            draw_id=body.draw_id,
            actor=me.subject,
        ),
        lambda i: {"uid": i.uid, "digest": i.digest, "state": i.state},
    )


@inspector.get("/enterprises/{uscc}/standing", summary="An enterprise's standing, for inspection")
def inspector_standing(ctx: Context, session: SessionDep, me: CurrentInspector, uscc: Uscc) -> dict[str, Any]:
    """An enterprise's standing as inspectors see it: records on display, the grade with its explanation, list
    flags, published inspections and whether an inspection is due."""
    return _standing(ctx, session, uscc, "inspector")


@public.get("/enterprises/{uscc}/standing", summary="An enterprise's public credit profile")
def public_standing(ctx: Context, session: SessionDep, uscc: Uscc) -> dict[str, Any]:
    """An enterprise's public credit profile: grade, red / black list flags, records on public display and published
    inspections. Cached for a few seconds."""
    return _standing(ctx, session, uscc, "public")


class DrawIn(BaseModel):
    targets: int = Field(ge=1, le=500)
    per_target: int = Field(default=2, ge=1, le=5)


@department.post("/draws", status_code=201, summary="Run a double random draw (双随机)")
def run_draw(ctx: Context, session: SessionDep, me: CurrentOfficial, body: DrawIn) -> dict[str, Any]:
    """Run a double random draw (market supervision only): commit the seed's hash on chain, draw `targets`
    enterprises (weighted by class) and `per_target` inspectors each from the seed and the commit block's hash,
    reveal the seed and publish the result, which anyone can redo."""
    if me.department != draws.DRAW_DEPARTMENT:
        raise ProblemError(403, "double random draws are run by market supervision")
    credit = ctx.require_credit()
    # The chain answers for market supervision's key held by this service, not for the caller: a refusal or an
    # outage alike leaves the draw undone for now (503), never the official's 403 or 409.
    try:
        with session.begin():
            row, seed = draws.commit(
                credit, session, targets=body.targets, per_target=body.per_target, actor=me.subject
            )
        with session.begin():
            return draws.published(draws.reveal(credit, session, session.merge(row), seed))
    except LedgerError as exc:
        raise ProblemError(503, f"the chain refused or is unavailable: {exc.message}") from exc


@public.get("/draws", summary="Published double random draws (双随机、一公开)")
def list_draws(session: SessionDep, limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[dict[str, Any]]:
    """Published double random draws, newest first: parameters, the on-chain commitment, the revealed seed and the
    drawn enterprises and inspectors."""
    rows = session.scalars(select(RandomDraw).order_by(RandomDraw.id.desc()).limit(limit))
    return [draws.published(r) for r in rows]


@public.get("/draws/{uid}", summary="One published draw")
def get_draw(session: SessionDep, uid: Annotated[str, Path(min_length=36, max_length=36)]) -> dict[str, Any]:
    """One published draw, with everything needed to redo it from public data (`zel inspect redraw`)."""
    row = session.scalars(select(RandomDraw).where(RandomDraw.uid == uid)).first()
    if row is None:
        raise ProblemError(404, f"no draw {uid}")
    return draws.published(row)


def _standing(ctx: AppContext, session: Session, uscc: str, audience: Any) -> dict[str, Any]:
    credit = ctx.require_credit()
    found = ctx.require_standings().standing(credit, session, uscc, audience)
    if found is None:
        raise ProblemError(404, f"no enterprise {uscc}")
    return found
