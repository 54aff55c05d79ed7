"""`/v1/enterprise/webhooks`: an enterprise's endpoints for certificate events, and their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.http.deps import Context, CurrentEnterprise, SessionDep, SessionRoute, current_principal
from api.http.problems import ProblemError, problem_responses
from store.models import Webhook, WebhookDelivery
from zero_errand.webhooks import MAX_HOOKS, register

router = APIRouter(
    route_class=SessionRoute,
    prefix="/v1/enterprise/webhooks",
    tags=["enterprise"],
    responses=problem_responses(401, 403, 404, 409, 413, 422, 429),
    dependencies=[Depends(current_principal)],
)
WebhookId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Event = Literal["certificate.issued", "certificate.revoked", "certificate.suspended", "certificate.reinstated"]


class WebhookIn(BaseModel):
    url: str = Field(min_length=8, max_length=500, description="https:// endpoint")
    events: list[Event] = Field(min_length=1, max_length=4)


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="Shown once: verify X-Zel-Signature with it")


class DeliveryOut(BaseModel):
    id: int
    event: str
    state: Literal["PENDING", "DELIVERED", "FAILED"]
    attempts: int
    last_status: int | None
    last_error: str | None = Field(
        description='Why the last attempt failed, e.g. "connection failed", '
        '"timed out", "HTTP 500", "destination refused"'
    )
    next_attempt_at: datetime
    delivered_at: datetime | None
    created_at: datetime


def _own(session: Any, uscc: str | None, webhook_id: int) -> Webhook:
    hook = session.get(Webhook, webhook_id)
    if hook is None or hook.uscc != uscc or not hook.active:
        raise ProblemError(404, f"no webhook {webhook_id} of yours")
    return hook


def _out(hook: Webhook) -> dict[str, Any]:
    return {"id": hook.id, "url": hook.url, "events": hook.events, "active": hook.active, "created_at": hook.created_at}


@router.post(
    "",
    response_model=WebhookCreated,
    status_code=201,
    summary="Register a webhook",
    description=f"An https URL whose host resolves to public addresses only; at most {MAX_HOOKS} per "
    "enterprise (409 beyond).",
)
def create(ctx: Context, session: SessionDep, me: CurrentEnterprise, body: WebhookIn) -> dict[str, Any]:
    with session.begin():  # a WebhookLimitError ("webhook-limit", 409) past MAX_HOOKS
        hook = register(
            session, me.uscc or "", body.url, list(body.events), allow_loopback=ctx.settings.mode != "production"
        )
    return {**_out(hook), "secret": hook.secret}


@router.get("", response_model=list[WebhookOut], summary="Our webhooks")
def list_hooks(session: SessionDep, me: CurrentEnterprise) -> list[dict[str, Any]]:
    """The enterprise's active webhooks: URL, events and registration time (the secret is never shown again)."""
    return [_out(h) for h in session.scalars(select(Webhook).where(Webhook.uscc == me.uscc, Webhook.active.is_(True)))]


@router.delete("/{webhook_id}", status_code=204, response_class=Response, summary="Remove a webhook")
def delete(session: SessionDep, me: CurrentEnterprise, webhook_id: WebhookId) -> Response:
    """Remove one of the enterprise's webhooks: nothing more is delivered to it. 404 for another's webhook."""
    with session.begin():
        _own(session, me.uscc, webhook_id).active = False
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryOut], summary="A webhook's delivery log")
def deliveries(
    session: SessionDep, me: CurrentEnterprise, webhook_id: WebhookId, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[WebhookDelivery]:
    """A webhook's deliveries, newest first: event, state (PENDING, DELIVERED, FAILED), attempts, the last status
    and a generic reason for the last failure, and when the next attempt is due."""
    _own(session, me.uscc, webhook_id)
    return list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == webhook_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )
