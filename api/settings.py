"""Service settings: environment (`ZEL_*`) first, then an optional TOML file named by `ZEL_CONFIG`."""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from ledger.chain import ChainConfig, data_dir_from_env
from ledger.errors import ConfigurationError
from ledger.keys import Keystore
from ledger.store.db import default_url
from ledger.store.pii import PiiKeys


class Settings(BaseSettings):
    """Everything `zel serve` needs. Secrets left unset are generated for development data only."""

    model_config = SettingsConfigDict(env_prefix="ZEL_", extra="ignore")

    mode: Literal["development", "production"] = "development"
    data_dir: Path | None = None
    database_url: str | None = None
    chain_url: str | None = None
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
    standing_cache_seconds: float = 5.0  # how long another process's credit write may take to show; 0 disables
    anchor_in_process: bool = True  # `zel serve` runs the anchor worker; set false when `zel anchor run` does

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get("ZEL_CONFIG")
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config))
        return tuple(sources)

    # -- derived ---------------------------------------------------------------------------------

    @cached_property
    def root(self) -> Path:
        return data_dir_from_env(self.data_dir)

    @property
    def db_url(self) -> str:
        return self.database_url or default_url(self.root)

    def chain(self) -> ChainConfig:
        return ChainConfig.from_env(self.root, self.chain_url)

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

    def check_production(self, demo: bool) -> None:
        """Refuse to serve production with demo data, development secrets or development keys."""
        if self.mode != "production":
            return
        problems = []
        if demo:
            problems.append("--demo seeds demo users and secrets")
        if not self.token_secret or len(self.token_secret.get_secret_value()) < 32:
            problems.append("ZEL_TOKEN_SECRET must be set (at least 32 characters)")
        if not (self.pii_key_file or (self.pii_keys and self.pii_index_key)):
            problems.append("ZEL_PII_KEY_FILE (or ZEL_PII_KEYS and ZEL_PII_INDEX_KEY) must be set")
        problems.extend(f"{path} is a development keystore password" for path in Keystore(self.root).dev_password_files())
        if (self.root / "secrets" / "dev-token-secret").exists() and not self.token_secret:
            problems.append("the data directory holds a development token secret")
        if self.chain_url is None:
            problems.append("production needs a chain node (ZEL_CHAIN_URL), not the embedded chain")
        if problems:
            raise ConfigurationError("refusing to start in production mode: " + "; ".join(problems))
