"""`/v1/auth`: OAuth2 client credentials for enterprise API clients; sign-in for people.

The token endpoint speaks RFC 6749 as stock OAuth2 clients expect: the client authenticates with HTTP Basic
(`client_secret_basic`, id and secret form-urlencoded first, §2.3.1) or in the form body (`client_secret_post`),
and refusals are §5.2 error responses (`{"error", "error_description"}`, which also carry this API's problem fields).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.context import AppContext
from api.http.deps import Context, SessionDep, SessionRoute
from api.http.problems import BASE, ProblemError, problem_responses
from api.passwords import PasswordCheckBusy
from api.security import Principal, authenticate_client

# Sign-in refusals cost the same whether the account exists, is disabled or had a wrong password (one scrypt
# check each, api.passwords); failures back off per account and address (api.http.throttle), never lock an account.
router = APIRouter(
    route_class=SessionRoute,
    prefix="/v1/auth",
    tags=["auth"],
    responses=problem_responses(401, 404, 413, 422, 429, 503),
)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")


class OAuthErrorOut(BaseModel):
    """An RFC 6749 §5.2 error response, with this API's problem fields beside it."""

    error: Literal[
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    ]
    error_description: str
    type: str
    title: str
    status: int
    detail: str


NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1: tokens and refusals are not cached
CLIENT_ID_MAX, CLIENT_SECRET_MAX = 64, 200
OAUTH_TITLES = {
    "invalid_request": "Invalid token request",
    "invalid_client": "Client authentication failed",
    "unsupported_grant_type": "Unsupported grant type",
    "invalid_scope": "Invalid scope",
}


class OAuthError(Exception):
    """A refusal of the token endpoint, answered as RFC 6749 §5.2 says."""

    def __init__(self, error: str, description: str, *, basic: bool = False) -> None:
        super().__init__(description)
        self.error, self.description = error, description
        self.status = 401 if error == "invalid_client" else 400
        self.basic = basic

    def response(self) -> JSONResponse:
        headers = dict(NO_STORE)
        if self.status == 401:  # a 401 names its scheme; the client that used Basic is told Basic (§5.2)
            headers["WWW-Authenticate"] = 'Basic realm="zel", charset="UTF-8"'
        body = {
            "error": self.error,
            "error_description": self.description,
            "type": BASE + self.error.replace("_", "-"),
            "title": OAUTH_TITLES[self.error],
            "status": self.status,
            "detail": self.description,
        }
        return JSONResponse(body, status_code=self.status, headers=headers)


OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": OAuthErrorOut,
        "description": "RFC 6749 §5.2: invalid_request, unsupported_grant_type or invalid_scope",
    },
    401: {
        "model": OAuthErrorOut,
        "description": "RFC 6749 §5.2: invalid_client (unknown client, wrong secret, "
        "disabled client or no client authentication)",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Basic"}},
    },
}


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """The client id and secret of an `Authorization: Basic` header (each form-urlencoded, RFC 6749 §2.3.1), or
    None when the request has no Basic credentials."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError(
            "invalid_client", "the Basic credentials are not base64 of UTF-8 `id:secret`", basic=True
        ) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError("invalid_client", "the Basic credentials must be `client_id:client_secret`", basic=True)
    return unquote_plus(client_id), unquote_plus(secret)


def _client_credentials(request: Request, client_id: str | None, client_secret: str | None) -> tuple[str, str, bool]:
    """(client id, secret, whether Basic was used): from the Basic header or the form, never both (§2.3)."""
    basic = _basic_credentials(request)
    if basic is not None:
        if client_secret is not None or (client_id is not None and client_id != basic[0]):
            raise OAuthError(
                "invalid_request",
                "authenticate the client one way: HTTP Basic or client_id and client_secret in the body, not both",
                basic=True,
            )
        client_id, client_secret = basic
    elif client_id is None or client_secret is None:
        raise OAuthError(
            "invalid_client",
            "authenticate the client: HTTP Basic (client_secret_basic), or client_id "
            "and client_secret in the body (client_secret_post)",
        )
    if not client_id or not client_secret or len(client_id) > CLIENT_ID_MAX or len(client_secret) > CLIENT_SECRET_MAX:
        raise OAuthError("invalid_client", "unknown client, wrong secret or disabled client", basic=basic is not None)
    return client_id, client_secret, basic is not None


class Login(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


def _signed_in(
    ctx: AppContext,
    session: Session,
    request: Request,
    account: str,
    check: Callable[[], Principal | None],
    refusal: Exception,
) -> TokenResponse:
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


@router.post(
    "/token",
    response_model=TokenResponse,
    responses=OAUTH_ERRORS,
    summary="OAuth2 client-credentials token (enterprise API)",
)
def client_token(
    ctx: Context,
    session: SessionDep,
    request: Request,
    response: Response,
    grant_type: Annotated[str | None, Form(description="`client_credentials`")] = None,
    client_id: Annotated[str | None, Form(description="With client_secret_post; omit with HTTP Basic")] = None,
    client_secret: Annotated[str | None, Form(description="With client_secret_post; omit with HTTP Basic")] = None,
    scope: Annotated[str | None, Form(description="Leave out: a token carries its enterprise's rights")] = None,
) -> Any:
    """Issue an enterprise API client a bearer token (OAuth 2.0 client credentials grant, RFC 6749 §4.4).

    The client authenticates with HTTP Basic (`client_secret_basic`: `client_id:client_secret`, each
    form-urlencoded, then base64) or with `client_id` and `client_secret` in the form body (`client_secret_post`),
    not both. Refusals are RFC 6749 §5.2 error responses: 400 `invalid_request`, `unsupported_grant_type` or
    `invalid_scope`; 401 `invalid_client` with a `WWW-Authenticate: Basic` challenge. Neither tokens nor refusals
    may be cached. Sign-in attempts are limited per address (429) and back off per client and address; 503 with
    `Retry-After` when too many secret checks run at once.
    """
    try:
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is required (client_credentials)")
        if grant_type != "client_credentials":
            raise OAuthError(
                "unsupported_grant_type",
                f"grant_type {grant_type[:40]!r} is not supported here: use client_credentials",
            )
        if scope and scope.strip():
            raise OAuthError(
                "invalid_scope",
                "this server grants no scopes: a token carries its enterprise's rights; leave scope out",
            )
        cid, secret, basic = _client_credentials(request, client_id, client_secret)
        token = _signed_in(
            ctx,
            session,
            request,
            f"client:{cid}",
            lambda: authenticate_client(session, cid, secret),
            OAuthError("invalid_client", "unknown client, wrong secret or disabled client", basic=basic),
        )
    except OAuthError as exc:
        return exc.response()
    response.headers.update(NO_STORE)
    return token


@router.post("/login", response_model=TokenResponse, summary="Sign in a citizen, inspector, official or admin")
def login(ctx: Context, session: SessionDep, request: Request, body: Login) -> TokenResponse:
    """Sign a person in with the development identity provider's username and password; returns a bearer token.

    Attempts are limited per address (429) and back off per account and address, never locking an account; every
    refusal costs one password check whether or not the account exists. 404 where people sign in through the
    district's unified login instead (`POST /v1/auth/oidc`).
    """
    if getattr(ctx.identity, "name", "") == "oidc":
        raise ProblemError(404, "people sign in through the district's unified login here (POST /v1/auth/oidc)")
    return _signed_in(
        ctx,
        session,
        request,
        f"user:{body.username}",
        lambda: ctx.identity.authenticate(session, body.username, body.password),
        _refused("invalid-credentials", "wrong username or password, or the account is disabled"),
    )


class OidcLogin(BaseModel):
    id_token: str = Field(min_length=20, max_length=8192, description="An ID token of the district's unified login")


@router.post(
    "/oidc",
    response_model=TokenResponse,
    summary="Sign in with an ID token of the district's unified login (OpenID Connect)",
)
def oidc_login(ctx: Context, session: SessionDep, request: Request, body: OidcLogin) -> TokenResponse:
    """Exchange an ID token of the district's unified login (OpenID Connect) for this API's bearer token.

    The ID token must be current, issued by the configured issuer for this audience, and name an enabled user;
    attempts are limited per address. 404 where the deployment signs people in with its development provider.
    """
    from api.http.identity import OidcIdentityProvider

    if not isinstance(ctx.identity, OidcIdentityProvider):
        raise ProblemError(404, "this deployment signs people in with its development provider (/v1/auth/login)")
    # A signed ID token cannot be guessed: the per-address limit is enough, and a back-off keyed by address would
    # let three expired tokens from an office behind one NAT hold up everyone in it.
    ctx.auth_limiter.check(f"addr:{ctx.caller_address(request)}")
    principal = ctx.identity.authenticate_token(session, body.id_token)
    if principal is None:
        raise _refused(
            "invalid-credentials",
            "the ID token is not one of the configured issuer's current tokens for an enabled user",
        )
    token, ttl = ctx.tokens.issue(principal)
    return TokenResponse(access_token=token, expires_in=ttl)
