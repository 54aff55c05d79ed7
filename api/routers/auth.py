"""`/v1/auth`: OAuth2 client credentials for enterprise API clients; sign-in for people."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel, Field

from api.deps import Context, SessionDep, SessionRoute
from api.problems import ProblemError, problem_responses
from api.security import authenticate_client

router = APIRouter(route_class=SessionRoute,
                   prefix="/v1/auth", tags=["auth"], responses=problem_responses(401, 413, 422, 429))


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/token", response_model=TokenResponse, summary="OAuth2 client-credentials token (enterprise API)")
def client_token(
    ctx: Context,
    session: SessionDep,
    request: Request,
    grant_type: Annotated[Literal["client_credentials"], Form()],
    client_id: Annotated[str, Form(min_length=1, max_length=64)],
    client_secret: Annotated[str, Form(min_length=1, max_length=200)],
) -> TokenResponse:
    ctx.auth_limiter.check(f"client:{client_id}")
    ctx.auth_limiter.check(f"addr:{_client_address(request)}")
    principal = authenticate_client(session, client_id, client_secret)
    if principal is None:
        raise ProblemError(401, "unknown client, wrong secret or disabled client", "invalid-client",
                           headers={"WWW-Authenticate": "Bearer"})
    token, ttl = ctx.tokens.issue(principal)
    return TokenResponse(access_token=token, expires_in=ttl)


@router.post("/login", response_model=TokenResponse, summary="Sign in a citizen, inspector, official or admin")
def login(ctx: Context, session: SessionDep, request: Request, body: Login) -> TokenResponse:
    ctx.auth_limiter.check(f"user:{body.username}")
    ctx.auth_limiter.check(f"addr:{_client_address(request)}")
    principal = ctx.identity.authenticate(session, body.username, body.password)
    if principal is None:
        raise ProblemError(401, "wrong username or password, or the account is disabled", "invalid-credentials",
                           headers={"WWW-Authenticate": "Bearer"})
    token, ttl = ctx.tokens.issue(principal)
    return TokenResponse(access_token=token, expires_in=ttl)
