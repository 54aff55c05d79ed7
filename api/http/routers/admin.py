"""`/v1/admin`: users, API clients and the audit log, for the district data office."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.http.deps import Context, CurrentAdmin, SessionDep, SessionRoute, current_principal
from api.http.params import IdNumber, Uscc
from api.http.problems import problem_responses
from api.services import add_client, add_user, set_client_disabled, set_user_disabled
from store import audit
from store.models import ApiClient, AuditEntry, Role, User

router = APIRouter(
    route_class=SessionRoute,
    prefix="/v1/admin",
    tags=["admin"],
    responses=problem_responses(401, 403, 404, 409, 413, 422, 429),
    dependencies=[Depends(current_principal)],
)
Username = Annotated[str, Path(min_length=1, max_length=64)]
ClientId = Annotated[str, Path(min_length=1, max_length=64)]


class UserOut(BaseModel):
    username: str
    role: str
    display_name: str
    department: str | None
    disabled: bool


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    role: Role
    display_name: str = Field("", max_length=100)
    department: str | None = Field(None, max_length=32)
    id_number: IdNumber | None = Field(None, description="Citizens only")
    name: str | None = Field(None, max_length=100, description="Citizens only")
    phone: str | None = Field(None, max_length=20)


class UserCreated(UserOut):
    initial_password: str = Field(description="Shown once; the development identity provider's password")


class ClientOut(BaseModel):
    client_id: str
    uscc: str
    name: str
    disabled: bool


class ClientIn(BaseModel):
    uscc: Uscc
    name: str = Field(min_length=1, max_length=100)
    enterprise_name: str | None = Field(None, max_length=200)


class ClientCreated(ClientOut):
    client_secret: str = Field(description="Shown once; stored hashed")


class AuditOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any]
    hash: str


class AuditVerification(BaseModel):
    ok: bool
    entries: int
    problem: str | None
    seq: int | None = Field(description="The first entry that differs (of the span, for a rewrite caught on chain)")
    anchored_heads: int | None = Field(None, description="Heads of the log anchored on chain; null: not checked")
    anchored_through: int | None = Field(None, description="The newest entry an anchored head covers")


def _user_out(u: User) -> dict[str, Any]:
    return {
        "username": u.username,
        "role": u.role,
        "display_name": u.display_name,
        "department": u.department,
        "disabled": u.disabled,
    }


@router.get("/users", response_model=list[UserOut], summary="List users")
def list_users(session: SessionDep, me: CurrentAdmin) -> list[dict[str, Any]]:
    """Every user account (citizens, inspectors, department officials, administrators) by username, with its role,
    department and whether it is disabled. Citizens' ID numbers and names are not shown."""
    return [_user_out(u) for u in session.scalars(select(User).order_by(User.username))]


@router.post("/users", response_model=UserCreated, status_code=201, summary="Create a user")
def create_user(ctx: Context, session: SessionDep, me: CurrentAdmin, body: UserIn) -> dict[str, Any]:
    """Create an account. A citizen needs `id_number` and `name` (stored encrypted, linked to the person record,
    created if new); an inspector or official needs `department`; enterprises are API clients instead. The
    development identity provider's initial password is returned once. 409 if the username is taken. Audited."""
    with session.begin():
        user, password = add_user(
            session,
            ctx.pii,
            me,
            username=body.username,
            role=body.role,
            display_name=body.display_name,
            department=body.department,
            id_number=body.id_number,
            name=body.name,
            phone=body.phone,
        )
    return {**_user_out(user), "initial_password": password}


@router.post("/users/{username}/disable", response_model=UserOut, summary="Disable a user")
def disable_user(ctx: Context, session: SessionDep, me: CurrentAdmin, username: Username) -> dict[str, Any]:
    """Disable an account: its tokens are refused from the next request, and it cannot sign in. Audited."""
    with session.begin():
        user = set_user_disabled(session, me, username)
    ctx.accounts.forget(f"user:{username}")  # its tokens are refused from the next request
    return _user_out(user)


@router.get("/clients", response_model=list[ClientOut], summary="List enterprise API clients")
def list_clients(session: SessionDep, me: CurrentAdmin) -> list[ApiClient]:
    """Every enterprise API client (OAuth2 client credentials), with the enterprise it acts for."""
    return list(session.scalars(select(ApiClient).order_by(ApiClient.client_id)))


@router.post("/clients", response_model=ClientCreated, status_code=201, summary="Register an enterprise API client")
def create_client(session: SessionDep, me: CurrentAdmin, body: ClientIn) -> dict[str, Any]:
    """Register an API client for an enterprise (registering the enterprise too when `enterprise_name` is given for
    an unknown USCC). The client secret is returned once and stored hashed. Audited."""
    with session.begin():
        client, secret = add_client(session, me, uscc=body.uscc, name=body.name, enterprise_name=body.enterprise_name)
    return {
        "client_id": client.client_id,
        "uscc": client.uscc,
        "name": client.name,
        "disabled": client.disabled,
        "client_secret": secret,
    }


@router.post("/clients/{client_id}/disable", response_model=ClientOut, summary="Disable an API client")
def disable_client(ctx: Context, session: SessionDep, me: CurrentAdmin, client_id: ClientId) -> ApiClient:
    """Disable an API client: its tokens are refused from the next request. Audited."""
    with session.begin():
        client = set_client_disabled(session, me, client_id)
    ctx.accounts.forget(f"client:{client_id}")  # its tokens are refused from the next request
    return client


@router.get("/audit", response_model=list[AuditOut], summary="Read the audit log, newest first")
def read_audit(
    session: SessionDep,
    me: CurrentAdmin,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> list[AuditEntry]:
    """The hash-chained audit log of privileged actions, newest first, `limit` entries at a time; page back with
    `before` (the smallest `seq` seen)."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if before:
        query = query.where(AuditEntry.seq < before)
    return list(session.scalars(query))


@router.get("/audit/verify", response_model=AuditVerification, summary="Recompute the audit hash chain")
def verify_audit(ctx: Context, session: SessionDep, me: CurrentAdmin) -> AuditVerification:
    """Recompute the audit log's hash chain from the store and compare it with the heads anchored on chain: `ok`
    false names the first entry that differs (`seq`) and the problem."""
    from ledger.audit_anchor import verify_against_chain

    report = verify_against_chain(session, ctx.ledger) if ctx.ledger is not None else audit.verify(session)
    return AuditVerification(
        ok=report.ok,
        entries=report.entries,
        problem=report.problem,
        seq=report.seq,
        anchored_heads=report.anchored,
        anchored_through=report.anchored_through,
    )
