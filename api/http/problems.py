"""RFC 9457 problem details: one stable `type` per error, `application/problem+json` everywhere.

Every domain error is an `errors.ZelError`: `zel_error_handler` answers it from `PROBLEMS`, keyed by the error's
`code` (a precise code, else its category's), so routers call the services and let their errors propagate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from errors import ZelError

BASE = "urn:zel:problem:"
TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation", "Invalid request"),
    423: ("locked", "Locked"),
    429: ("rate-limited", "Too many requests"),
    500: ("internal", "Internal error"),
    503: ("unavailable", "Service unavailable"),
}
UNEXPECTED = "an unexpected error occurred; it has been logged"


@dataclass(frozen=True)
class ProblemKind:
    """How one error code is answered: its status, its problem type (default: the code) and extra headers."""

    status: int
    slug: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


# An error's `code` -> its answer. A code missing here is looked up by its category's code (the class's own
# `code` up its MRO); an error in no category here is unexpected: 500, logged, its message not shown. The
# "configuration" category is absent on purpose: how the deployment is set up is for the log, not the caller.
PROBLEMS: dict[str, ProblemKind] = {
    # the categories (errors/__init__.py)
    "invalid": ProblemKind(422, "validation"),  # the type request validation gives too
    "not-found": ProblemKind(404),
    "conflict": ProblemKind(409),
    "forbidden": ProblemKind(403),
    "unauthorized": ProblemKind(401, "invalid-token", {"WWW-Authenticate": 'Bearer error="invalid_token"'}),
    "unavailable": ProblemKind(503),
    # precise codes inside a category
    "idempotency-key-reused": ProblemKind(422),
    "no-records": ProblemKind(422),
    "pending-anchor": ProblemKind(409),
    "too-early": ProblemKind(409),
    "not-repairable": ProblemKind(409),
    "not-corrected": ProblemKind(422),  # a repair application without how the wrong was corrected
    "no-promise": ProblemKind(422),  # a repair application without the credit promise (信用承诺)
    # codes that error classes name for themselves (qr.decode's refusals, credit.codes_qr.CodeError,
    # zero_errand.webhooks.WebhookLimitError)
    "invalid-code": ProblemKind(422),
    "no-qr-code": ProblemKind(422),
    "unsupported-image": ProblemKind(415),
    "image-too-large": ProblemKind(413),
    "decoder-busy": ProblemKind(503, headers={"Retry-After": "5"}),
    "webhook-limit": ProblemKind(409),
}


class InvalidParam(BaseModel):
    name: str
    reason: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    invalid_params: list[InvalidParam] | None = None


class ProblemError(HTTPException):
    """Raise to answer with a problem document of a specific type."""

    def __init__(
        self,
        status: int,
        detail: str,
        slug: str | None = None,
        headers: dict[str, str] | None = None,
        invalid_params: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(status, detail, headers)
        self.slug = slug or TITLES.get(status, ("error", ""))[0]
        self.invalid_params = invalid_params


def problem_response(
    status: int,
    detail: str | None,
    request: Request,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    invalid: list[dict[str, str]] | None = None,
) -> JSONResponse:
    """The problem document for `status` (its type `slug`, default the status's own), as a response."""
    default_slug, title = TITLES.get(status, ("error", "Error"))
    body: dict[str, Any] = {
        "type": BASE + (slug or default_slug),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if invalid:
        body["invalid_params"] = invalid
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/problem+json")


def problem_kind(exc: ZelError) -> tuple[str, ProblemKind] | None:
    """The problem type and answer of `exc`: by its code, else by its category's; None when it is unexpected."""
    codes = [exc.code, *(vars(cls)["code"] for cls in type(exc).__mro__ if isinstance(vars(cls).get("code"), str))]
    for code in codes:
        if code in PROBLEMS:
            kind = PROBLEMS[code]
            return kind.slug or code, kind
    return None


async def zel_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Answer a domain error with its problem document, `field` as its invalid parameter. An unexpected one (in no
    category here, or the deployment's configuration) goes on to the unhandled-error path: 500, logged, its message
    never shown."""
    found = problem_kind(exc) if isinstance(exc, ZelError) else None
    if found is None or not isinstance(exc, ZelError):
        raise exc
    slug, kind = found
    invalid = [{"name": exc.field, "reason": exc.message}] if exc.field else None
    return problem_response(kind.status, exc.message, request, slug, dict(kind.headers) or None, invalid)


async def http_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    """Answer an HTTPException (ProblemError included) with its problem document."""
    assert isinstance(exc, StarletteHTTPException)
    slug = getattr(exc, "slug", None)
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(exc.status_code, detail, request, slug, headers, getattr(exc, "invalid_params", None))


async def validation_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    """Answer a request that fails validation: 422 with every invalid parameter."""
    assert isinstance(exc, RequestValidationError)
    invalid = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        invalid.append({"name": ".".join(loc) or "body", "reason": err.get("msg", "invalid")})
    detail = "; ".join(f"{i['name']}: {i['reason']}" for i in invalid)
    return problem_response(422, detail, request, "validation", invalid=invalid)


async def unhandled_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    """Answer any other error with a bare 500: what went wrong is for the log, not the caller."""
    return problem_response(500, UNEXPECTED, request)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given problem statuses."""
    return {
        s: {"model": Problem, "description": TITLES[s][1], "content": {"application/problem+json": {}}}
        for s in statuses
    }
