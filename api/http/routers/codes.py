"""`/v1/credit/code`: anyone checks a USCC or a citizen ID number."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.http.deps import SessionRoute
from identifiers import validate

router = APIRouter(route_class=SessionRoute, prefix="/v1/credit/code", tags=["public"])


class CodeOut(BaseModel):
    valid: bool
    kind: Literal["citizen_id", "uscc"] | None
    normalized: str
    error: str | None
    position: int | None
    expected: str | None


@router.get("/{code}", response_model=CodeOut, summary="Validate and normalize a USCC or citizen ID number")
def check_code(
    code: Annotated[str, Path(max_length=64)], kind: Annotated[Literal["citizen_id", "uscc"] | None, Query()] = None
) -> dict:
    """Check a unified social credit code (GB 32100-2015) or a citizen ID number (GB 11643-1999), after normalizing
    it (spaces, lower case, full-width characters). An invalid code says why, at which position and, for a wrong
    check character, which was expected. `kind` forces one of the two."""
    return validate(code, kind).as_dict()
