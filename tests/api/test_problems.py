"""The HTTP surface's one error handler: every domain error (`errors.ZelError`) answered from one table by its code."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.testclient import TestClient
from starlette.exceptions import HTTPException as StarletteHTTPException

import errors
from api.context import ChainClosed
from api.http.problems import (
    BASE,
    PROBLEMS,
    TITLES,
    UNEXPECTED,
    http_exception_handler,
    unhandled_exception_handler,
    validation_exception_handler,
    zel_error_handler,
)
from api.security import TokenError
from credit.ledger import CreditError
from ledger.errors import NodeUnavailable, NotAuthorized, NotDeployed, TransactionFailed
from store.pii import PiiError
from zero_errand.issuance import IssuanceError
from zero_errand.people import DataError


def client_raising(exc: Exception) -> TestClient:
    """An app registered as `api.http.app.create_app` registers its handlers, with one route raising `exc`."""
    app = FastAPI()
    app.add_exception_handler(StarletteHTTPException, http_exception_handler)
    app.add_exception_handler(RequestValidationError, validation_exception_handler)
    app.add_exception_handler(errors.ZelError, zel_error_handler)
    app.add_exception_handler(Exception, unhandled_exception_handler)

    def fail() -> None:
        raise exc

    app.add_api_route("/fail", fail)
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize("code", sorted(PROBLEMS))
def test_every_code_in_the_table_is_answered_with_its_status_and_a_problem_document(code: str) -> None:
    kind = PROBLEMS[code]
    r = client_raising(errors.ZelError(f"refused ({code})", code=code, field="period_to")).get("/fail")
    assert r.status_code == kind.status and r.headers["content-type"] == "application/problem+json"
    assert r.json() == {
        "type": BASE + (kind.slug or code),
        "title": TITLES[kind.status][1],
        "status": kind.status,
        "detail": f"refused ({code})",
        "instance": "/fail",
        "invalid_params": [{"name": "period_to", "reason": f"refused ({code})"}],
    }
    for name, value in kind.headers.items():
        assert r.headers[name] == value


@pytest.mark.parametrize(
    ("exc", "status", "slug"),
    [
        # what the routers answered before the one handler, error by error
        (IssuanceError("invalid", "period_to is in the future", "period_to"), 422, "validation"),
        (IssuanceError("no-records", "no tax records"), 422, "no-records"),
        (IssuanceError("idempotency-key-reused", "new key", "Idempotency-Key"), 422, "idempotency-key-reused"),
        (IssuanceError("not-found", "no certificate 1"), 404, "not-found"),
        (IssuanceError("forbidden", "only the issuing department"), 403, "forbidden"),
        (IssuanceError("conflict", "already revoked"), 409, "conflict"),
        (IssuanceError("pending-anchor", "not anchored yet"), 409, "pending-anchor"),
        (IssuanceError("unavailable", "no signing key"), 503, "unavailable"),
        (CreditError("forbidden", "may not write tax_arrears records", "type"), 403, "forbidden"),
        (CreditError("not-found", "no enterprise", "uscc"), 404, "not-found"),
        (CreditError("conflict", "already ended"), 409, "conflict"),
        (CreditError("too-early", "repair opens later"), 409, "too-early"),
        (CreditError("not-repairable", "never repairable"), 409, "not-repairable"),
        (DataError("conflict", "user 'x' exists", "username"), 409, "conflict"),
        (DataError("not-found", "no user 'x'"), 404, "not-found"),
        (DataError("invalid", "a citizen needs an ID number", "id_number"), 422, "validation"),
        (ChainClosed("credit is"), 503, "unavailable"),
        (NodeUnavailable("the node does not answer"), 503, "unavailable"),
        (NotAuthorized("key 0x1 may not"), 403, "forbidden"),
    ],
)
def test_domain_errors_keep_the_status_and_type_their_routers_gave(
    exc: errors.ZelError, status: int, slug: str
) -> None:
    r = client_raising(exc).get("/fail")
    assert (r.status_code, r.json()["type"], r.json()["detail"]) == (status, BASE + slug, exc.message)
    assert r.json().get("invalid_params") == ([{"name": exc.field, "reason": exc.message}] if exc.field else None)


def test_a_bad_token_is_answered_as_the_bearer_check_answers_it() -> None:
    r = client_raising(TokenError("the access token has expired")).get("/fail")
    assert r.status_code == 401 and r.json()["type"] == BASE + "invalid-token"
    assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'


@pytest.mark.parametrize(
    "exc",
    [
        errors.ZelError("secret: the unexpected"),  # in no category
        CreditError("no-such-code", "secret: a code nobody maps"),
        TransactionFailed("secret: a revert nobody mapped"),
        PiiError("secret: PII key k1 is missing"),  # the deployment's configuration: for the log, not the caller
        NotDeployed("secret: no contracts at /data/chain"),
    ],
)
def test_an_unexpected_domain_error_is_a_bare_500_that_does_not_leak_its_message(exc: errors.ZelError) -> None:
    r = client_raising(exc).get("/fail")
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == BASE + "internal" and r.json()["detail"] == UNEXPECTED
    assert "secret" not in r.text


def test_a_precise_code_missing_from_the_table_is_answered_as_its_category() -> None:
    class Clash(errors.Conflict):
        code = "some-new-clash"

    r = client_raising(Clash("taken")).get("/fail")
    assert r.status_code == 409 and r.json()["type"] == BASE + "conflict" and r.json()["detail"] == "taken"


def test_errors_that_name_their_own_code_get_its_answer() -> None:
    from credit.codes_qr import CodeError
    from qr.decode import DecoderBusy, ImageTooLarge, NoQrCode, UnsupportedImage
    from zero_errand.webhooks import WebhookLimitError

    r = client_raising(DecoderBusy("the decoder is busy")).get("/fail")
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.json()["type"] == BASE + "decoder-busy" and r.json()["detail"] == "the decoder is busy"
    for exc, status in (
        (UnsupportedImage("GIF images are not accepted"), 415),
        (ImageTooLarge("too many pixels"), 413),
        (NoQrCode("no QR code found"), 422),
        (CodeError("not an enterprise code"), 422),
        (WebhookLimitError("at most 5 webhooks"), 409),
    ):
        r = client_raising(exc).get("/fail")
        assert r.status_code == status and r.json()["type"] == BASE + exc.code, (exc, r.json())
