"""Operators see what happens: one access line per request (route template, never the raw path, query or token), one
line per anchoring batch, and `zel serve --demo`'s banner says which demo enterprise is class A, class C, red-listed."""

from __future__ import annotations

import logging
import re

import pytest

from api.demo import describe, seed_credit
from api.http.access_log import LOGGER, UNMATCHED
from ledger.anchor import SCHEMA_KIND_BASE
from store.db import transaction
from zero_errand.certificates import CertKind
from zero_errand.issuance import Subject

SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # logging does not depend on the store
LINE = re.compile(r"^(GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) (/\S*|unmatched) \d{3} \d+\.\dms$")


def _lines(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == name]


@SQLITE
def test_one_line_per_request_with_the_route_template_and_nothing_personal(platform, caplog) -> None:
    c, uscc, id_number = platform.client, platform.usccs[0], platform.client.creds.people[0]
    token = platform.tokens["citizen"]
    caplog.set_level(logging.INFO, logger=LOGGER)
    assert (
        c.get(
            f"/v1/public/enterprises/{uscc}/standing?access_token=sekrit-{id_number}",
            headers={"Authorization": f"Bearer {token}"},
        ).status_code
        == 200
    )
    assert (
        c.get(f"/v1/citizen/certificates/{platform.certs['citizen']}", headers=platform.headers("citizen")).status_code
        == 200
    )
    assert c.get(f"/v1/public/people/{id_number}").status_code == 404  # no such route: the path is not logged
    too_big = b"x" * (platform.ctx.settings.max_body_bytes + 1)
    assert c.post("/v1/verify", content=too_big, headers={"Content-Type": "application/json"}).status_code == 413
    records = _lines(caplog, LOGGER)
    assert [(r.method, r.route, r.status) for r in records] == [
        ("GET", "/v1/public/enterprises/{uscc}/standing", 200),
        ("GET", "/v1/citizen/certificates/{number}", 200),
        ("GET", UNMATCHED, 404),
        ("POST", UNMATCHED, 413),
    ]  # one line each, the refused body's too
    for r in records:
        message = r.getMessage()
        assert LINE.match(message), message
        assert r.duration_ms >= 0 and r.levelno == logging.INFO
        for secret in (uscc, id_number, token, "sekrit", "access_token", platform.certs["citizen"], "?"):
            assert secret not in message and secret not in str(r.__dict__.get("route")), (secret, message)


@SQLITE
def test_one_line_per_anchoring_batch(platform, caplog) -> None:
    ctx = platform.ctx
    with transaction(ctx.sessions) as s:
        for month in ("07", "08"):
            ctx.certificates.request(
                s,
                kind=CertKind.TAX_ENTERPRISE,
                subject=Subject(uscc=platform.usccs[0]),
                period_from=f"2025-{month}",
                period_to=f"2025-{month}",
                actor="client:x",
                actor_role="enterprise",
            )
    caplog.set_level(logging.INFO, logger="zel.anchor")
    assert ctx.certificates.anchorer(max_wait=0).run_once(force=True) == 2
    [line] = _lines(caplog, "zel.anchor")
    message = line.getMessage()
    # certificates are anchored by their kind's schema (anchorSchemaRoot), named by its number on chain
    schema = ctx.certificates.chain_kind("tax-enterprise") - SCHEMA_KIND_BASE
    assert (line.department, line.kind, line.leaves) == ("tax.440604", f"attestation:{schema}", 2)
    assert line.tx_hash.startswith("0x") and line.gas > 21_000 and line.duration_ms > 0
    for part in (
        "department tax.440604",
        f"kind attestation:{schema}",
        "leaves 2",
        f"root {line.root[:18]}...",
        f"tx {line.tx_hash}",
        f"gas {line.gas}",
        "ms",
    ):
        assert part in message, (part, message)
    assert platform.usccs[0] not in message


@SQLITE
def test_the_demo_banner_names_the_class_a_class_c_and_red_list_enterprises(platform) -> None:
    creds, c = platform.client.creds, platform.client
    with transaction(platform.ctx.sessions) as s:
        creds.standings = seed_credit(platform.ctx.credit, s, creds.usccs)
    banner = describe(creds, "http://127.0.0.1:8000")
    public = {u: c.get(f"/v1/public/enterprises/{u}/standing").json() for u in creds.usccs}
    lines = {
        u: next(line for line in banner.splitlines() if line.strip().startswith(u) and "class" in line)
        for u in creds.usccs
    }
    for uscc, profile in public.items():  # what the banner says is what the rules give now
        assert f"class {profile['grade']['grade']}" in lines[uscc] and profile["name"] in lines[uscc]
        assert ("red list" in lines[uscc]) == profile["flags"]["red_list"]
    grades = [profile["grade"]["grade"] for profile in public.values()]
    assert "A" in grades and "C" in grades and any("red list" in line for line in lines.values())
