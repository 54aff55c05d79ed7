"""`/v1/auth`: OAuth2 client credentials for enterprise API clients; sign-in for people."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.deps import AppContext, Context, SessionDep, SessionRoute
from api.problems import ProblemError, problem_responses
from api.passwords import PasswordCheckBusy
from api.security import Principal, authenticate_client

# Sign-in refusals cost the same whether the account exists, is disabled or had a wrong password (one scrypt
# check each, api.passwords); failures back off per account and address (api.throttle), never lock an account.
router = APIRouter(route_class=SessionRoute,
                   prefix="/v1/auth", tags=["auth"], responses=problem_responses(401, 404, 413, 422, 429, 503))


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


def _signed_in(ctx: AppContext, session: Session, request: Request, account: str,
               check: Callable[[], Principal | None], refusal: ProblemError) -> TokenResponse:
    """A password sign-in: the per-address limit, the per-account-and-address back-off, one password check (503
    when too many run), then a token; a secret hashed at an older cost was upgraded by the check."""
    address = ctx.caller_address(request)
    ctx.auth_limiter.check(f"addr:{address}")
    ctx.login_backoff.attempt(f"{account}@{address}")
    try:
        principal = check()
    except PasswordCheckBusy as exc:
        raise ProblemError(503, str(exc), "busy", headers={"Retry-After": "5"}) from exc
    if principal is None:
        raise refusal
    ctx.login_backoff.succeeded(f"{account}@{address}")
    session.commit()
    token, ttl = ctx.tokens.issue(principal)
    return TokenResponse(access_token=token, expires_in=ttl)


def _refused(problem_type: str, detail: str) -> ProblemError:
    return ProblemError(401, detail, problem_type, headers={"WWW-Authenticate": "Bearer"})


@router.post("/token", response_model=TokenResponse, summary="OAuth2 client-credentials token (enterprise API)")
def client_token(
    ctx: Context,
    session: SessionDep,
    request: Request,
    grant_type: Annotated[Literal["client_credentials"], Form()],
    client_id: Annotated[str, Form(min_length=1, max_length=64)],
    client_secret: Annotated[str, Form(min_length=1, max_length=200)],
) -> TokenResponse:
    return _signed_in(ctx, session, request, f"client:{client_id}",
                      lambda: authenticate_client(session, client_id, client_secret),
                      _refused("invalid-client", "unknown client, wrong secret or disabled client"))


@router.post("/login", response_model=TokenResponse, summary="Sign in a citizen, inspector, official or admin")
def login(ctx: Context, session: SessionDep, request: Request, body: Login) -> TokenResponse:
    if getattr(ctx.identity, "name", "") == "oidc":
        raise ProblemError(404, "people sign in through the district's unified login here (POST /v1/auth/oidc)")
    return _signed_in(ctx, session, request, f"user:{body.username}",
                      lambda: ctx.identity.authenticate(session, body.username, body.password),
                      _refused("invalid-credentials", "wrong username or password, or the account is disabled"))


class OidcLogin(BaseModel):
    id_token: str = Field(min_length=20, max_length=8192, description="An ID token of the district's unified login")


@router.post("/oidc", response_model=TokenResponse,
             summary="Sign in with an ID token of the district's unified login (OpenID Connect)")
def oidc_login(ctx: Context, session: SessionDep, request: Request, body: OidcLogin) -> TokenResponse:
    from api.identity import OidcIdentityProvider

    if not isinstance(ctx.identity, OidcIdentityProvider):
        raise ProblemError(404, "this deployment signs people in with its development provider (/v1/auth/login)")
    # A signed ID token cannot be guessed: the per-address limit is enough, and a back-off keyed by address would
    # let three expired tokens from an office behind one NAT hold up everyone in it.
    ctx.auth_limiter.check(f"addr:{ctx.caller_address(request)}")
    principal = ctx.identity.authenticate_token(session, body.id_token)
    if principal is None:
        raise _refused("invalid-credentials", "the ID token is not one of the configured issuer's current tokens for "
                       "an enabled user")
    token, ttl = ctx.tokens.issue(principal)
    return TokenResponse(access_token=token, expires_in=ttl)
