"""The district administrators' provisioning of a deployment: contracts, departments and department keys.

An administrative act, done offline before the service starts (`zel issuer provision`, or by `zel serve --demo`
in a child process): the service itself never decrypts an administrator's key.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from api.settings import Settings, mark_development
from ledger.client import bootstrap
from ledger.errors import ConfigurationError
from ledger.keys import Keystore
from ledger.store.db import make_engine, session_factory, upgrade
from ledger.store.models import Certificate
from zero_errand.departments import provision

if TYPE_CHECKING:
    from api.deps import AppContext


def oldest_certificates(settings: Settings) -> dict[str, int]:
    """Per department, the issue time (unix seconds) of its oldest stored certificate."""
    engine = make_engine(settings.db_url)
    try:
        upgrade(engine)
        with session_factory(engine)() as session:
            rows = session.execute(select(Certificate.department, func.min(Certificate.issued_at))
                                   .group_by(Certificate.department))
            return {dept: int(first.timestamp()) for dept, first in rows}
    finally:
        engine.dispose()


def provision_deployment(settings: Settings, *, development: bool = False, migrate: bool = False,
                         administrator: str = "admin") -> dict[str, str]:
    """Deploy where needed, then admit the departments and register their keys as `administrator`.

    `development` makes missing passwords development files (the demo); `migrate` re-registers keys of
    departments whose stored certificates predate this chain through the recorded migration path.
    """
    settings.root.mkdir(parents=True, exist_ok=True)
    if development:
        mark_development(settings.root)
    signed_since = oldest_certificates(settings)
    ledger, admin, _ = bootstrap(settings.chain())
    with ledger:
        if administrator != "admin":
            admin = Keystore(settings.root).load(administrator)
        return provision(ledger, admin, Keystore(settings.root), development=development,
                         signed_since=signed_since, migrate=migrate)


def provision_in_child(settings: Settings) -> None:
    """`zel issuer provision --demo` in a child process, so that the serving process never loads the admin key
    (the embedded chain is released when the child exits)."""
    args = [sys.executable, "-m", "api.cli", "issuer", "provision", "--demo", "--data-dir", str(settings.root)]
    if settings.chain_url:
        args += ["--chain-url", settings.chain_url]
    env = dict(os.environ)
    if settings.database_url:
        env["ZEL_DATABASE_URL"] = settings.database_url
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ConfigurationError(f"demo provisioning failed: {(proc.stderr or proc.stdout).strip()[-800:]}")


def provisioned_context(settings: Settings, *, migrate: bool = False) -> "AppContext":
    """The administrators' development provisioning, then the service's context: for tests and benchmarks, which
    play both parts in one process. The service itself (`zel serve`, `zel anchor run`) never does this."""
    from api.app import build_context

    provision_deployment(settings, development=True, migrate=migrate)
    return build_context(settings)
