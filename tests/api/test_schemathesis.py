"""Property-based API tests: every operation, with and without credentials, against the live app.

No response may be a server error (5xx) or break the OpenAPI schema.
"""

from __future__ import annotations

import pytest  # noqa: F401 - fixtures
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture
def database_url(tmp_path):
    # Schema fuzzing is about the HTTP contract; the store matrix runs elsewhere on both databases.
    return f"sqlite:///{tmp_path / 'store.sqlite'}"


WHO = ("anonymous", "admin", "enterprise")


def test_api_conforms_to_its_schema(platform):
    for limiter in (platform.ctx.auth_limiter, platform.ctx.expensive_limiter):
        limiter.capacity = limiter.rate = 10**9  # fuzzing is not an attack
    schema = schemathesis.openapi.from_asgi("/openapi.json", platform.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True
        )  # the same examples on every run: CI must not flake
        def run(case):
            for who in WHO:
                case.call_and_validate(headers={**(case.headers or {}), **platform.headers(who)}, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert failures == [], "\n\n".join(failures)
