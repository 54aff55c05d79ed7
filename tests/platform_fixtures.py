"""Platform fixtures: the app on SQLite and on PostgreSQL, demo data, tokens for every role.

Registered for the whole suite by `pytest_plugins` in tests/conftest.py. Building a platform (seed the store, open
the chain, issue and anchor two certificates, register a webhook) costs about a second, so it is built once per
database and session as a template; each test gets its own copy of it: the data directory (chain and keys), the
development PII key file and the store (a copied SQLite file, or a PostgreSQL database made from the template's).
"""

from __future__ import annotations

import copy
import os
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from api.context import AppContext, build_context
from api.demo import seed
from api.http.app import create_app
from api.provisioning import provision_deployment
from api.security import Principal
from api.settings import Settings
from identifiers import id_check_char
from store.db import transaction
from store.models import Role, User
from zero_errand.certificates import CertKind
from zero_errand.issuance import Subject
from zero_errand.webhooks import register

CITIZENS = [
    ("citizen1", "陈志明", "44060419850312201" + id_check_char("44060419850312201")),
    ("citizen2", "黄丽华", "44060419920718302" + id_check_char("44060419920718302")),
]

# CI runs these against the machine's PostgreSQL; an unreachable server fails them (never skips).
PG_BASE = os.environ.get("ZEL_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Platforms keep their keystore passwords in development files; some suites set one shared password in the
# environment (and leave it there), which would take precedence: platforms are built and used without it.
KEYSTORE_PASSWORD_VARS = ("ZEL_KEYSTORE_PASSWORD", "ZEL_KEYSTORE_PASSWORD_FILE")


def clear_keystore_password(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in KEYSTORE_PASSWORD_VARS:
        monkeypatch.delenv(var, raising=False)


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
    registered): each platform template starts from a copy of it, so the ~2 s of provisioning are paid once."""
    root = tmp_path_factory.mktemp("provisioned")
    with pytest.MonkeyPatch.context() as monkeypatch:
        clear_keystore_password(monkeypatch)
        provision_deployment(
            Settings(data_dir=root / "data", database_url=f"sqlite:///{root / 'store.sqlite'}"), development=True
        )
    return root / "data"


@dataclass(frozen=True)
class PlatformTemplate:
    """A seeded and anchored platform, closed, for tests to copy. Tokens are issued per test (they expire)."""

    root: Path  # data/ (chain, keys, token secret), data.pii-keys and, on SQLite, store.sqlite
    database: str | None  # on PostgreSQL: the template database
    creds: Any  # what `seed` returned
    principals: dict[str, Principal]
    usccs: list[str]
    certs: dict[str, str]
    webhook: int


def build_template(root: Path, database_url: str, database: str | None, provisioned: Path) -> PlatformTemplate:
    shutil.copytree(provisioned, root / "data")  # the chain and keys; the store is the template's own
    ctx = build_context(make_settings(root, database_url))
    try:
        with transaction(ctx.sessions) as session:
            creds = seed(session, ctx.pii)
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
        certs = {}
        with transaction(ctx.sessions) as session:
            certs["citizen"] = ctx.certificates.request(
                session,
                kind=CertKind.SI_INDIVIDUAL,
                subject=Subject(person_id=person_of["citizen1"]),
                period_from="2025-01",
                period_to="2025-06",
                actor="user:citizen1",
                actor_role="citizen",
            )[0].number
            certs["enterprise"] = ctx.certificates.request(
                session,
                kind=CertKind.TAX_ENTERPRISE,
                subject=Subject(uscc=usccs[0]),
                period_from="2025-01",
                period_to="2025-06",
                actor="client:x",
                actor_role="enterprise",
            )[0].number
        ctx.certificates.anchorer(max_wait=0).run_once(force=True)
        with transaction(ctx.sessions) as session:
            webhook = register(session, usccs[0], "https://erp.example.com/zel", ["certificate.issued"], False).id
    finally:
        ctx.ledger.close()
        ctx.engine.dispose()  # SQLite checkpoints its WAL; PostgreSQL: no connection may stay on a template
    return PlatformTemplate(root, database, creds, principals, usccs, certs, webhook)


def _pg_url(database: str) -> str:
    return make_url(PG_BASE).set(database=database).render_as_string(hide_password=False)


class PlatformTemplates:
    """One template per database, built on first use; PostgreSQL copies are whole databases made from the
    template's (`CREATE DATABASE ... TEMPLATE`, a file copy). Dropping a database waits for a checkpoint, so
    drops run in the background and the session waits for them at its end."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory, provisioned: Path) -> None:
        self._tmp, self._provisioned = tmp_path_factory, provisioned
        self._built: dict[str, PlatformTemplate] = {}
        self._admin = create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
        self._drops = ThreadPoolExecutor(1, thread_name_prefix="drop-database")
        self._prefix = "zel_" + uuid.uuid4().hex[:8]  # this session's (and xdist worker's) databases

    def get(self, backend: str) -> PlatformTemplate:
        if backend not in self._built:
            root = self._tmp.mktemp(f"platform-{backend}")
            if backend == "sqlite":
                url, database = f"sqlite:///{root / 'store.sqlite'}", None
            else:
                database = self.create_database(f"{self._prefix}_tmpl")
                url = _pg_url(database)
            with pytest.MonkeyPatch.context() as monkeypatch:
                clear_keystore_password(monkeypatch)
                self._built[backend] = build_template(root, url, database, self._provisioned)
        return self._built[backend]

    def create_database(self, name: str, template: str | None = None) -> str:
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        return name

    def copy(self, template: PlatformTemplate, tmp_path: Path, database_url: str) -> str:
        """Copy `template` into `tmp_path` (and a new database); the copy's store URL."""
        shutil.copytree(template.root / "data", tmp_path / "data")
        shutil.copy2(template.root / "data.pii-keys", tmp_path / "data.pii-keys")
        if template.database is None:
            target = Path(make_url(database_url).database or "")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(template.root / "store.sqlite", target)
            return database_url
        name = f"{self._prefix}_{uuid.uuid4().hex[:12]}"
        return _pg_url(self.create_database(name, template.database))

    def drop_later(self, database: str) -> None:
        self._drops.submit(self._drop, database)

    def _drop(self, database: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))

    def close(self) -> None:
        self._drops.shutdown(wait=True)
        for template in self._built.values():
            if template.database:
                self._drop(template.database)
        self._admin.dispose()


@pytest.fixture(scope="session")
def platform_templates(
    tmp_path_factory: pytest.TempPathFactory, provisioned_data_dir: Path
) -> Iterator[PlatformTemplates]:
    templates = PlatformTemplates(tmp_path_factory, provisioned_data_dir)
    yield templates
    templates.close()


@pytest.fixture
def platform(
    tmp_path: Path, database_url: str, platform_templates: PlatformTemplates, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Platform]:
    """The seeded app, on its own copy of the session's template for the test's database."""
    clear_keystore_password(monkeypatch)
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    template = platform_templates.get(backend)
    url = platform_templates.copy(template, tmp_path, database_url)
    ctx = build_context(make_settings(tmp_path, url))
    tokens = {who: ctx.tokens.issue(principal)[0] for who, principal in template.principals.items()}
    app = create_app(ctx)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            client.creds = copy.deepcopy(template.creds)
            yield Platform(ctx, app, client, tokens, list(template.usccs), dict(template.certs), template.webhook)
    finally:
        ctx.ledger.close()
        ctx.engine.dispose()
        if template.database:
            platform_templates.drop_later(make_url(url).database or "")
