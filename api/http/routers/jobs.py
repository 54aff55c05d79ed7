"""Bulk issuance jobs (零申请推送): a department official pushes one kind to every eligible subject of a period.

`POST /v1/department/certificate-jobs` makes the job (202, QUEUED); the service's job workers issue it chunk by
chunk (`zero_errand.bulk`); `GET …/{id}` says where it stands and `GET …/{id}/results` downloads, as CSV, what
became of every subject. An official sees and makes only their own department's jobs; the district admin may make
and see any.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Path, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.http.deps import Context, SessionDep, current_principal, signed_in_router
from api.http.problems import ProblemError
from api.security import Principal
from store.models import IssuanceJob, Role
from zero_errand import bulk

router = signed_in_router("/v1/department/certificate-jobs", "department", (401, 403, 404, 413, 422, 429))

PERIOD = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="Month, YYYY-MM")
JobId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$", description="Job id")]
MAX_SUBJECTS = 100_000  # a list in one request body; larger runs use `zel cert bulk --subjects FILE`


class JobRequest(BaseModel):
    kind: str = Field(description="tax-individual, tax-enterprise, si-individual or si-enterprise", max_length=32)
    period_from: str = PERIOD
    period_to: str = PERIOD
    subjects: list[Annotated[str, Field(max_length=32)]] | None = Field(
        default=None,
        max_length=MAX_SUBJECTS,
        description="Citizen ID numbers or USCCs; left out: every subject with records for the period",
    )


class Counts(BaseModel):
    issued: int
    existing: int
    skipped: int
    failed: int
    pending: int


class Problem(BaseModel):
    subject: str
    outcome: str
    code: str
    reason: str


class JobOut(BaseModel):
    id: str
    kind: str
    department: str
    period_from: str
    period_to: str
    source: str
    state: str
    subjects: int
    chunks: dict[str, int]
    counts: Counts
    problems: list[Problem]
    created_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None


def pusher(me: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """An official (their department's kinds) or the district admin (any kind)."""
    if me.role not in (Role.OFFICIAL, Role.ADMIN):
        raise ProblemError(403, f"bulk issuance is for department officials and the admin; you are {me.role.value}")
    return me


Pusher = Annotated[Principal, Depends(pusher)]


def _job(session: Session, me: Principal, uid: str) -> IssuanceJob:
    job = session.scalars(select(IssuanceJob).where(IssuanceJob.uid == uid)).first()
    # another department's job is answered as missing: its existence is not the caller's to learn
    if job is None or (me.role is Role.OFFICIAL and job.department != me.department):
        raise ProblemError(404, f"no bulk issuance job {uid}")
    return job


@router.post("", status_code=202, response_model=JobOut, summary="Push a kind to every eligible subject")
def create(ctx: Context, session: SessionDep, me: Pusher, body: JobRequest, response: Response) -> dict[str, Any]:
    """Issue `kind` for the period to every subject with the department's records for it (or to the listed
    subjects): 202 with the job, QUEUED; the service issues it in the background. Subjects without records are
    listed as skipped with the reason. Certificates already issued for the same subject, kind and period (by an
    earlier job) are not issued again (`existing`)."""
    ctx.require_certificates()  # 503 where this process holds no department keys: nothing would run the job
    with session.begin():
        job = bulk.create_job(
            session,
            ctx.pii,
            kind=body.kind,
            period_from=body.period_from,
            period_to=body.period_to,
            department=me.department if me.role is Role.OFFICIAL else None,
            actor=me.subject,
            subjects=body.subjects,
        )
        out = bulk.describe(session, job)
    response.headers["Location"] = f"/v1/department/certificate-jobs/{job.uid}"
    return out


@router.get("/{job_id}", response_model=JobOut, summary="Where a bulk issuance stands")
def get(session: SessionDep, me: Pusher, job_id: JobId) -> dict[str, Any]:
    """The job: its state (QUEUED, RUNNING, DONE), the counts so far and the first 100 subjects not issued, with
    their reasons."""
    return bulk.describe(session, _job(session, me, job_id))


@router.get(
    "/{job_id}/results",
    summary="Download what became of every subject (CSV)",
    responses={200: {"content": {"text/csv": {}}, "description": "subject, outcome, number, state, reason"}},
)
def results(ctx: Context, session: SessionDep, me: Pusher, job_id: JobId) -> StreamingResponse:
    """One CSV line per subject: the certificate's number and state, or why it was not issued. People appear by
    their masked ID number."""
    job = _job(session, me, job_id)
    uid = job.uid

    def lines() -> Iterator[str]:  # its own session: the request's closes when the route returns
        out = io.StringIO()
        writer = csv.DictWriter(out, ["subject", "outcome", "number", "state", "reason"], extrasaction="ignore")
        writer.writeheader()
        with ctx.sessions() as own:
            streamed = own.scalars(select(IssuanceJob).where(IssuanceJob.uid == uid)).one()
            for row in bulk.results(own, ctx.pii, streamed):
                writer.writerow(row)
                if out.tell() > 64_000:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
        yield out.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="job-{job.uid}.csv"'},
    )
