"""RFC 9457 problem details: one stable `type` per error, `application/problem+json` everywhere."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

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

    def __init__(self, status: int, detail: str, slug: str | None = None, headers: dict[str, str] | None = None,
                 invalid_params: list[dict[str, str]] | None = None) -> None:
        super().__init__(status, detail, headers)
        self.slug = slug or TITLES.get(status, ("error", ""))[0]
        self.invalid_params = invalid_params


def problem_response(status: int, detail: str | None, request: Request, slug: str | None = None,
                     headers: dict[str, str] | None = None, invalid: list[dict[str, str]] | None = None) -> JSONResponse:
    default_slug, title = TITLES.get(status, ("error", "Error"))
    body: dict[str, Any] = {"type": BASE + (slug or default_slug), "title": title, "status": status,
                            "detail": detail, "instance": request.url.path}
    if invalid:
        body["invalid_params"] = invalid
    return JSONResponse(body, status_code=status, headers=headers, media_type="application/problem+json")


async def http_exception_handler(request: Request, exc: HTTPException) -> JSONResponse:
    slug = getattr(exc, "slug", None)
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(exc.status_code, detail, request, slug, exc.headers, getattr(exc, "invalid_params", None))


async def validation_exception_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    invalid = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        invalid.append({"name": ".".join(loc) or "body", "reason": err.get("msg", "invalid")})
    detail = "; ".join(f"{i['name']}: {i['reason']}" for i in invalid)
    return problem_response(422, detail, request, "validation", invalid=invalid)


async def unhandled_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(500, "an unexpected error occurred; it has been logged", request)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given problem statuses."""
    return {
        s: {"model": Problem, "description": TITLES[s][1], "content": {"application/problem+json": {}}}
        for s in statuses
    }
