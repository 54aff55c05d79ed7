"""The API's own documentation: tags by audience, the webhooks the service sends, and Swagger UI served from this
package (`api/http/pages/static/docs/`, copied from npm `swagger-ui-dist` by `npm run build:web`), so `/docs` works with
no outside host. ReDoc is not served: it would be a second bundle with a weaker policy for the same document.

`swagger_page` is also what api/http/headers.py hashes for the docs' Content-Security-Policy: the page's inline
bootstrap script is allowed by exactly its hash, never `unsafe-inline`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Header, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from zero_errand.certificates import REASONS, CertKind
from zero_errand.webhooks import BASE_DELAY, MAX_ATTEMPTS, MAX_DELAY

OPENAPI_URL, DOCS_URL, OAUTH2_REDIRECT_URL = "/openapi.json", "/docs", "/docs/oauth2-redirect"
ASSETS = "/static/docs"  # swagger-ui-bundle.js, swagger-ui.css, favicon-32x32.png (and their licence)
TITLE = "ZeroErrand Ledger API"

DESCRIPTION = """Zero-errand certificates and enterprise credit on a permissioned ledger (零跑腿信用账本).

Sign in at `/v1/auth` (enterprises: OAuth2 client credentials; people: password or OIDC) and send the token as
`Authorization: Bearer …`. Errors are RFC 9457 problem documents (`application/problem+json`) with a stable `type`
such as `urn:zel:problem:forbidden`. Operations are grouped by who calls them; the **Webhooks** section lists the
events the service POSTs to an enterprise's endpoints, signed as described there (see also `docs/webhooks.md`)."""

TAGS = [
    {
        "name": "public",
        "description": "Anyone, without signing in: verify a certificate (a payload, a verify URL or "
        "a photo of its QR code; its status by digest), the department keys a signature is checked against, whether a "
        "certificate was issued to an identifier; an enterprise's public profile and credit standing, whether its one "
        "code (一企一码) is genuine, published double random draws (双随机), and USCC / citizen ID number checks.",
    },
    {"name": "citizen", "description": "Signed-in citizens (市民): their profile and their own certificates."},
    {
        "name": "enterprise",
        "description": "Enterprises (企业), signed in with OAuth2 client credentials: their "
        "registration, certificates, credit standing, one code, credit reports, repair applications and webhooks. "
        "An enterprise reads only its own data.",
    },
    {
        "name": "department",
        "description": "Department officials (部门经办人): revoke, suspend and reinstate their "
        "department's certificates; write credit records and red / black list entries of the kinds their department "
        "owns, decide repair applications, read standings and (market supervision) run double random draws.",
    },
    {
        "name": "inspector",
        "description": "Inspectors (检查员): scan an enterprise's one code, read its standing and "
        "record inspections (one record per visit, however many departments take part).",
    },
    {
        "name": "admin",
        "description": "The district data office (数据局): users, enterprise API clients and the "
        "hash-chained audit log.",
    },
    {
        "name": "auth",
        "description": "Sign-in: OAuth2 client credentials for enterprises, password or OIDC sign-in "
        "for people. Every answer is a short-lived bearer token; sign-in is rate-limited and backs off.",
    },
    {
        "name": "operations",
        "description": "For operators and their monitoring: liveness, readiness (the store and "
        "the chain) and Prometheus metrics. Production may close `/metrics` (`ZEL_METRICS_ENABLED=false`).",
    },
]

# Webhooks -------------------------------------------------------------------------------------------------------

ENTERPRISE_KINDS = tuple(k.slug for k in CertKind if k.for_enterprise)  # an event goes to enterprises only
EVENT_DOCS = {  # event: (summary, description); a test checks these are every event the service emits
    "certificate.issued": (
        "A certificate was issued",
        "A certificate was issued to the enterprise (state `ISSUED`; "
        "anchored on chain shortly after, when its status reads `anchored`).",
    ),
    "certificate.revoked": (
        "A certificate was revoked",
        "The issuing department revoked one of the enterprise's certificates (state `REVOKED`, permanent).",
    ),
    "certificate.suspended": (
        "A certificate was suspended",
        "The issuing department suspended one of the enterprise's certificates (state `SUSPENDED`).",
    ),
    "certificate.reinstated": (
        "A certificate was reinstated",
        "The issuing department reinstated a suspended certificate (state `ANCHORED` again).",
    ),
}
BACKOFF = (
    f"{int(BASE_DELAY.total_seconds())} s after the first attempt, doubling, at most "
    f"{int(MAX_DELAY.total_seconds()) // 3600} h apart, {MAX_ATTEMPTS} attempts in all"
)
SIGNING = f"""Each delivery is a `POST` of the JSON body below (`Content-Type: application/json`) with the headers
`X-Zel-Event`, `X-Zel-Delivery` and `X-Zel-Signature: t=<unix seconds>,v1=<hex>`, where
`v1 = HMAC-SHA256(secret, "<t>." + raw body)` and the secret is the webhook's (`whsec_…`, shown once when it is
registered). Check the signature over the raw bytes before parsing them, compare in constant time, and refuse a `t`
more than five minutes from your clock (a replay). `docs/webhooks.md` has ten-line verifiers in Python and Node.

Answer any 2xx within 5 seconds. Anything else (another status, a redirect, no connection, a timeout) is retried
with exponential backoff: {BACKOFF}; then the delivery is `FAILED`. A delivery may arrive twice (a retry after a lost
answer): `X-Zel-Delivery` is the same on each of its attempts, `t` and the signature are new. The enterprise reads
every delivery's attempts in `GET /v1/enterprise/webhooks/{{webhook_id}}/deliveries`."""


class CertificateInEvent(BaseModel):
    """The certificate an event is about: fetch the rest with `GET /v1/enterprise/certificates/{number}`."""

    number: str = Field(description="The certificate number")
    kind: Literal[ENTERPRISE_KINDS] = Field(description="The certificate kind")  # type: ignore[valid-type]
    state: Literal["ISSUED", "ANCHORED", "REVOKED", "SUSPENDED"] = Field(description="Its state after the event")
    digest: str = Field(pattern=r"^0x[0-9a-f]{64}$", description="EIP-712 digest (`/v1/verify/status/{digest}`)")
    issued_at: datetime


class ReasonInEvent(BaseModel):
    code: int = Field(
        description="The reason code sent on chain: " + ", ".join(f"{code} {text}" for code, text in REASONS.items())
    )
    text: str = Field(description="The reason in English")
    text_zh: str = Field(description="The reason in Chinese (简体中文)")


class CertificateEvent(BaseModel):
    """The body of every webhook delivery (`zero_errand.webhooks.certificate_event`)."""

    event: Literal[tuple(EVENT_DOCS)] = Field(description="The event, as in `X-Zel-Event`")  # type: ignore[valid-type]
    occurred_at: datetime = Field(description="When the change was made (UTC, ISO 8601)")
    certificate: CertificateInEvent
    reason: ReasonInEvent | None = Field(
        None, description="Only on `certificate.revoked` and `certificate.suspended`: why the department did it"
    )


webhooks = APIRouter(tags=["enterprise"])
Signature = Annotated[
    str,
    Header(
        alias="X-Zel-Signature",
        pattern=r"^t=\d+,v1=[0-9a-f]{64}$",
        description='`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`',
    ),
]
EventHeader = Annotated[str, Header(alias="X-Zel-Event", description="The event name, as in the body")]
Delivery = Annotated[str, Header(alias="X-Zel-Delivery", description="The delivery id; the same on every retry")]


def _declare(event: str) -> None:
    def receive(
        body: CertificateEvent, x_zel_signature: Signature, x_zel_event: EventHeader, x_zel_delivery: Delivery
    ) -> None:
        """Declared for the OpenAPI document only: the enterprise's endpoint receives this."""

    summary, description = EVENT_DOCS[event]
    webhooks.post(
        event,
        summary=summary,
        description=f"{description}\n\n{SIGNING}",
        status_code=204,
        operation_id=event.replace(".", "_"),
        responses={
            204: {"description": "Any 2xx acknowledges the delivery"},
            500: {"description": "Anything but 2xx (or no answer in 5 s) is retried with backoff"},
        },
    )(receive)


for _event in EVENT_DOCS:
    _declare(_event)


# Swagger UI, self-hosted ----------------------------------------------------------------------------------------


def swagger_page(root_path: str = "") -> HTMLResponse:
    """Swagger UI for the API under `root_path`, loading its bundle, style and icon from this package only (and no
    online validator badge)."""
    return get_swagger_ui_html(
        openapi_url=root_path + OPENAPI_URL,
        title=f"{TITLE} - Swagger UI",
        swagger_js_url=f"{root_path}{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root_path}{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{root_path}{ASSETS}/favicon-32x32.png",
        oauth2_redirect_url=root_path + OAUTH2_REDIRECT_URL,
        swagger_ui_parameters={"validatorUrl": None},
    )


def oauth2_redirect_page() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


def add_docs(app: FastAPI) -> None:
    """Serve `/docs` (and its OAuth2 redirect) from the package's own assets; the app is made with `docs_url=None`
    and `redoc_url=None`, as in FastAPI's "Custom Docs UI Static Assets (Self-Hosting)"."""

    @app.get(DOCS_URL, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        return swagger_page(request.scope.get("root_path", "").rstrip("/"))

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return oauth2_redirect_page()
