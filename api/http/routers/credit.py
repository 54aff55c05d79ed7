"""Credit: departments record and list, enterprises see their standing and apply for repair, inspectors scan the
one code (each scan a signed event, 扫码入企) and record the inspections it opens, enterprises see, rate and object
to their visits, departments answer objections, record complaints that make an inspection due and see visit
alerts, anyone reads the public profile."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import date, datetime
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
from credit import draws, inspections, tax_credit, visits, workflows
from credit.codes_qr import CODE_DEPARTMENT, CodeError, ScannedCode, enterprise_code, read_code
from credit.grading import RECORD_TYPES
from credit.ledger import CreditLedger
from credit.report import make_report, summary
from ledger.errors import LedgerError
from ledger.kinds import Kind
from qr.render import version_of
from store.models import Certificate, Inspection, RandomDraw, Role, User
from zero_errand.verification import url_of

log = logging.getLogger(__name__)
PROTECTED = (401, 403, 404, 409, 413, 422, 429)  # the problem statuses their routes may answer
Digest = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$")]
Uid = Annotated[str, Path(min_length=36, max_length=36, description="The uid")]
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
    corrected: str = Field(
        default="", max_length=2000, description="How the wrong was corrected and the obligations met"
    )
    promise: bool = Field(default=False, description="The enterprise makes the credit promise (信用承诺)")


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
    inspectors: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=10, description="Other inspectors present (their user names)"
    )
    items: list[Item] = Field(min_length=1, max_length=100)
    findings: str = Field(default="", max_length=4000)
    result: Literal["pass", "issues", "fail"]
    evidence: list[Digest] = Field(default_factory=list, max_length=50, description="Digests of evidence files")
    started_at: datetime = Field(description="When the visit started (with its time zone)")
    ended_at: datetime | None = Field(default=None, description="When it ended (default now)")
    scan: str | None = Field(
        default=None,
        min_length=36,
        max_length=36,
        description="The uid of the scan that opened the visit (default: the latest scan that fits)",
    )
    emergency: str | None = Field(
        default=None,
        max_length=500,
        description="Why the inspectors entered before scanning (an emergency): then a scan between start and end",
    )
    reason: str | None = Field(
        default=None,
        max_length=32,
        description="Why the visit takes place when none is due: one of the rule file's unscheduled reasons",
    )
    draw_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class ScanIn(BaseModel):
    text: str = Field(min_length=1, max_length=600, description="The scanned one-code URL")


class InspectorScanIn(ScanIn):
    purpose: Literal["enter", "leave"] = Field(
        default="enter", description="enter (before entering) or leave (before leaving, after an emergency entry)"
    )


def _do(
    ctx: AppContext, session: Session, action: Callable[[CreditLedger], Any], shape: Callable[[Any], dict[str, Any]]
) -> Any:
    """Run a credit action in a transaction and shape its result, then push it to the chain (later, if the node
    is down, or if the service's sync thread is busy writing, e.g. a day's grade changes: the row stays PENDING and
    that thread writes it; a request never waits for it)."""
    credit = ctx.require_credit()
    with session.begin():
        out = shape(action(credit))
    try:
        credit.sync(wait=False)
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


class TaxGradeIn(BaseModel):
    uscc: Uscc
    year: int = Field(ge=tax_credit.FIRST_YEAR, le=9999, description="The year graded")
    grade: Literal[tax_credit.GRADES]  # type: ignore[valid-type]
    decided_on: date


@department.post("/tax-grades", status_code=201, summary="Record a tax credit grade (纳税缴费信用, the tax bureau)")
def add_tax_grade(ctx: Context, session: SessionDep, me: CurrentOfficial, body: TaxGradeIn) -> dict[str, Any]:
    """Record the tax bureau's 纳税缴费信用 grade (A, B, M, C, D; M for new enterprises or those without income) of an
    enterprise for a year: a grade of its own, shown beside market supervision's risk class, which it never
    changes. Its record goes on the enterprise's credit chain. 403 for any department but the tax bureau."""
    return _do(
        ctx,
        session,
        lambda credit: tax_credit.record_tax_grade(
            credit,
            session,
            uscc=body.uscc,
            year=body.year,
            grade=body.grade,
            department=me.department or "",
            decided_on=body.decided_on,
            actor=me.subject,
        ),
        lambda g: {"uscc": g.uscc, "year": g.year, "grade": g.grade, "decided_on": g.decided_on.isoformat()},
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
    explanation, active list entries, published inspections, whether an inspection is due, and repair applications.
    A repaired record is withdrawn from what is shared: only the department that recorded it still sees it."""
    return _standing(ctx, session, uscc, "department", me.department)


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
            credit,
            session,
            uscc=me.uscc or "",
            record_uid=body.record,
            statement=body.statement,
            corrected=body.corrected,
            promise=body.promise,
            actor=me.subject,
        ),
        lambda a: {"id": a.id, "state": a.state},
    )


@inspector.post("/scan", summary="Scan a one code (扫码入企)")
async def scan(ctx: Context, me: CurrentInspector, body: InspectorScanIn) -> dict[str, Any]:
    """Check a scanned one code, record the scan (purpose `enter` before entering, `leave` before leaving after an
    emergency entry) as a signed event (time, inspector, department; market supervision's key signs its digest,
    EIP-191) anchored with the inspections, and answer the enterprise's standing as inspectors see it (records on
    display, grade with explanation, list flags, published inspections, whether an inspection is due and why) with
    `scan: {uid, digest, purpose, scanned_at, signature}`. 422 for a malformed code or one not signed by an
    authorized key (possibly forged): nothing is recorded then."""
    # Answered on the event loop (signature recovery, the cached key list, the cached standing: a thread hop per
    # request costs more than it saves under load). The scan's INSERT is the one write: scans arriving together are
    # committed together by one writing thread (store.group), awaited here without holding the loop or a pool
    # thread, so a store lock held elsewhere (the daily pass committing a chunk) delays only the scans.
    code = read_code(body.text)  # a CodeError ("invalid-code") if it is no code at all
    if not _code_key_authorized(ctx, code):
        raise ProblemError(
            422, "the code is not signed by a key authorized for enterprise codes: it may be forged", "untrusted-code"
        )
    with ctx.sessions() as session:  # read first (cached): a code of an enterprise the store lacks is a 404
        seen = _standing(ctx, session, code.uscc, "inspector")
    row = inspections.scan_event(
        ctx.require_credit(),
        uscc=code.uscc,
        inspector=me.subject.removeprefix("user:"),
        department=me.department or "",
        purpose=body.purpose,
        actor=me.subject,
    )
    event = {
        "uid": row.uid,
        "digest": row.digest,
        "purpose": row.purpose,
        "scanned_at": row.started_at.isoformat() if row.started_at else None,
        "signature": row.signature,
    }
    await asyncio.wrap_future(ctx.scan_writer().submit(row))  # answered once the scan is committed
    # a scan changes no standing (credit.cache), so the one read before is the one after
    return {"code": {"uscc": code.uscc, "signer": code.signer, "issued": code.issued}, **seen, "scan": event}


def _code_key_authorized(ctx: AppContext, code: ScannedCode) -> bool:
    """Was the code's signer a market-supervision key authorized for enterprise codes when it was signed?"""
    ctx.require_ledger("credit is")
    return ctx.key_lists().resolver().is_authorized(code.signer, int(Kind.ENTERPRISE_CODE), code.issued)


@inspector.post("/inspections", status_code=201, summary="Record an inspection")
def add_inspection(ctx: Context, session: SessionDep, me: CurrentInspector, body: InspectionIn) -> dict[str, Any]:
    """Record one inspection visit: the departments taking part (the inspector's own among them), the other
    inspectors present (user names), the items checked, findings, result, the digests of evidence files (hashed on
    the phone), and when it started and ended. It needs a scan of the enterprise's code by one of its inspectors
    (purpose enter) at most the rule file's `scan_before_minutes` before `started_at` and not after it (`scan`
    names it, else the latest that fits is taken), or an `emergency` reason and then a scan between start and end:
    409 otherwise. A visit when none is due (by the schedule, or an open complaint, alert or referral) gives a
    `reason` from the rule file's list (422 otherwise; `random_draw` with the `draw_id` that drew the enterprise).
    It is batch-anchored like certificates, becomes a credit record, closes the enterprise's open triggers and, one
    visit too many for its class, raises a visit alert (无事不扰)."""
    if me.department not in body.departments:
        raise ProblemError(
            422, "the inspector's own department must be among the departments of the visit", "validation"
        )

    def record(credit: CreditLedger) -> Any:
        present = set(body.inspectors) - {me.subject.removeprefix("user:")}
        known = dict(
            session.execute(
                select(User.username, User.department).where(
                    User.username.in_(present), User.role == Role.INSPECTOR, User.disabled.is_(False)
                )
            )
            .tuples()
            .all()
        )
        if present - set(known):
            raise ProblemError(
                422,
                f"no active inspector named {', '.join(sorted(present - set(known)))}: list inspectors by user name",
            )
        # an inspector of the visit is of one of its departments: a colleague elsewhere (whose scan would open the
        # visit) is not named into it
        outside = sorted(name for name, dept in known.items() if dept not in body.departments)
        if outside:
            raise ProblemError(
                422, f"{', '.join(outside)} is not of a department of this visit: add the department or leave them out"
            )
        return inspections.record_inspection(
            credit,
            session,
            uscc=body.uscc,
            departments=list(body.departments),
            inspectors=[me.subject.removeprefix("user:"), *body.inspectors],
            items=[i.model_dump() for i in body.items],
            findings=body.findings,
            result=body.result,
            evidence=[e.lower() for e in body.evidence],
            started_at=body.started_at,
            ended_at=body.ended_at,
            scan=body.scan,
            emergency=body.emergency,
            reason=body.reason,
            draw_id=body.draw_id,
            actor=me.subject,
        )

    return _do(
        ctx,
        session,
        record,
        lambda i: {
            "uid": i.uid,
            "digest": i.digest,
            "state": i.state,
            "reason": i.reason,
            "scan": body.scan or _uid_of(session, i.scan_id),
        },
    )


def _uid_of(session: Session, inspection_id: int | None) -> str | None:
    return session.scalars(select(Inspection.uid).where(Inspection.id == inspection_id)).first()


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


# -- the enterprise's side of visits (扫码入企), objections, triggers and alerts --------------------------------------


class RatingIn(BaseModel):
    stars: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=500)


class ObjectionIn(BaseModel):
    visit: str | None = Field(default=None, min_length=36, max_length=36, description="The visit's or scan's uid")
    record: str | None = Field(default=None, min_length=36, max_length=36, description="Or the credit record's uid")
    text: str = Field(min_length=1, max_length=2000, description="What the enterprise objects to, and why")


class AnswerIn(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class TriggerIn(BaseModel):
    uscc: Uscc
    kind: Literal[visits.TRIGGER_KINDS]  # type: ignore[valid-type]
    reason: str = Field(min_length=1, max_length=500, description="What the complaint, alert or referral is about")
    reference: str = Field(default="", max_length=64, description="The case or document number")


@enterprise.get("/visits", summary="Every scan and inspection recorded about us")
def own_visits(session: SessionDep, me: CurrentEnterprise) -> dict[str, Any]:
    """Every scan and inspection recorded about the calling enterprise, newest first: when, departments,
    inspectors, purpose or reason, the items checked and the result, our rating, objections and their answers, and
    the alerts a visit raised (无事不扰); and the objections to our records."""
    return visits.enterprise_visits(session, me.uscc or "")


@enterprise.post("/visits/{uid}/rating", status_code=201, summary="Rate one of our inspections, anonymously")
def rate_visit(session: SessionDep, me: CurrentEnterprise, uid: Uid, body: RatingIn) -> dict[str, Any]:
    """Rate one inspection of the calling enterprise, 1 to 5 stars and a comment, once (409 on a second). Who rated
    is not kept; departments see ratings only aggregated, in groups of at least three. 404 for a visit that is not
    ours."""
    with session.begin():
        rating = visits.rate(session, uscc=me.uscc or "", uid=uid, stars=body.stars, comment=body.comment)
        return {"visit": uid, "stars": rating.stars, "comment": rating.comment, "rated_on": str(rating.rated_on)}


@enterprise.post("/objections", status_code=201, summary="Object to one of our visits or records (异议)")
def file_objection(ctx: Context, session: SessionDep, me: CurrentEnterprise, body: ObjectionIn) -> dict[str, Any]:
    """Object to one of the calling enterprise's visits or scans (`visit`) or credit records (`record`): the visit's
    lead department, or the record's department, must answer by `due_at` (the rule file's
    `objection_answer_days`). Filing is a record on the enterprise's credit chain. 404 for what is not ours, 409
    while an objection to the same is open."""
    return _do(
        ctx,
        session,
        lambda credit: visits.file_objection(
            credit,
            session,
            uscc=me.uscc or "",
            text=body.text,
            visit_uid=body.visit,
            record_uid=body.record,
            actor=me.subject,
        ),
        lambda o: {"uid": o.uid, "department": o.department, "due_at": o.due_at.isoformat(), "state": o.state},
    )


@department.get("/objections", summary="Objections our department has to answer")
def department_objections(session: SessionDep, me: CurrentOfficial) -> list[dict[str, Any]]:
    """The open objections the official's department has to answer, the most urgent first, overdue ones marked."""
    return visits.open_objections(session, me.department or "")


@department.post("/objections/{uid}/answer", summary="Answer an objection (only the department it is for)")
def answer_objection(
    ctx: Context, session: SessionDep, me: CurrentOfficial, uid: Uid, body: AnswerIn
) -> dict[str, Any]:
    """Answer an objection addressed to the official's department (403 for another department's, 409 once
    answered). The answer, its time and who gave it are kept, and the answer is a record on the enterprise's credit
    chain."""
    return _do(
        ctx,
        session,
        lambda credit: visits.answer_objection(
            credit, session, uid=uid, department=me.department or "", text=body.text, actor=me.subject
        ),
        lambda o: {
            "uid": o.uid,
            "state": o.state,
            "answered_at": o.answered_at.isoformat() if o.answered_at else None,
            "late": bool(o.answered_at and o.answered_at > o.due_at),
        },
    )


@department.get("/ratings", summary="How enterprises rated our visits (aggregated)")
def department_ratings(session: SessionDep, me: CurrentOfficial) -> dict[str, Any]:
    """The anonymous ratings of visits the official's department took part in: count, mean and comments for the
    department and per inspector of it, never per enterprise or visit; a group of fewer than three ratings shows
    no numbers."""
    return visits.ratings(session, me.department or "")


@department.get("/alerts", summary="Visit alerts (无事不扰)")
def visit_alerts(
    session: SessionDep, me: CurrentOfficial, limit: Annotated[int, Query(ge=1, le=500)] = 200
) -> list[dict[str, Any]]:
    """Enterprises visited more often than their class allows within the rule file's window (joint visits count
    once), newest first, with the visit that went over. For officials of every department."""
    return visits.alerts(session, limit)


@department.post("/triggers", status_code=201, summary="Record a complaint, alert or referral")
def add_trigger(session: SessionDep, me: CurrentOfficial, body: TriggerIn) -> dict[str, Any]:
    """Record a complaint (投诉举报), a risk alert or a referral about an enterprise for the official's department:
    the enterprise shows as due for inspection, with the reason, on the inspector's scan, whatever its class, until
    an inspection closes it."""
    with session.begin():
        trigger = visits.add_trigger(
            session,
            uscc=body.uscc,
            kind=body.kind,
            reason=body.reason,
            reference=body.reference,
            department=me.department or "",
            actor=me.subject,
        )
        return visits.shown_trigger(trigger)


def _standing(
    ctx: AppContext, session: Session, uscc: str, audience: Any, department: str | None = None
) -> dict[str, Any]:
    credit = ctx.require_credit()
    found = ctx.require_standings().standing(credit, session, uscc, audience, department=department)
    if found is None:
        raise ProblemError(404, f"no enterprise {uscc}")
    return found
