"""Every setting of zel: environment (`ZEL_*`) first, then an optional TOML file named by `ZEL_CONFIG`.

This is the one module of the project that reads the environment: the chain's timeouts, the keystores' scrypt
cost and password variables, the PDF font and the log level reach the other packages as values
(`Settings.chain()`, `Settings.key_policy()`, `api.context.configure_process`).

Production is the default mode. Development is chosen by `ZEL_MODE=development` (or `mode` in the TOML
file), by `--demo`, or by a data directory that development made (`zel serve --demo`, `zel seed` and the
demo provisioning leave `DEVELOPMENT_MARKER` in it); an explicit `ZEL_MODE=production` always wins.
"""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import PrivateAttr, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from ledger.chain import ChainConfig
from ledger.errors import ConfigurationError
from ledger.keys import DEFAULT_KDF_N, KeyPolicy, Keystore
from store.db import default_url
from store.pii import PiiKeys

DEVELOPMENT_MARKER = "DEVELOPMENT"
DEFAULT_DATA_DIR = Path(".zel")
# Chain ids of test nodes: ganache and Hardhat (1337, 31337), Truffle/ganache UI (5777), eth-tester (the
# embedded chain). A production chain (Besu QBFT) has its own id.
TEST_CHAIN_IDS = frozenset({1337, 31337, 5777, 131277322940537})
# Passwords nobody should find in a production database URL.
DEFAULT_PASSWORDS = frozenset({"", "zel", "postgres", "password", "changeme", "secret", "admin", "test"})


def mark_development(root: Path) -> None:
    """Record that `root` holds development data (demo users, development keys): later commands on it run in
    development mode unless `ZEL_MODE=production` says otherwise (and then refuse it)."""
    root.mkdir(parents=True, exist_ok=True)
    marker = root / DEVELOPMENT_MARKER
    if not marker.exists():
        marker.write_text(
            "This data directory holds development data (demo users, development keys and secrets).\n"
            "zel runs on it in development mode; production refuses it.\n"
        )


class Settings(BaseSettings):
    """Everything `zel serve` needs. Secrets left unset are generated for development data only."""

    model_config = SettingsConfigDict(env_prefix="ZEL_", extra="ignore")

    mode: Literal["development", "production"] = "production"
    # Who signs people in: `development` checks passwords in the store (demo, tests; refused in production);
    # `oidc` accepts ID tokens of the district's unified login (统一身份认证) through its OpenID Connect discovery.
    identity_provider: Literal["development", "oidc"] = "development"
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_url: str | None = None  # default: the issuer's discovery document's jwks_uri
    data_dir: Path | None = None
    database_url: str | None = None
    database_password_file: Path | None = None  # a secret file holding the database password (not in the URL)
    chain_url: str | None = None
    receipt_timeout: float = 120.0  # seconds a transaction may take to be mined
    rpc_timeout: float = 10.0  # seconds per JSON-RPC request to a node
    rpc_retries: int = 5  # attempts of a failed JSON-RPC request
    # scrypt cost of new keystores; lower it for throwaway development data only. Keystore passwords are
    # ZEL_KEYSTORE_PASSWORD_<NAME>(_FILE), or one ZEL_KEYSTORE_PASSWORD(_FILE) in development (`key_policy`).
    kdf_n: int = DEFAULT_KDF_N
    cjk_font: str | None = None  # the PDF's CJK font file; default: the first Debian CJK font on disk
    log_level: str = "WARNING"  # of the `zel` command line
    public_url: str = "http://127.0.0.1:8000"
    token_secret: SecretStr | None = None
    token_ttl_seconds: int = 900
    pii_key_file: Path | None = None
    pii_keys: SecretStr | None = None
    pii_index_key: SecretStr | None = None
    max_body_bytes: int = 1_048_576
    auth_rate_per_minute: int = 20
    expensive_rate_per_minute: int = 60  # certificate requests, PDFs, image verification, per caller
    anchor_batch_size: int = 4096
    anchor_max_wait: float = 10.0
    # Only the worker holding the store lease anchors (ledger.anchor); one killed is taken over after this long
    anchor_lease_ttl: float = 30.0
    # seconds a bulk issuance worker holds a chunk: a worker killed mid-chunk is taken over after this
    job_lease_seconds: float = 120.0
    standing_cache_seconds: float = 5.0  # how long another process's credit write may take to show; 0 disables
    # Several replicas share rate limits and standing-cache invalidation through Redis (api/shared_state.py), e.g.
    # redis://127.0.0.1:6379/0; empty: each process keeps its own (one process, the embedded default)
    redis_url: str = ""
    redis_prefix: str = "zel:"  # of every key and channel, so that deployments can share one Redis
    anchor_in_process: bool = True  # `zel serve` runs the anchor worker; set false when `zel anchor run` does
    # Reverse proxies (IPs or CIDRs) whose X-Forwarded-For is believed, e.g. ZEL_TRUSTED_PROXIES='["10.0.0.0/8"]';
    # empty: the peer address is the client (rate limits, sign-in back-off)
    trusted_proxies: list[str] = []
    docs_enabled: bool = True  # false: /docs and /openapi.json answer 404 (api/http/headers.py)
    metrics_enabled: bool = True  # false: /metrics answers 404, e.g. when Prometheus scrapes another port

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get("ZEL_CONFIG")
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config))
        return tuple(sources)

    _mode_source: str = PrivateAttr(default="the default; ZEL_MODE=development or --demo for development")

    def model_post_init(self, context: object, /) -> None:
        if "mode" in self.model_fields_set:
            self._mode_source = "ZEL_MODE"
        elif (self.root / DEVELOPMENT_MARKER).exists():
            self.mode = "development"
            self._mode_source = f"{self.root / DEVELOPMENT_MARKER} marks development data"

    @property
    def mode_explicit(self) -> bool:
        """Whether the mode was configured (environment, TOML, argument) rather than defaulted or inferred."""
        return self._mode_source == "ZEL_MODE"

    def choose_development(self, why: str) -> None:
        """Development for this command (`--demo`, `zel seed`), unless the mode was configured."""
        if not self.mode_explicit:
            self.mode = "development"
            self._mode_source = why

    def describe_mode(self) -> str:
        """One line for every entry point to print: which mode, and why."""
        return f"zel: {self.mode} mode ({self._mode_source}); data directory {self.root}"

    # -- derived ---------------------------------------------------------------------------------

    @cached_property
    def root(self) -> Path:
        """The data directory: `data_dir` (ZEL_DATA_DIR), else `./.zel`."""
        raw = self.data_dir or os.environ.get("ZEL_DATA_DIR") or DEFAULT_DATA_DIR
        return Path(raw).expanduser().resolve()

    @property
    def db_url(self) -> str:
        """The store's URL, with the password of `database_password_file` when one is given."""
        url = self.database_url or default_url(self.root)
        if self.database_password_file is None:
            return url
        from sqlalchemy.engine import make_url

        try:
            password = self.database_password_file.read_text().strip()
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the database password file {self.database_password_file}: {exc.strerror}"
            ) from exc
        return make_url(url).set(password=password).render_as_string(hide_password=False)

    def chain(self) -> ChainConfig:
        """The chain these settings name: a node at `chain_url`, else the embedded chain in the data directory."""
        return ChainConfig(
            self.root,
            self.chain_url or None,
            receipt_timeout=self.receipt_timeout,
            request_timeout=self.rpc_timeout,
            retries=self.rpc_retries,
        )

    def key_policy(self) -> KeyPolicy:
        """The keystores' scrypt cost and their password variables, looked up in the environment when a key is
        unlocked (their names depend on the key's: ZEL_KEYSTORE_PASSWORD_TAX, ...)."""
        return KeyPolicy(self.kdf_n, keystore_password_variable)

    def keystore(self) -> Keystore:
        """The data directory's keystores under these settings' policy."""
        return Keystore(self.root, self.key_policy())

    def child_environment(self) -> dict[str, str]:
        """The environment of a `zel` child process that works on the same store."""
        env = dict(os.environ)
        if self.database_url:
            env["ZEL_DATABASE_URL"] = self.database_url
        return env

    @property
    def dev_pii_key_path(self) -> Path:
        # Outside the data directory on purpose: a copy of the data directory must not carry the key.
        return self.root.parent / f"{self.root.name}.pii-keys"

    def pii(self) -> PiiKeys:
        if self.pii_keys and self.pii_index_key:
            return PiiKeys.parse(self.pii_keys.get_secret_value(), self.pii_index_key.get_secret_value())
        path = self.pii_key_file
        if path is None:
            if self.mode == "production":
                raise ConfigurationError("production needs ZEL_PII_KEY_FILE or ZEL_PII_KEYS + ZEL_PII_INDEX_KEY")
            path = self.dev_pii_key_path
            if not path.exists():
                PiiKeys.generate_file(path)
        if path.resolve().is_relative_to(self.root):
            raise ConfigurationError(f"the PII key file {path} must live outside the data directory {self.root}")
        return PiiKeys.load_file(path)

    def token_key(self) -> bytes:
        if self.token_secret:
            return self.token_secret.get_secret_value().encode()
        if self.mode == "production":
            raise ConfigurationError("production needs ZEL_TOKEN_SECRET")
        path = self.root / "secrets" / "dev-token-secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()

    def check_production(self, demo: bool = False, *, service: bool = True) -> None:
        """Refuse to run production with demo data, development secrets, keys or identity provider, default
        passwords, a key file kept with the data, or the embedded chain (a node is checked by `check_chain`).

        `service=False` (an administrator's command, such as provisioning) skips what only the service needs:
        the identity provider, the token secret and the personal-data keys."""
        if self.mode != "production":
            return
        problems: list[str] = []
        if service:
            self._service_problems(problems)
        if demo:
            problems.append("--demo seeds demo users and secrets")
        if (self.root / DEVELOPMENT_MARKER).exists():
            problems.append(f"the data directory holds development data ({self.root / DEVELOPMENT_MARKER})")
        problems.extend(
            f"{path} is a development keystore password" for path in Keystore(self.root).dev_password_files()
        )
        if any(keystore_password_variable(v) for v in ("ZEL_KEYSTORE_PASSWORD", "ZEL_KEYSTORE_PASSWORD_FILE")):
            problems.append(
                "ZEL_KEYSTORE_PASSWORD(_FILE) is one password for every key (development and tests): "
                "give each keystore its own, ZEL_KEYSTORE_PASSWORD_<NAME>(_FILE)"
            )
        if (
            self.database_url
            and not self.database_url.startswith("sqlite")
            and _url_password(self.db_url) in DEFAULT_PASSWORDS
        ):
            problems.append("the database URL carries a default password (or none)")
        if self.chain_url is None:
            problems.append("production needs a chain node (ZEL_CHAIN_URL), not the embedded chain")
        if problems:
            raise ConfigurationError("refusing to start in production mode: " + "; ".join(problems))

    def _service_problems(self, problems: list[str]) -> None:
        if self.identity_provider == "development":
            problems.append(
                "the development identity provider signs people in with passwords the demo prints: "
                "configure ZEL_IDENTITY_PROVIDER=oidc with ZEL_OIDC_ISSUER"
            )
        elif not (self.oidc_issuer and self.oidc_audience):
            problems.append("ZEL_IDENTITY_PROVIDER=oidc needs ZEL_OIDC_ISSUER and ZEL_OIDC_AUDIENCE")
        if not self.token_secret or len(self.token_secret.get_secret_value()) < 32:
            problems.append("ZEL_TOKEN_SECRET must be set (at least 32 characters)")
        if not (self.pii_key_file or (self.pii_keys and self.pii_index_key)):
            problems.append("ZEL_PII_KEY_FILE (or ZEL_PII_KEYS and ZEL_PII_INDEX_KEY) must be set")
        elif self.pii_key_file is not None:
            key_file = self.pii_key_file.expanduser().resolve()
            if (
                key_file == self.dev_pii_key_path
                or key_file.parent == self.root.parent
                or key_file.is_relative_to(self.root)
            ):
                problems.append(
                    f"the personal-data key file {key_file} is kept beside the data directory: a copy of "
                    "the data would carry its key (keep it on another volume or in a secret store)"
                )
        if self.dev_pii_key_path.exists():
            problems.append(f"{self.dev_pii_key_path} is a development personal-data key file")
        if (self.root / "secrets" / "dev-token-secret").exists() and not self.token_secret:
            problems.append("the data directory holds a development token secret")

    def check_chain(self, chain_id: int, accounts: list[str]) -> None:
        """In production, refuse a chain whose id or unlocked accounts say it is a test node (ganache, Hardhat,
        eth-tester): production nodes (Besu) hold no keys and never sign for anyone."""
        if self.mode != "production":
            return
        problems = []
        if chain_id in TEST_CHAIN_IDS:
            problems.append(f"chain id {chain_id} is a test node's")
        if accounts:
            problems.append(f"the node holds {len(accounts)} unlocked accounts (a test node such as ganache)")
        if problems:
            raise ConfigurationError("refusing to start in production mode: " + "; ".join(problems))


def keystore_password_variable(name: str) -> str | None:
    """A keystore password variable's value (ZEL_KEYSTORE_PASSWORD[_FILE][_<NAME>]), read when a key is unlocked."""
    return os.environ.get(name)


def _url_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).password or ""
    except Exception:  # an unparsable URL fails later with its own error
        return "?"
