"""The district administrators' provisioning of a deployment: contracts, departments and department keys.

An administrative act, done offline before the service starts (`zel issuer provision`, or by `zel serve --demo`
in a child process): the service itself never decrypts an administrator's key. (`zel serve --demo` runs it through
`api.context.provision_in_child`, so that this module may use the composition root and the root never imports it.)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from api.settings import Settings, mark_development
from ledger import keys
from ledger.client import Ledger, bootstrap
from ledger.departments import SOCIAL_INSURANCE
from store.db import make_engine, session_factory, upgrade
from store.models import Certificate
from zero_errand.departments import provision

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from api.context import AppContext
    from zero_errand.kind_registry import Registered


def oldest_certificates(settings: Settings) -> dict[str, int]:
    """Per signing key (its address), the issue time (unix seconds) of the oldest stored certificate it signed: how
    far back the migration path may register that key, and no other."""
    engine = make_engine(settings.db_url)
    try:
        upgrade(engine)
        with session_factory(engine)() as session:
            rows = session.execute(
                select(Certificate.signer, func.min(Certificate.issued_at)).group_by(Certificate.signer)
            )
            return {signer.lower(): int(first.timestamp()) for signer, first in rows}
    finally:
        engine.dispose()


def provision_deployment(
    settings: Settings, *, development: bool = False, migrate: bool = False, administrator: str = "admin"
) -> dict[str, str]:
    """Deploy where needed, then admit the departments and register their keys as `administrator`.

    `development` makes missing passwords development files (the demo); `migrate` re-registers keys of
    departments whose stored certificates predate this chain through the recorded migration path.
    """
    settings.root.mkdir(parents=True, exist_ok=True)
    if development:
        mark_development(settings.root)
    signed_since = oldest_certificates(settings)
    keys.configure(settings.key_policy())  # bootstrap creates and unlocks the admin's keystore under it
    store = settings.keystore()
    ledger, admin, _ = bootstrap(settings.chain())
    with ledger:
        if administrator != "admin":
            admin = store.load(administrator)
        # the demo's social-insurance bureau signs with SM2 (issue 20): both suites live side by side
        sm2 = (SOCIAL_INSURANCE.id,) if development else ()
        out = provision(
            ledger, admin, store, development=development, signed_since=signed_since, migrate=migrate, sm2=sm2
        )
        register_certificate_kinds(ledger, admin, settings)
        return out


def register_certificate_kinds(ledger: Ledger, admin: LocalAccount, settings: Settings) -> list[Registered]:
    """Register the certificate kinds' schema files (kinds/standard/: the four payment certificates and the credit
    report, every version, each kind's oldest first) on chain and keep them in the store, as any kind is registered
    (`zel kinds register`); again changes nothing. Certificates are issued under the latest version; an earlier one
    is registered too, so that certificates issued under it verify on a chain set up afresh (a reset, re-anchored)."""
    from zero_errand.kind_registry import register
    from zero_errand.standard_kinds import standard_schemas

    engine = make_engine(settings.db_url)
    try:
        upgrade(engine)
        sessions = session_factory(engine)
        return [register(ledger, admin, sessions, schema) for schema in standard_schemas()]
    finally:
        engine.dispose()


def provisioned_context(settings: Settings, *, migrate: bool = False) -> AppContext:
    """The administrators' development provisioning, then the service's context: for tests and benchmarks, which
    play both parts in one process. The service itself (`zel serve`, `zel anchor run`) never does this."""
    from api.context import build_context

    provision_deployment(settings, development=True, migrate=migrate)
    return build_context(settings)


def register_demo_kinds(settings: Settings, administrator: str = "admin") -> list[str]:
    """The demo's kinds from schema files (`kinds/files/*.json`: the residence proof and the school-enrolment
    material receipt), registered as the district admin would (`zel kinds register`); registering again changes
    nothing. Returns each kind's `slug vN #index`."""
    from api.context import open_store
    from kinds.schema import load
    from zero_errand.kind_registry import register

    files = sorted((Path(__file__).resolve().parent.parent / "kinds" / "files").glob("*.json"))
    store = open_store(settings)
    try:
        ledger, admin, _ = bootstrap(settings.chain())
        with ledger:
            if administrator != "admin":
                admin = settings.keystore().load(administrator)
            done = [register(ledger, admin, store.sessions, load(path.read_bytes())) for path in files]
    finally:
        store.engine.dispose()
    return [f"{r.kind.slug} v{r.kind.version} #{r.index}" for r in done]
