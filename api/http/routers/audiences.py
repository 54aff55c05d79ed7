"""Routers for signed-in callers: citizens, enterprises, inspectors and department officials."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select

from api.http.deps import (
    Context,
    CurrentCitizen,
    CurrentEnterprise,
    CurrentInspector,
    CurrentOfficial,
    SessionDep,
    signed_in_router,
)
from api.http.params import Uscc
from api.http.problems import ProblemError
from identifiers import mask_id_number
from store.models import Enterprise, Person, User

PROTECTED = (401, 403, 404, 413, 422, 429)  # the problem statuses their routes may answer

citizen = signed_in_router("/v1/citizen", "citizen", PROTECTED)
enterprise = signed_in_router("/v1/enterprise", "enterprise", PROTECTED)
inspector = signed_in_router("/v1/inspector", "inspector", PROTECTED)
department = signed_in_router("/v1/department", "department", PROTECTED)


class CitizenProfile(BaseModel):
    username: str
    display_name: str
    name: str
    id_number_masked: str


class EnterpriseProfile(BaseModel):
    uscc: str
    name: str
    region: str


class StaffProfile(BaseModel):
    username: str
    display_name: str
    role: str
    department: str | None


def _user(session, subject: str) -> User:
    user = session.scalars(select(User).where(User.username == subject.removeprefix("user:"))).first()
    if user is None or user.disabled:
        raise ProblemError(403, "the account behind this token is disabled or gone", "account-disabled")
    return user


def _enterprise(session, uscc: str) -> EnterpriseProfile:
    found = session.get(Enterprise, uscc)
    if found is None:
        raise ProblemError(404, f"no enterprise {uscc}")
    return EnterpriseProfile(uscc=found.uscc, name=found.name, region=found.region)


@citizen.get("/me", response_model=CitizenProfile, summary="The signed-in citizen's own profile")
def citizen_me(ctx: Context, session: SessionDep, me: CurrentCitizen) -> CitizenProfile:
    """The signed-in citizen's account and person record, the ID number masked."""
    user = _user(session, me.subject)
    person = session.get(Person, user.person_id)
    if person is None:
        raise ProblemError(404, "no person record is linked to this account")
    id_number = ctx.pii.decrypt(person.id_number_enc, "person.id_number")
    return CitizenProfile(
        username=user.username,
        display_name=user.display_name,
        name=ctx.pii.decrypt(person.name_enc, "person.name"),
        id_number_masked=mask_id_number(id_number),
    )


@enterprise.get("/me", response_model=EnterpriseProfile, summary="The calling enterprise's registration")
def enterprise_me(session: SessionDep, me: CurrentEnterprise) -> EnterpriseProfile:
    """The registration of the enterprise the API client acts for: USCC, name and region."""
    return _enterprise(session, me.uscc or "")


@enterprise.get(
    "/enterprises/{uscc}",
    response_model=EnterpriseProfile,
    summary="An enterprise's registration (only the enterprise itself)",
)
def enterprise_get(session: SessionDep, me: CurrentEnterprise, uscc: Uscc) -> EnterpriseProfile:
    """An enterprise's registration, for the enterprise itself only (403 for any other USCC)."""
    if uscc != me.uscc:
        raise ProblemError(403, "an enterprise reads only its own data", "not-owner")
    return _enterprise(session, uscc)


@inspector.get("/me", response_model=StaffProfile, summary="The signed-in inspector")
def inspector_me(session: SessionDep, me: CurrentInspector) -> StaffProfile:
    """The signed-in inspector's account and department."""
    user = _user(session, me.subject)
    return StaffProfile(
        username=user.username, display_name=user.display_name, role=user.role, department=user.department
    )


@inspector.get("/enterprises/{uscc}", response_model=EnterpriseProfile, summary="Any enterprise, for inspection")
def inspector_enterprise(session: SessionDep, me: CurrentInspector, uscc: Uscc) -> EnterpriseProfile:
    """Any enterprise's registration (USCC, name, region), for an inspection."""
    return _enterprise(session, uscc)


@department.get("/me", response_model=StaffProfile, summary="The signed-in department official")
def department_me(session: SessionDep, me: CurrentOfficial) -> StaffProfile:
    """The signed-in department official's account and department."""
    user = _user(session, me.subject)
    return StaffProfile(
        username=user.username, display_name=user.display_name, role=user.role, department=user.department
    )
