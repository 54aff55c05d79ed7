"""The public surface: enterprise profiles (`/v1/public`), health, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text

from api.http.deps import Context, SessionDep, SessionRoute
from api.http.params import Uscc
from api.http.problems import ProblemError, problem_responses
from store.models import Enterprise

public = APIRouter(
    route_class=SessionRoute, prefix="/v1/public", tags=["public"], responses=problem_responses(404, 422, 429)
)
health = APIRouter(route_class=SessionRoute, tags=["operations"])


class PublicEnterprise(BaseModel):
    uscc: str
    name: str
    region: str


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    store: str
    chain: str
    chain_id: int | None = None
    block: int | None = None


@public.get("/enterprises/{uscc}", response_model=PublicEnterprise, summary="An enterprise's public profile")
def public_enterprise(session: SessionDep, uscc: Uscc) -> PublicEnterprise:
    """An enterprise's public registration: USCC, name and region. 404 for an unknown USCC."""
    found = session.get(Enterprise, uscc)
    if found is None:
        raise ProblemError(404, f"no enterprise {uscc}")
    return PublicEnterprise(uscc=found.uscc, name=found.name, region=found.region)


@health.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    """Liveness: answers 200 while the process serves requests; checks nothing else."""
    return Health(status="ok")


@health.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness}},
    summary="The store and the chain are reachable",
)
def readyz(ctx: Context, response: Response) -> Readiness:
    """Readiness: 200 when the store answers a query and the chain answers its block number (given with its chain
    id), 503 with what is unavailable otherwise."""
    store, chain, chain_id, block = "ok", "ok", None, None
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means "not ready"
        store = f"unavailable: {type(exc).__name__}"
    if ctx.ledger is None:
        chain = "not opened"
    else:
        try:
            chain_id = ctx.ledger.sender.chain_id
            block = ctx.ledger.w3.eth.block_number
        except Exception as exc:
            chain = f"unavailable: {type(exc).__name__}"
    ready = store == "ok" and chain == "ok"
    response.status_code = 200 if ready else 503
    return Readiness(status="ready" if ready else "not ready", store=store, chain=chain, chain_id=chain_id, block=block)


@health.get(
    "/metrics", response_class=Response, summary="Prometheus metrics", responses={200: {"content": {"text/plain": {}}}}
)
def metrics(ctx: Context) -> Response:
    """Request counts by method, route and status, and latencies by route, in the Prometheus text format. Production
    may close it (404) with `ZEL_METRICS_ENABLED=false`."""
    registry = ctx.metrics_registry
    if registry is None:  # create_app sets it: only a context serving no app lacks it
        raise ProblemError(404, "no metrics are collected here")
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
