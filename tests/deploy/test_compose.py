"""The compose file validates with docker-compose (Debian package) and keeps the chain network private."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import yaml

from tests.conftest import ROOT


def run_compose(profile: str, **env: str) -> subprocess.CompletedProcess:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is not installed: `make test` installs the Debian package"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES", "ZEL_"))} | {
        "COMPOSE_PROFILES": profile
    }
    return subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment | env,
        timeout=60,
    )


def compose_config(profile: str) -> dict:
    proc = run_compose(profile)
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)


def test_compose_validates_and_names_the_services():
    config = compose_config("ganache")
    services = config["services"]
    assert {"api", "anchor", "postgres", "redis", "ganache"} <= set(services)
    assert "foundry" not in yaml.safe_dump(config).lower() and "forge" not in yaml.safe_dump(config).lower()
    assert services["api"]["environment"]["ZEL_CHAIN_URL"] == "http://ganache:8545"
    # replicas of the API share their rate limits and cache invalidations through Redis, kept off the host
    assert services["api"]["environment"]["ZEL_REDIS_URL"] == "redis://redis:6379/0"
    assert "redis" in services["api"]["depends_on"] and "ports" not in services["redis"]


def test_besu_profile_is_four_validators_and_one_rpc_node():
    services = compose_config("besu")["services"]
    validators = [n for n in services if n.startswith("besu-validator")]
    assert len(validators) == 4
    for name in validators:
        svc = services[name]
        assert set(svc["networks"]) == {"chain"}, f"{name} must not join the application network"
        assert "ports" not in svc
        args = " ".join(svc["command"])
        assert "--permissions-nodes-config-file-enabled=true" in args and "--min-gas-price=0" in args
        assert "--rpc-http-enabled=false" in args
    rpc = services["besu-rpc"]
    assert set(rpc["networks"]) == {"chain", "app"}
    assert "--rpc-http-enabled=true" in " ".join(rpc["command"])
    config = compose_config("besu")
    assert config["networks"]["chain"].get("internal") is True


def test_the_service_holds_department_keys_only():
    """The API and the anchor worker get each department's own password and never the administrators'."""
    services = compose_config("ganache,admin")["services"]
    for name in ("api", "anchor"):
        svc = services[name]
        secrets = {s["source"] if isinstance(s, dict) else s for s in svc["secrets"]}
        assert "admin_keystore_password" not in secrets, name
        assert {"tax_keystore_password", "si_keystore_password", "amr_keystore_password"} <= secrets
        env = svc["environment"]
        assert "ZEL_KEYSTORE_PASSWORD_FILE" not in env and "ZEL_KEYSTORE_PASSWORD_FILE_ADMIN" not in env
        assert env["ZEL_KEYSTORE_PASSWORD_FILE_TAX"] != env["ZEL_KEYSTORE_PASSWORD_FILE_SI"]
    provision = services["provision"]
    assert provision["command"] == ["zel", "issuer", "provision"]
    assert "ZEL_KEYSTORE_PASSWORD_FILE_ADMIN" in provision["environment"]


def test_there_is_no_default_database_password():
    """PostgreSQL and zel read the database password from a secret file that is never in the repository; no
    password or secret in the compose file has a default value."""
    services = compose_config("ganache")["services"]
    postgres = services["postgres"]
    assert "POSTGRES_PASSWORD" not in postgres["environment"]
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"
    for name in ("api", "anchor"):
        env = services[name]["environment"]
        assert env["ZEL_DATABASE_URL"] == "postgresql://zel@postgres:5432/zel"  # no password in the URL
        assert env["ZEL_DATABASE_PASSWORD_FILE"] == "/run/secrets/postgres_password"
        assert "postgres_password" in {s if isinstance(s, str) else s["source"] for s in services[name]["secrets"]}
    source = (ROOT / "docker-compose.yml").read_text()
    assert re.findall(r"\$\{\w*(?:PASSWORD|SECRET):?-[^}]", source) == [], "a password with a default value"
    assert "PASSWORD=" not in (ROOT / ".env").read_text()


def test_the_database_password_comes_from_its_file(tmp_path):
    from api.settings import Settings

    secret = tmp_path / "postgres-password"
    secret.write_text("s3cret-from-file\n")
    settings = Settings(
        data_dir=tmp_path / "d", database_url="postgresql://zel@db:5432/zel", database_password_file=secret
    )
    assert settings.db_url == "postgresql://zel:s3cret-from-file@db:5432/zel"
    secret.write_text("zel")
    import pytest

    from ledger.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="default password"):
        Settings(
            data_dir=tmp_path / "d",
            mode="production",
            database_url="postgresql://zel@db:5432/zel",
            database_password_file=secret,
            chain_url="http://besu-rpc:8545",
        ).check_production(service=False)


def test_besu_nodes_take_transactions_from_the_signer_accounts_only():
    """Gas is free on the chain, so every node (above all the RPC node, the one on the application network)
    enforces the account allowlist that `zel network init` writes beside the node allowlist."""
    services = compose_config("besu")["services"]
    besu = [name for name in services if name.startswith("besu-")]
    assert "besu-rpc" in besu and len(besu) == 5
    for name in besu:
        args = services[name]["command"]
        assert "--permissions-accounts-config-file-enabled=true" in args, name
        assert "--permissions-accounts-config-file=/config/permissions_config.toml" in args, name
        assert any(v.endswith(":/config:ro") and "besu-network" in v for v in services[name]["volumes"]), name
