"""Shared fixtures: every contract behaviour suite runs on the embedded chain and on a ganache node."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from api.settings import Settings
from ledger import keys
from ledger.chain import ChainConfig
from ledger.client import ADMIN_KEY, Ledger, bootstrap
from ledger.keys import Keystore
from ledger.kinds import CreditScope, Kind, department_id, kinds_mask, scopes_mask

# The platform fixtures (the app on SQLite and PostgreSQL, seeded once per session and copied per test) serve the
# api, certificates and credit suites alike.
pytest_plugins = ["tests.platform_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
# Throwaway keystores in tests: scrypt at 2**10 instead of 2**18.
os.environ.setdefault("ZEL_KDF_N", "1024")
os.environ.setdefault("ZEL_SCRYPT_N", "1024")  # password hashes too (N=2**17 in service); needs ZEL_MODE=development
os.environ.pop("ZEL_CHAIN_URL", None)
os.environ.pop("ZEL_DATA_DIR", None)
# Production is the service's default; the suites run development data unless a test asks for production.
os.environ["ZEL_MODE"] = "development"
# Keystores opened outside a context (the ledger suites' own deployments) get the settings' policy, as the
# composition root gives every context: the cost above and the password variables the tests set.
keys.configure(Settings().key_policy())

# The admin key the tests fund on ganache (a fixed test key, never used outside tests).
GANACHE_ADMIN_KEY = "0x" + "a1" * 32
TEST_PASSWORD = "test-only-password"

TAX = department_id("tax.440604")
SI = department_id("si.440604")
AMR = department_id("amr.440604")
AMR_SCOPES = scopes_mask(
    [CreditScope.PENALTY, CreditScope.INSPECTION, CreditScope.GRADE, CreditScope.RED_LIST, CreditScope.BLACK_LIST]
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rpc(url: str, method: str, params: list | None = None) -> dict:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read())


@dataclass
class GanacheNode:
    url: str
    process: subprocess.Popen

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_ganache(extra: list[str] | None = None) -> GanacheNode:
    """Start ganache from npm on a free loopback port, with the test admin key funded."""
    binary = ROOT / "node_modules" / ".bin" / "ganache"
    if not binary.exists():
        raise RuntimeError("ganache is not installed: run `make test` (it runs `npm ci`)")
    port = free_port()
    args = [
        str(binary),
        "--server.host",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--logging.quiet",
        "--chain.chainId",
        "1337",
        "--wallet.accounts",
        f"{GANACHE_ADMIN_KEY},{10**24}",
        *(extra or []),
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ganache exited: {proc.stderr.read().decode()[-500:]}")
        try:
            if rpc(url, "eth_chainId").get("result"):
                return GanacheNode(url, proc)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("ganache did not answer within 60 s")


def provision_on_node(data: Path, node_url: str, database_url: str):  # noqa: ANN201 - api.context.AppContext
    """A deployment on the node at `node_url` (ganache: the test admin key is funded there), provisioned as the demo
    does, its store at `database_url`; the keystores' password is TEST_PASSWORD (ZEL_KEYSTORE_PASSWORD)."""
    from api.provisioning import provisioned_context

    store = Keystore(data)
    if not store.exists("admin"):
        store.new("admin", TEST_PASSWORD, private_key=bytes.fromhex(GANACHE_ADMIN_KEY[2:]))
    return provisioned_context(Settings(data_dir=data, chain_url=node_url, database_url=database_url))


@pytest.fixture(scope="session")
def ganache() -> Iterator[GanacheNode]:
    node = start_ganache()
    yield node
    node.stop()


@dataclass
class LedgerEnv:
    """A freshly deployed set of contracts with the usual cast of accounts."""

    ledger: Ledger
    admin: LocalAccount
    tax_key: LocalAccount  # tax bureau: tax certificates and credit records
    si_key: LocalAccount  # social-insurance bureau: si certificates only
    amr_key: LocalAccount  # market supervision: credit records and inspections
    outsider: LocalAccount  # a funded account with no role
    inspector: LocalAccount
    data_dir: Path
    backend: str

    def now(self) -> int:
        return self.ledger.block_timestamp()

    def advance(self, seconds: int) -> None:
        """Move chain time forward and mine a block (eth-tester time travel, ganache evm_increaseTime)."""
        if self.backend == "embedded":
            self.ledger.conn.backend.time_travel(self.now() + seconds)
        else:
            url = self.ledger.conn.config.rpc_url
            rpc(url, "evm_increaseTime", [seconds])
            rpc(url, "evm_mine")


def deploy_env(data_dir: Path, rpc_url: str | None, backend: str) -> LedgerEnv:
    """Deploy the contracts, admit the three departments, register their keys, grant the inspector, fund all."""
    store = Keystore(data_dir)
    os.environ["ZEL_KEYSTORE_PASSWORD"] = TEST_PASSWORD
    if rpc_url:
        store.new(ADMIN_KEY, TEST_PASSWORD, private_key=bytes.fromhex(GANACHE_ADMIN_KEY[2:]))
    ledger, admin, _ = bootstrap(ChainConfig(data_dir=data_dir, rpc_url=rpc_url))
    accounts = [Account.create() for _ in range(5)]
    tax_key, si_key, amr_key, outsider, inspector = accounts
    ledger.admit_department(admin, TAX, "国家税务总局佛山市禅城区税务局", scopes_mask([CreditScope.TAX]))
    ledger.admit_department(admin, SI, "佛山市禅城区社会保险基金管理局", scopes_mask([CreditScope.SOCIAL_INSURANCE]))
    ledger.admit_department(admin, AMR, "佛山市禅城区市场监督管理局", AMR_SCOPES)
    ledger.register_key(admin, tax_key.address, TAX, kinds_mask([Kind.TAX_CERTIFICATE, Kind.CREDIT_RECORD]))
    ledger.register_key(admin, si_key.address, SI, kinds_mask([Kind.SOCIAL_INSURANCE_CERTIFICATE]))
    ledger.register_key(admin, amr_key.address, AMR, kinds_mask([Kind.CREDIT_RECORD, Kind.INSPECTION]))
    ledger.grant_inspector(admin, inspector.address, AMR)
    for account in accounts:
        ledger.fund(admin, account.address)
    return LedgerEnv(ledger, admin, tax_key, si_key, amr_key, outsider, inspector, data_dir, backend)


def start_clock(env: LedgerEnv) -> LedgerEnv:
    """Mine one block 5 s ahead of both the chain and the wall clock: keys' validFrom lies strictly in the past,
    so "before" times are meaningful, and the next blocks follow on at once (not after a jump to the wall clock,
    as on a chain copied or reverted from earlier in the session)."""
    if env.backend == "embedded":
        env.ledger.conn.backend.time_travel(max(env.now(), int(time.time())) + 5)
    else:
        env.advance(5)  # ganache stamps blocks with its own clock (wall time plus the increases)
    return env


def make_env(data_dir: Path, rpc_url: str | None, backend: str) -> LedgerEnv:
    return start_clock(deploy_env(data_dir, rpc_url, backend))


class EnvTemplates:
    """One deployed `LedgerEnv` per backend and session (per xdist worker), for each `env` test to start from:
    the embedded chain's data directory is copied; ganache returns to an `evm_snapshot` (and the test's copy of
    the data directory holds the deployment record and admin keystore)."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._built: dict[str, LedgerEnv] = {}
        self._snapshot: str | None = None

    def checkout(self, backend: str, rpc_url: str | None, data_dir: Path) -> LedgerEnv:
        template = self._built.get(backend)
        if backend == "ganache" and template is not None:
            reverted = rpc(rpc_url, "evm_revert", [self._snapshot]).get("result")
            template = template if reverted else None  # someone reverted past our snapshot: deploy again
        if template is None:
            template = deploy_env(self._tmp.mktemp(f"env-{backend}") / "data", rpc_url, backend)
            template.ledger.close()
            self._built[backend] = template
        if backend == "ganache":
            self._snapshot = rpc(rpc_url, "evm_snapshot")["result"]
        shutil.copytree(template.data_dir, data_dir)
        os.environ["ZEL_KEYSTORE_PASSWORD"] = TEST_PASSWORD  # as `deploy_env` leaves it
        ledger = Ledger.open(ChainConfig(data_dir=data_dir, rpc_url=rpc_url))
        return start_clock(replace(template, ledger=ledger, data_dir=data_dir))


@pytest.fixture(scope="session")
def env_templates(tmp_path_factory: pytest.TempPathFactory) -> EnvTemplates:
    return EnvTemplates(tmp_path_factory)


@pytest.fixture(params=["embedded", pytest.param("ganache", marks=pytest.mark.ganache)])
def env(request: pytest.FixtureRequest, tmp_path: Path, env_templates: EnvTemplates) -> Iterator[LedgerEnv]:
    """Contracts deployed on the embedded chain, then (second run) on ganache, in the same state for every test."""
    rpc_url = request.getfixturevalue("ganache").url if request.param == "ganache" else None
    environment = env_templates.checkout(request.param, rpc_url, tmp_path / "data")
    yield environment
    environment.ledger.close()


@pytest.fixture
def zel_bin() -> str:
    path = shutil.which("zel", path=str(ROOT / ".venv" / "bin")) or shutil.which("zel")
    assert path, "the zel entry point is not installed (pip install -e .)"
    return path


def emitted(contract, result, name: str) -> list[dict]:
    """The decoded `name` events that `contract` emitted in a mined transaction."""
    event = contract.events[name]()
    found = []
    for log in result.logs:
        if log["address"] != contract.address:
            continue
        try:
            found.append(dict(event.process_log(log)["args"]))
        except Exception:  # another event of the same contract
            continue
    return found
