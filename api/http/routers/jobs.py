"""Bulk issuance jobs (零申请推送): a department official pushes one kind to every eligible subject of a period.

`POST /v1/department/certificate-jobs` makes the job (202, QUEUED); the service's job workers issue it chunk by
chunk (`zero_errand.bulk`); `GET …/{id}` says where it stands and `GET …/{id}/results` downloads, as CSV, what
became of every subject. An official sees and makes only their own department's jobs; the district admin may make
and see any.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Path, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.http.deps import Context, SessionDep, current_principal, signed_in_router
from api.http.problems import ProblemError
from api.security import Principal
from store.models import IssuanceJob, Role
from zero_errand import bulk

router = signed_in_router("/v1/department/certificate-jobs", "department", (401, 403, 404, 413, 422, 429))

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
JobId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$", description="Job id")]
MAX_SUBJECTS = 100_000  # a list in one request body; larger runs use `zel cert bulk --subjects FILE`
MAX_ENTRIES = 10_000  # attestations in one request body; larger runs use `zel cert bulk --entries FILE`


class Entry(BaseModel):
    """One attestation of a job pushing a kind registered from a schema file."""

    model_config = ConfigDict(extra="forbid")
    subject: str = Field(min_length=1, max_length=32, description="The citizen ID number or USCC the kind is about")
    fields: dict[Annotated[str, Field(max_length=64)], Any] = Field(
        max_length=64, description="The kind's fields by name (as `POST /v1/department/attestations` takes them)"
    )


class JobRequest(BaseModel):
    kind: str = Field(
        description="tax-individual, tax-enterprise, si-individual or si-enterprise; or, with `entries`, the slug of "
        "a kind registered from a schema file",
        max_length=64,
    )
    period_from: str | None = Field(default=None, pattern=PERIOD.pattern, description="Month, YYYY-MM")
    period_to: str | None = Field(default=None, pattern=PERIOD.pattern, description="Month, YYYY-MM")
    subjects: list[Annotated[str, Field(max_length=32)]] | None = Field(
        default=None,
        max_length=MAX_SUBJECTS,
        description="Citizen ID numbers or USCCs; left out: every subject with records for the period",
    )
    entries: list[Entry] | None = Field(
        default=None,
        max_length=MAX_ENTRIES,
        description="For a kind registered from a schema file: each attestation's subject and field values, all "
        "checked before the job is made (no period, no subjects)",
    )

    @model_validator(mode="after")
    def _one_shape(self) -> JobRequest:
        if self.entries is not None:
            if self.period_from or self.period_to or self.subjects is not None:
                raise ValueError("a job with entries names no period and no subjects: the entries name them")
        elif not (self.period_from and self.period_to):
            raise ValueError("period_from and period_to are required (or entries, for a kind registered from a file)")
        return self


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
    earlier job) are not issued again (`existing`).

    With `entries`, `kind` is a kind registered from a schema file: each entry is one attestation, its values checked
    against the schema before the job is made (a bad entry refuses the request, naming its line, the field and the
    rule); the same attestation (subject, kind and values) is not issued twice."""
    service = ctx.require_certificates()  # 503 where this process holds no department keys: nothing would run it
    department = me.department if me.role is Role.OFFICIAL else None
    with session.begin():
        if body.entries is not None:
            job = service.attestation_job(
                session,
                kind=body.kind,
                entries=[e.model_dump() for e in body.entries],
                department=department,
                actor=me.subject,
            )
        else:
            assert body.period_from is not None and body.period_to is not None
            job = bulk.create_job(
                session,
                ctx.pii,
                kind=body.kind,
                period_from=body.period_from,
                period_to=body.period_to,
                department=department,
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
