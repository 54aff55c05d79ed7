"""`/v1/verify`: anyone checks a certificate; the status route reveals nothing but the status."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.context import AppContext
from api.http.deps import Context, Expensive, SessionDep, SessionRoute
from api.http.problems import ProblemError, problem_responses
from identifiers import validate
from qr.decode import DECODER
from qr.verify import verify_text
from zero_errand.verification import HOLDER_GUESSES, HolderCheckLocked, LedgerResolver, holder_matches

router = APIRouter(
    route_class=SessionRoute, prefix="/v1/verify", tags=["public"], responses=problem_responses(413, 422, 429, 503)
)
Digest = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$", description="EIP-712 digest of the certificate")]
MAX_IMAGE = 8 * 1024 * 1024


class StatusOut(BaseModel):
    status: Literal["anchored", "pending", "revoked", "suspended", "unknown", "foreign-anchor"] = Field(
        description="`foreign-anchor`: the batch holding the digest was anchored by another department than the "
        "one given (or the stored certificate's)"
    )
    reason: int | None = Field(
        None,
        description="For `revoked` and `suspended`: the reason code the department gave "
        "(1 issued in error, 2 data corrected, 3 obtained by fraud, 4 under investigation, "
        "5 subject request, 9 other)",
    )


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


class HolderIn(BaseModel):
    digest: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$", description="EIP-712 digest of the certificate")
    identifier: str = Field(min_length=1, max_length=64, description="The holder's citizen ID number or USCC")


class HolderOut(BaseModel):
    match: bool


class KeyOut(BaseModel):
    address: str
    department: str
    kinds: int = Field(description="Bit mask of on-chain kinds the key may sign (bit 0 tax, bit 1 social insurance)")
    valid_from: int
    revoked_at: int
    suite: Literal["secp256k1", "sm2"] = Field(
        "secp256k1", description="secp256k1 (EIP-712 certificates, recovered from the signature) or sm2 (GB/T 32918)"
    )
    public_key: str | None = Field(
        None,
        pattern=r"^0x[0-9a-f]{128}$",
        description="An SM2 key's public key X || Y; its address is the last 20 bytes of keccak256('SM2' || X || Y), "
        "and a payload names it by the address's first 4 bytes",
    )


class DepartmentOut(BaseModel):
    id: str
    name: str
    admitted_at: int
    retired_at: int


class KindOut(BaseModel):
    index: int = Field(description="The kind's number in IssuerRegistry's schema registry")
    digest: str = Field(description="keccak-256 of the schema file's canonical JSON, as registered on chain")
    department: str
    schema_: dict[str, Any] = Field(
        alias="schema", description="The kind's schema file: title, fields and their labels in Chinese and English"
    )

    model_config = ConfigDict(populate_by_name=True)


class KeyListOut(BaseModel):
    issued_at: str
    chain_id: int
    verifying_contract: str
    issuer_registry: str
    departments: list[DepartmentOut]
    keys: list[KeyOut]
    kinds: list[KindOut] = Field(description="Kinds registered from schema files (issue 19), on chain and here")


def _resolver(ctx: AppContext) -> LedgerResolver:
    return LedgerResolver(ctx.sessions, ctx.require_ledger(), ctx.key_lists())


@router.get(
    "/status/{digest}",
    response_model=StatusOut,
    response_model_exclude_none=True,
    summary="A certificate's status, by digest only",
)
async def status(
    ctx: Context,
    digest: Digest,
    department: Annotated[
        str | None,
        Query(
            max_length=32,
            pattern=r"^[a-z0-9.]+$",
            description="The department the certificate names (e.g. tax.440604): "
            "its batch must have been anchored by that department",
        ),
    ] = None,
) -> StatusOut:
    """The status of the certificate with this EIP-712 digest, and nothing else about it: anchored, pending (issued,
    not yet anchored), revoked, suspended or unknown. With `department`, `foreign-anchor` says the digest's batch
    was anchored by another department. What the verify page asks after checking a signature."""
    # One indexed store lookup and an in-memory status (~1 ms): answered on the event loop, because under
    # load a thread hop per request costs more than the work and the threads fight over the GIL.
    resolver = _resolver(ctx)
    state = resolver.state(digest.lower(), department)
    if state == "offline":  # an offline resolver's answer; the ledger's always knows
        raise AssertionError("the ledger resolver answered offline")
    reason = resolver.reason(digest.lower()) if state in ("revoked", "suspended") else None
    return StatusOut(status=state, reason=reason)


@router.post(
    "",
    response_model=VerdictOut,
    summary="Verify a payload, a verify URL, or a photo of the QR code",
    dependencies=[Expensive],
    responses=problem_responses(415),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": VerifyIn.model_json_schema()},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                "image/webp": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def verify(ctx: Context, request: Request) -> dict[str, Any]:
    """Verify a certificate from its QR code's content: JSON `{"text": ...}` with a verify URL, its `#fragment` or
    the payload digits, or a PNG, JPEG or WebP photo of the QR code (8 MiB at most, decoded in a bounded pool). The
    verdict lists every check (signature, key authorized for the kind and date, anchored, status, validity) in
    Chinese and English. Rate-limited."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if kind.startswith("image/"):
        text = await _read_image(body)
    elif kind == "application/json":
        try:
            text = VerifyIn.model_validate_json(body).text
        except ValueError as exc:
            raise ProblemError(
                422,
                'send {"text": "<verify URL or payload>"}',
                "validation",
                invalid_params=[{"name": "text", "reason": "required, 1 to 4000 characters"}],
            ) from exc
    else:
        raise ProblemError(422, 'send JSON {"text": ...} or an image/png, image/jpeg or image/webp body', "validation")
    if not re.fullmatch(r"[\x20-\x7e]+", text.strip() or "?"):
        raise ProblemError(422, "the text is not a verify URL or payload", "validation")
    return verify_text(text, _resolver(ctx)).as_dict()


async def _read_image(body: bytes) -> str:
    """The QR text of an uploaded image, decoded in qr.decode's bounded pool (never on the event loop)."""
    if len(body) > MAX_IMAGE:
        raise ProblemError(413, "images are limited to 8 MiB")
    # The decoder's refusals (qr.decode.NoQrCode and its kinds) carry their own codes: an unsupported type (415),
    # too many pixels (413), a full pool to retry (503), no code found (422), answered by the one handler.
    return await DECODER.read(body)


@router.get(
    "/keys",
    response_model=KeyListOut,
    summary="Department keys, kinds and validity windows (the EIP-712 "
    "domain too): what the verify page checks a signature against",
)
def keys(ctx: Context) -> dict[str, Any]:
    """The key list a verifier needs offline: every department, every signing key with the kinds it may sign and its
    validity window, and the EIP-712 domain (chain id, verifying contract), as read from IssuerRegistry."""
    return ctx.key_lists().get()


@router.post(
    "/holder",
    response_model=HolderOut,
    dependencies=[Expensive],
    summary="Was this certificate issued to this ID number or USCC? (one bit per guess, rate-limited)",
    description=f"Rate-limited per caller, and per certificate for good: after {HOLDER_GUESSES} wrong "
    "guesses (from anyone) the check is locked and answers 423 to every guess, right or wrong; "
    "the holder sees the count and the lock in their account. A right guess is not counted.",
    responses=problem_responses(404, 423),
)
def holder(ctx: Context, session: SessionDep, body: HolderIn) -> HolderOut:
    checked = validate(body.identifier)
    if not checked.valid:
        where = f" (position {checked.position})" if checked.position else ""
        reason = (checked.error or "not a valid ID number or USCC") + where
        raise ProblemError(422, reason, "validation", invalid_params=[{"name": "identifier", "reason": reason}])
    try:
        with session.begin():  # commits the wrong-guess count
            match = holder_matches(session, ctx.pii, body.digest, checked.kind or "", checked.normalized)
    except HolderCheckLocked as exc:
        raise ProblemError(
            423,
            f"this certificate's holder check is locked after {HOLDER_GUESSES} wrong guesses; "
            "check the holder's own ID document instead",
            "holder-check-locked",
        ) from exc
    if match is None:
        raise ProblemError(404, "no certificate has this digest")
    return HolderOut(match=match)
