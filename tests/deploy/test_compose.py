"""The compose file validates with docker-compose (Debian package) and keeps the chain network private."""

from __future__ import annotations

import os
import shutil
import subprocess

import yaml

from tests.conftest import ROOT


def compose_config(profile: str) -> dict:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is not installed: `make test` installs the Debian package"
    env = {**os.environ, "COMPOSE_PROFILES": profile}
    proc = subprocess.run([binary, "-f", str(ROOT / "docker-compose.yml"), "config"], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)


def test_compose_validates_and_names_the_services():
    config = compose_config("ganache")
    services = config["services"]
    assert {"api", "anchor", "postgres", "ganache"} <= set(services)
    assert "foundry" not in yaml.safe_dump(config).lower() and "forge" not in yaml.safe_dump(config).lower()
    assert services["api"]["environment"]["ZEL_CHAIN_URL"] == "http://ganache:8545"


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
