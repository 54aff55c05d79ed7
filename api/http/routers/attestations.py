"""Attestations of kinds registered from schema files (issue 19): an official of the kind's department issues one
for a citizen or an enterprise, without code. The holder finds it among their certificates (PDF, QR code),
enterprises hear through their webhooks; `POST /v1/department/certificates/{number}/revoke` and the status routes
take it as any certificate."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from api.http.deps import Context, CurrentOfficial, SessionDep, signed_in_router
from zero_errand.verification import url_of

router = signed_in_router("/v1/department/attestations", "department", (401, 403, 404, 413, 422, 429, 503))

Value = Annotated[str, Field(max_length=200)] | int | bool


class AttestationRequest(BaseModel):
    kind: str = Field(
        pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=48, description="The kind's slug (its latest version)"
    )
    subject: str = Field(max_length=32, description="Citizen ID number or USCC, as the kind's schema says")
    fields: dict[Annotated[str, Field(max_length=48)], Value] = Field(
        max_length=16, description="Each field of the kind by name; values as text (dates YYYY-MM-DD, enums by key)"
    )


class AttestationOut(BaseModel):
    number: str
    kind: str = Field(description="`<slug>.v<version>`")
    department: str
    state: str
    digest: str
    issued_at: str
    expires_at: str
    content: dict[str, Any] = Field(description="The schema digest, the signed header and the QR fields' values")
    verify_url: str


@router.post("", status_code=201, response_model=AttestationOut, summary="Issue an attestation of a registered kind")
def issue(ctx: Context, session: SessionDep, me: CurrentOfficial, body: AttestationRequest) -> dict[str, Any]:
    """Check each field against the kind's schema (422 naming the field and the rule), sign with the department's
    key and store the attestation ISSUED; the anchor worker puts it on chain within the anchoring interval. Only an
    official of the kind's own department may (403); an unknown kind or subject is 404."""
    with session.begin():
        cert = ctx.require_certificates().attest(
            session,
            kind=body.kind,
            subject=body.subject,
            fields=dict(body.fields),
            actor=me.subject,
            role="official",
            department=me.department or "",
        )
        out = {
            "number": cert.number,
            "kind": cert.kind,
            "department": cert.department,
            "state": cert.state,
            "digest": cert.digest,
            "issued_at": cert.issued_at.isoformat(),
            "expires_at": cert.expires_at.isoformat(),
            "content": cert.content,
            "verify_url": url_of(cert, ctx.settings.public_url),
        }
    return out
