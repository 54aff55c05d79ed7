"""The composition root: the typed services, built once from `Settings`, that the HTTP app and the CLI share.

`open_store` opens the database (migrated) and the personal-data codec; `build_context` adds the tokens, the
identity provider and, unless told not to, the chain with the services on it (certificates, credit, standings).
A service that needs the chain asks the context with `require_*`, which raises `ChainClosed` (an
`errors.Unavailable`) when the chain was not opened: each surface's one error handler says so (503, exit 2).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.http.accounts import AccountCheck
from api.http.limits import RateLimiter
from api.http.throttle import FailureBackoff, Network, client_address, limit_key, trusted_networks
from api.passwords import check_cost
from api.security import DevelopmentIdentityProvider, IdentityProvider, TokenService
from api.settings import Settings
from errors import Unavailable
from ledger import keys
from ledger.errors import ConfigurationError
from store.db import make_engine, session_factory, upgrade
from store.pii import Pii

if TYPE_CHECKING:
    from types import TracebackType

    from prometheus_client import CollectorRegistry

    from api.shared_state import SharedState
    from credit.cache import StandingCache
    from credit.ledger import CreditLedger
    from ledger.client import Ledger
    from store.group import GroupCommit
    from store.models import Inspection
    from zero_errand.service import CertificateService
    from zero_errand.verification import KeyListCache


class ChainClosed(Unavailable):
    """A service needs the chain, and this context was built without it (`build_context(open_chain=False)`)."""

    def __init__(self, what: str = "this service is") -> None:
        super().__init__(f"{what} unavailable: the chain is not open")


@dataclass
class StoreParts:
    """The store of a data directory: what a command that never touches the chain needs."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    pii: Pii


@dataclass
class AppContext:
    """The services every request and every command can reach; the chain's are None while it is closed."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    pii: Pii
    tokens: TokenService
    identity: IdentityProvider
    ledger: Ledger | None = None
    certificates: CertificateService | None = None
    credit: CreditLedger | None = None
    standings: StandingCache | None = None  # beside `credit`: the credit standings other processes wrote
    metrics_registry: CollectorRegistry | None = None  # set by the HTTP app
    shared: SharedState | None = None  # Redis, when replicas share rate limits and standing invalidation
    # The HTTP surface's guards, kept here so that one object reaches every request (the CLI never uses them).
    auth_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(20))  # per client address
    login_backoff: FailureBackoff = field(default_factory=FailureBackoff)  # per account and address, never a lockout
    # Issuing certificates, rendering PDFs and decoding uploaded images cost CPU: limited per caller.
    expensive_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(60))
    accounts: AccountCheck = field(init=False)  # tokens checked against their accounts' current rows
    proxies: tuple[Network, ...] = field(init=False)  # the trusted reverse proxies
    _key_lists: KeyListCache | None = field(default=None, init=False, repr=False)
    _scans: GroupCommit[Inspection, None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        check_cost(self.settings.mode)
        self.accounts = AccountCheck(self.sessions)
        self.proxies = trusted_networks(self.settings.trusted_proxies)

    # -- the chain's services ------------------------------------------------------------------------

    def require_ledger(self, what: str = "verification is") -> Ledger:
        """The open chain, or `ChainClosed` ("<what> unavailable: the chain is not open")."""
        if self.ledger is None:
            raise ChainClosed(what)
        return self.ledger

    def require_certificates(self, what: str = "certificates are") -> CertificateService:
        """The certificate service, or `ChainClosed`."""
        if self.certificates is None:
            raise ChainClosed(what)
        return self.certificates

    def require_credit(self, what: str = "credit is") -> CreditLedger:
        """The credit ledger, or `ChainClosed`."""
        if self.credit is None:
            raise ChainClosed(what)
        return self.credit

    def scan_writer(self) -> GroupCommit[Inspection, None]:
        """Inspectors' scans (扫码入企) arriving together are stored in one transaction (store.group): a scan is a
        write on the inspector's request path, which must stay fast while many phones scan."""
        if self._scans is None:
            from credit.inspections import insert_scans
            from store.group import GroupCommit

            self._scans = GroupCommit(self.sessions, insert_scans, name="scan-writer")
        return self._scans

    def require_standings(self, what: str = "credit is") -> StandingCache:
        """The credit standings cache, or `ChainClosed`."""
        if self.standings is None:
            raise ChainClosed(what)
        return self.standings

    def key_lists(self) -> KeyListCache:
        """The deployment's key list cache (IssuerRegistry's keys and windows), built once per open ledger."""
        from zero_errand.verification import KeyListCache

        ledger = self.require_ledger()
        if self._key_lists is None or self._key_lists.ledger is not ledger:
            self._key_lists = KeyListCache(ledger, sessions=self.sessions)
        return self._key_lists

    # -- the HTTP surface ----------------------------------------------------------------------------

    def caller_address(self, request: Request) -> str:
        """What rate limits and sign-in back-off count by: the client's address, believed through the trusted
        proxies only, an IPv6 address as its /64."""
        return limit_key(client_address(request, self.proxies))

    # -- lifetime ------------------------------------------------------------------------------------

    def close(self) -> None:
        """Release the chain (the embedded one is held by one writer at a time); the store needs no closing."""
        if self.ledger is not None:
            self.ledger.close()
        if self.shared is not None:
            self.shared.close()

    def __enter__(self) -> AppContext:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


def identity_provider(settings: Settings) -> IdentityProvider:
    """The identity provider `settings` configure (the development one is refused in production)."""
    if settings.identity_provider == "oidc":
        from api.http.identity import OidcIdentityProvider

        return OidcIdentityProvider(settings.oidc_issuer or "", settings.oidc_audience or "", settings.oidc_jwks_url)
    return DevelopmentIdentityProvider()


def provision_in_child(settings: Settings) -> None:
    """`zel issuer provision --demo` (api.provisioning) in a child process, so that the serving process never
    loads the admin key (the embedded chain is released when the child exits)."""
    args = [sys.executable, "-m", "api.cli", "issuer", "provision", "--demo", "--data-dir", str(settings.root)]
    if settings.chain_url:
        args += ["--chain-url", settings.chain_url]
    proc = subprocess.run(args, env=settings.child_environment(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise ConfigurationError(f"demo provisioning failed: {(proc.stderr or proc.stdout).strip()[-800:]}")


def configure_process(settings: Settings) -> None:
    """Hand the process-wide settings to the packages that keep them: the keystores' scrypt cost and password
    variables (every keystore opened without its own policy, e.g. `bootstrap`'s), and the PDF's font."""
    keys.configure(settings.key_policy())
    if settings.cjk_font:  # imported only when configured: the PDF renderer loads reportlab
        from zero_errand import pdf

        pdf.configure(settings.cjk_font)


def open_store(settings: Settings) -> StoreParts:
    """Open the store of `settings` (migrating it) with its personal-data codec."""
    settings.root.mkdir(parents=True, exist_ok=True)
    configure_process(settings)
    engine = make_engine(settings.db_url)
    upgrade(engine)
    # Pii.for_store refuses an index key foreign to the data.
    return StoreParts(settings, engine, session_factory(engine), Pii.for_store(engine, settings.pii()))


def build_context(settings: Settings, *, open_chain: bool = True) -> AppContext:
    """Open the store (migrating it) and the chain (deploying on first start) for `settings`."""
    store = open_store(settings)
    shared = None
    if settings.redis_url:
        from api.shared_state import SharedState

        shared = SharedState(settings.redis_url, settings.redis_prefix)
    ctx = AppContext(
        settings=settings,
        engine=store.engine,
        sessions=store.sessions,
        pii=store.pii,
        tokens=TokenService(settings.token_key(), settings.token_ttl_seconds),
        identity=identity_provider(settings),
        auth_limiter=RateLimiter(settings.auth_rate_per_minute, shared.buckets("auth") if shared else None),
        expensive_limiter=RateLimiter(
            settings.expensive_rate_per_minute, shared.buckets("expensive") if shared else None
        ),
        shared=shared,
    )
    if open_chain:
        _open_chain(ctx)
    return ctx


def _open_chain(ctx: AppContext) -> None:
    from credit.cache import StandingCache
    from credit.ledger import CreditLedger
    from ledger.client import Ledger
    from ledger.errors import NotDeployed, OutdatedDeployment
    from zero_errand.departments import credit_scopes
    from zero_errand.service import CertificateService

    settings = ctx.settings
    # The service holds department signing keys only: deploying, admitting departments and registering keys
    # are the district administrators' acts (`zel contracts deploy`, `zel issuer provision`), done before.
    try:
        ledger = Ledger.open(settings.chain())
    except NotDeployed as exc:
        # A new embedded development data directory: the demo provisioning, in a child process (this one
        # never holds the admin key). Production, a node, or an outdated deployment: say what to do.
        if isinstance(exc, OutdatedDeployment) or settings.mode != "development" or settings.chain_url:
            raise
        provision_in_child(settings)
        ledger = Ledger.open(settings.chain())
    ctx.ledger = ledger
    try:
        if settings.mode == "production":
            settings.check_chain(ledger.sender.chain_id, list(ledger.w3.eth.accounts))
        ctx.certificates = CertificateService(ctx.sessions, ctx.pii, ledger, settings.keystore())
        ctx.credit = CreditLedger(ctx.sessions, ctx.pii, ledger, ctx.certificates.keys, credit_scopes())
        shared = ctx.shared
        ctx.standings = StandingCache(
            ctx.sessions, ttl=settings.standing_cache_seconds, publish=shared.publish_standings if shared else None
        )
        if shared is not None and settings.standing_cache_seconds > 0:
            shared.listen_standings(ctx.standings.invalidate, ctx.standings.clear)
    except BaseException:
        ledger.close()
        raise
