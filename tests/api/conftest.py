"""Platform fixtures: the app on SQLite and on PostgreSQL, demo data, tokens for every role."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.context import AppContext, build_context
from api.demo import seed
from api.http.app import create_app
from api.provisioning import provision_deployment
from api.security import Principal
from api.settings import Settings
from identifiers import id_check_char
from store.db import transaction
from store.models import Role
from zero_errand.certificates import CertKind
from zero_errand.issuance import Subject

CITIZENS = [("citizen1", "陈志明", "44060419850312201" + id_check_char("44060419850312201")),
            ("citizen2", "黄丽华", "44060419920718302" + id_check_char("44060419920718302"))]

# CI runs these against the machine's PostgreSQL; an unreachable server fails them (never skips).
PG_BASE = os.environ.get("ZEL_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store: a SQLite file, or a new schema in the PostgreSQL `test` database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_BASE}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def make_settings(tmp_path: Path, database_url: str, **extra) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, **extra)


@dataclass
class Platform:
    ctx: AppContext
    app: object
    client: TestClient
    tokens: dict[str, str]  # role label -> bearer token
    usccs: list[str]
    certs: dict[str, str]  # "citizen" / "enterprise" -> an anchored certificate number they own
    webhook: int  # a webhook of the first enterprise

    def headers(self, who: str) -> dict[str, str]:
        return {} if who == "anonymous" else {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture(scope="session")
def provisioned_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data directory provisioned as the demo does (contracts deployed, departments admitted, keys
    registered): each platform test starts from a copy of it, so the ~2 s of provisioning are paid once."""
    root = tmp_path_factory.mktemp("provisioned")
    provision_deployment(Settings(data_dir=root / "data", database_url=f"sqlite:///{root / 'store.sqlite'}"),
                         development=True)
    return root / "data"


@pytest.fixture
def platform(tmp_path: Path, database_url: str, provisioned_data_dir: Path) -> Iterator[Platform]:
    shutil.copytree(provisioned_data_dir, tmp_path / "data")  # the chain and keys; the store is the test's own
    ctx = build_context(make_settings(tmp_path, database_url))
    with transaction(ctx.sessions) as session:
        creds = seed(session, ctx.pii)
    from sqlalchemy import select

    from store.models import User

    with ctx.sessions() as session:
        person_of = {u.username: u.person_id for u in session.scalars(select(User))}
    usccs = creds.usccs[:2]
    principals = {
        "citizen": Principal("user:citizen1", Role.CITIZEN, person_id=person_of["citizen1"]),
        "citizen2": Principal("user:citizen2", Role.CITIZEN, person_id=person_of["citizen2"]),
        "enterprise": Principal(f"client:{creds.clients[0][0]}", Role.ENTERPRISE, uscc=usccs[0]),
        "enterprise2": Principal(f"client:{creds.clients[1][0]}", Role.ENTERPRISE, uscc=usccs[1]),
        "inspector": Principal("user:inspector1", Role.INSPECTOR, department="amr.440604"),
        "official": Principal("user:si-official", Role.OFFICIAL, department="si.440604"),
        "official2": Principal("user:tax-official", Role.OFFICIAL, department="tax.440604"),
        "official3": Principal("user:amr-official", Role.OFFICIAL, department="amr.440604"),
        "admin": Principal("user:admin", Role.ADMIN),
    }
    tokens = {k: ctx.tokens.issue(p)[0] for k, p in principals.items()}
    certs = {}
    with transaction(ctx.sessions) as session:
        certs["citizen"] = ctx.certificates.request(
            session, kind=CertKind.SI_INDIVIDUAL, subject=Subject(person_id=person_of["citizen1"]),
            period_from="2025-01", period_to="2025-06", actor="user:citizen1", actor_role="citizen")[0].number
        certs["enterprise"] = ctx.certificates.request(
            session, kind=CertKind.TAX_ENTERPRISE, subject=Subject(uscc=usccs[0]), period_from="2025-01",
            period_to="2025-06", actor="client:x", actor_role="enterprise")[0].number
    ctx.certificates.anchorer(max_wait=0).run_once(force=True)
    from zero_errand.webhooks import register

    with transaction(ctx.sessions) as session:
        webhook = register(session, usccs[0], "https://erp.example.com/zel", ["certificate.issued"], False).id
    app = create_app(ctx)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.creds = creds
        yield Platform(ctx, app, client, tokens, usccs, certs, webhook)
    ctx.ledger.close()
    ctx.engine.dispose()


__all__ = ["make_settings"]
