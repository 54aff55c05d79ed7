"""`/v1/verify`: anyone checks a certificate; the status route reveals nothing but the status."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from api.deps import Context, Expensive
from api.problems import ProblemError, problem_responses
from qr.decode import NoQrCode, read_image
from qr.verify import verify_text
from zero_errand.verification import LedgerResolver

router = APIRouter(prefix="/v1/verify", tags=["verify"], responses=problem_responses(413, 422, 429, 503))
Digest = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="EIP-712 digest of the certificate")]
MAX_IMAGE = 8 * 1024 * 1024


class StatusOut(BaseModel):
    status: Literal["anchored", "pending", "revoked", "suspended", "unknown"]


class VerifyIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000, description="A verify URL, a #fragment or payload digits")


class CheckOut(BaseModel):
    name: str
    ok: bool | None
    zh: str
    en: str


class VerdictOut(BaseModel):
    status: Literal["VALID", "INVALID", "UNTRUSTED_ISSUER", "REVOKED", "SUSPENDED", "EXPIRED", "PENDING_ANCHOR"]
    checks: list[CheckOut]
    certificate: dict[str, Any] | None
    digest: str | None
    signer: str | None


def _resolver(ctx: Any) -> LedgerResolver:
    if ctx.ledger is None:
        raise ProblemError(503, "verification is unavailable: the chain is not open")
    return LedgerResolver(ctx.sessions, ctx.ledger)


@router.get("/status/{digest}", response_model=StatusOut, summary="A certificate's status, by digest only")
def status(ctx: Context, digest: Digest) -> StatusOut:
    return StatusOut(status=_resolver(ctx).state(digest.lower()))


@router.post("", response_model=VerdictOut, summary="Verify a payload, a verify URL, or a photo of the QR code",
             dependencies=[Expensive],
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": VerifyIn.model_json_schema()},
                 "image/png": {"schema": {"type": "string", "format": "binary"}},
                 "image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}})
async def verify(ctx: Context, request: Request) -> dict[str, Any]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if kind.startswith("image/"):
        if len(body) > MAX_IMAGE:
            raise ProblemError(413, "images are limited to 8 MiB")
        try:
            text = read_image(body)
        except NoQrCode as exc:
            raise ProblemError(422, str(exc), "no-qr-code") from exc
    elif kind == "application/json":
        try:
            text = VerifyIn.model_validate_json(body).text
        except ValueError as exc:
            raise ProblemError(422, "send {\"text\": \"<verify URL or payload>\"}", "validation",
                               invalid_params=[{"name": "text", "reason": "required, 1 to 4000 characters"}]) from exc
    else:
        raise ProblemError(422, "send JSON {\"text\": ...} or an image/png or image/jpeg body", "validation")
    if not re.fullmatch(r"[\x20-\x7e]+", text.strip() or "?"):
        raise ProblemError(422, "the text is not a verify URL or payload", "validation")
    return verify_text(text, _resolver(ctx)).as_dict()
