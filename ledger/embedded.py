"""The embedded chain: py-evm in process, behind web3's EthereumTesterProvider, persisted on disk.

py-evm keeps all chain state in a key-value database. `SqliteDB` stores it in one SQLite file under the
data directory; writes are buffered and committed in one SQLite transaction after each mined block, so a
crash leaves the chain at its last whole block. Reopening builds the chain over the same database at its
stored canonical head, and the pending block continues from there.

One process writes: it holds an exclusive lock on `chain/chain.lock`, whose text names it (pid, command and, for
`zel serve`, its URL). Another process that finds the chain held opens it read-only: the SQLite file with
`mode=ro`, no lock, nothing ever flushed, no block ever mined. SQLite's WAL lets it read beside the writer without
blocking it, and since the writer commits whole blocks, the reader sees the last whole block. Reading is all that
verification, key lists, statuses and events need; a transaction is refused with `ChainHeld`, naming the holder.
"""

from __future__ import annotations

import ast
import fcntl
import json
import os
import re
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB
from eth.exceptions import CanonicalHeadNotFound
from eth.vm.forks import CancunVM
from eth_tester import EthereumTester
from eth_tester.backends.pyevm.main import PyEVMBackend, get_default_genesis_params
from eth_tester.exceptions import TransactionFailed as TesterTransactionFailed
from eth_utils import ValidationError as EthValidationError
from eth_utils import to_wei
from toolz import assoc
from web3 import EthereumTesterProvider

from ledger.errors import ChainHeld, NotDeployed

# The embedded chain id: eth-tester's (web3's tester provider answers eth_chainId with it). Not 1337, so
# code that hard-codes ganache's id fails in the embedded tests, not in production.
EMBEDDED_CHAIN_ID = 131277322940537
GENESIS_BALANCE = to_wei(1_000_000_000, "ether")
GAS_LIMIT = 30_000_000


class SqliteDB(BaseDB):
    """A py-evm key-value database in one SQLite file, committed explicitly by `flush()`.

    `read_only`: opened with SQLite's `mode=ro` beside the process that writes; every read is its own short
    transaction (never blocking the writer's commits or checkpoints), and `flush()` only drops what py-evm
    buffered in memory.
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path, self.read_only = path, read_only
        self._lock = threading.RLock()
        if read_only:
            self._conn = sqlite3.connect(
                f"file:{quote(str(path))}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
            )
        else:
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL)")
        self._pending: dict[bytes, bytes | None] = {}

    def __getitem__(self, key: bytes) -> bytes:
        with self._lock:
            if key in self._pending:
                value = self._pending[key]
                if value is None:
                    raise KeyError(key)
                return value
            row = self._conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return row[0]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        with self._lock:
            self._pending[bytes(key)] = bytes(value)

    def __delitem__(self, key: bytes) -> None:
        if not self._exists(key):
            raise KeyError(key)
        with self._lock:
            self._pending[bytes(key)] = None

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def flush(self) -> None:
        """Commit every buffered write in one transaction (read-only: drop them)."""
        with self._lock:
            if self.read_only:
                self._pending.clear()
                return
            if not self._pending:
                return
            puts = [(k, v) for k, v in self._pending.items() if v is not None]
            dels = [(k,) for k, v in self._pending.items() if v is None]
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", puts)
            self._conn.executemany("DELETE FROM kv WHERE k = ?", dels)
            self._conn.execute("COMMIT")
            self._pending.clear()

    def discard(self) -> None:
        """Drop buffered writes (state of a pending block that was never mined)."""
        with self._lock:
            self._pending.clear()

    def close(self) -> None:
        with self._lock:
            self._pending.clear()
            self._conn.close()


def _chain_class() -> type[MiningChain]:
    class ZelEmbeddedChain(MiningChain):
        chain_id = EMBEDDED_CHAIN_ID
        vm_configuration = ((0, CancunVM),)  # type: ignore[assignment]  # py-evm types it as BlockNumber pairs

        def create_header_from_parent(self, parent_header: Any, **header_params: Any) -> Any:
            # eth-tester keeps the gas limit constant; so do we.
            return super().create_header_from_parent(
                parent_header, **assoc(header_params, "gas_limit", parent_header.gas_limit)
            )

        def get_transaction_builder(self) -> Any:
            return super().get_vm().get_transaction_builder()

    return ZelEmbeddedChain


@dataclass(frozen=True)
class ChainHolder:
    """The process that holds an embedded chain, as its lock file names it."""

    pid: int | None = None
    command: str | None = None  # e.g. "zel serve"
    url: str | None = None  # where `zel serve` answers

    def describe(self) -> str:
        """E.g. "`zel serve` (pid 4242) at http://127.0.0.1:8000"."""
        who = f"`{self.command}`" if self.command else "another process"
        return who + (f" (pid {self.pid})" if self.pid else "") + (f" at {self.url}" if self.url else "")

    def as_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "command": self.command, "url": self.url}


class PersistentPyEVMBackend(PyEVMBackend):
    """eth-tester's py-evm backend over a `SqliteDB`, reopened at its canonical head.

    `holder`: open read-only beside the process that holds the chain (see the module docstring); mining, and so
    every transaction, raises `ChainHeld`.
    """

    def __init__(self, db_path: Path, funded: list[str], *, holder: ChainHolder | None = None) -> None:
        self.db_path = db_path
        self._funded = funded
        self.holder = holder
        self._lock_file: Any = None
        super().__init__()

    @property
    def read_only(self) -> bool:
        return self.holder is not None

    def reset_to_genesis(self, *args: Any, **kwargs: Any) -> None:
        if not self.read_only:
            self._lock_file = _exclusive_lock(lock_path(self.db_path.parent.parent))
        self.kv = SqliteDB(self.db_path, read_only=self.read_only)
        atomic: Any = AtomicDB(self.kv)  # py-evm's MiningChain wants its AtomicDatabaseAPI protocol
        chain_cls = _chain_class()
        self._reopen = lambda: chain_cls(atomic)
        # eth-tester manages no accounts here: zel signs every transaction locally.
        self.account_keys: list[Any] = []
        try:
            self.chain = chain_cls(atomic)
        except (CanonicalHeadNotFound, sqlite3.OperationalError) as exc:  # an empty database: a new chain
            if self.read_only:
                self.close()
                raise NotDeployed(
                    f"the embedded chain in {self.db_path.parent} has no blocks yet (run `zel up` "
                    "or `zel contracts deploy`)"
                ) from None
            if not isinstance(exc, CanonicalHeadNotFound):
                raise
            params = get_default_genesis_params({"gas_limit": GAS_LIMIT, "timestamp": int(time.time())})
            state: dict[Any, Any] = {
                bytes.fromhex(addr.removeprefix("0x")): {
                    "balance": GENESIS_BALANCE,
                    "nonce": 0,
                    "code": b"",
                    "storage": {},
                }
                for addr in self._funded
            }
            self.chain = cast(MiningChain, chain_cls.from_genesis(atomic, params, state))
            self.kv.flush()

    def refuse_writes(self, instead: str | None = None) -> None:
        """Raise `ChainHeld` when this process only reads the chain (`instead`: see `held_error`)."""
        if self.holder is not None:
            raise held_error(self.db_path.parent.parent, self.holder, instead)

    def follow(self) -> None:
        """Read-only: move to the newest whole block the holder committed (the pending block is this process's own
        and lives in memory, so it is rebuilt on top of the holder's head)."""
        if self.read_only and self.chain.chaindb.get_canonical_head().hash != self.chain.header.parent_hash:
            self.chain = self._reopen()

    def announce(self, url: str) -> None:
        """Name where this process answers (`zel serve`'s URL) in the lock file, for the commands it turns away."""
        if self._lock_file is not None:
            _write_holder(self._lock_file, url)

    def mine_blocks(self, num_blocks: int = 1, coinbase: bytes = b"\x00" * 20) -> tuple[bytes, ...]:
        self.refuse_writes()
        hashes = super().mine_blocks(num_blocks, coinbase)
        self.kv.flush()
        return hashes

    def add_account(self, private_key: Any) -> None:  # pragma: no cover - we never unlock accounts
        raise NotImplementedError("zel signs locally; the embedded chain holds no unlocked accounts")

    def close(self) -> None:
        self.kv.close()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def command_line() -> str:
    """This process's command, as a person typed it: the program and its subcommands, e.g. "zel cert revoke"."""
    program = sys.argv[0] if sys.argv and sys.argv[0] else "python"
    # `zel`, or `python -m api.cli` (argv[0] is then the path of api/cli/__main__.py)
    words = ["zel" if program.endswith(("api/cli/__main__.py", "api.cli")) else Path(program).name]
    for arg in sys.argv[1:3]:
        if arg.startswith("-") or "/" in arg or len(arg) > 24:
            break
        words.append(arg)
    return " ".join(words)


def held_error(data_dir: Path, holder: ChainHolder, instead: str | None = None) -> ChainHeld:
    """The refusal of a write to a chain that `holder` holds, naming this command and saying what to do:
    `instead` (where "{url}" stands for the holder's URL), or else stop the holder."""
    url = holder.url or "its URL"
    what = (
        (instead.replace("{url}", url) + ", or stop it and run this again")
        if instead
        else "stop it and run this again, or point both at one node with ZEL_CHAIN_URL"
    )
    return ChainHeld(
        f"`{command_line()}` writes to the embedded chain in {data_dir / 'chain'}, which "
        f"{holder.describe()} holds: {what}",
        detail={"holder": holder.as_dict()},
    )


def _write_holder(handle: Any, url: str | None = None) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"pid": os.getpid(), "command": command_line(), "url": url}))
    handle.flush()


def _read_holder(text: str) -> ChainHolder:
    text = text.strip()
    try:
        value = json.loads(text)
        return ChainHolder(int(value["pid"]), value.get("command"), value.get("url"))
    except (ValueError, KeyError, TypeError):
        pid = text.removeprefix("pid ").strip()  # written by a zel from before the JSON record
        return ChainHolder(int(pid) if pid.isdigit() else None)


def _exclusive_lock(path: Path) -> Any:
    """Hold an exclusive lock on `path` for the life of the returned file: one writing process per embedded chain.
    Raises `ChainHeld` (naming the holder) when another process has it."""
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = _read_holder(handle.read())
        handle.close()
        raise held_error(path.parent.parent, holder) from None
    _write_holder(handle)
    return handle


def lock_path(data_dir: Path) -> Path:
    return data_dir / "chain" / "chain.lock"


def chain_holder(data_dir: Path) -> ChainHolder | None:
    """Who holds the embedded chain under `data_dir` now (None when nobody does)."""
    try:
        handle = open(lock_path(data_dir))
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_holder(handle.read())
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def chain_db_path(data_dir: Path) -> Path:
    return data_dir / "chain" / "chain.sqlite"


def open_embedded_tester(
    data_dir: Path, funded: list[str], *, read_only: bool | None = False
) -> tuple[EthereumTester, PersistentPyEVMBackend]:
    """Open (or create) the embedded chain under `data_dir/chain`, funding `funded` at genesis.

    `read_only`: False takes the chain for writing (`ChainHeld` when another process has it); True opens it
    read-only; None opens it for writing when free, else read-only beside its holder.
    """
    path = chain_db_path(data_dir)
    if read_only is not False and not path.exists():
        raise NotDeployed(f"no embedded chain in {data_dir} yet (run `zel up` or `zel contracts deploy`)")
    if read_only is False:
        path.parent.mkdir(parents=True, exist_ok=True)
        backend = PersistentPyEVMBackend(path, funded)
    elif read_only is None:
        try:
            backend = PersistentPyEVMBackend(path, funded)
        except ChainHeld as exc:
            holder = ChainHolder(**exc.detail["holder"])
            backend = PersistentPyEVMBackend(path, funded, holder=holder)
    else:
        backend = PersistentPyEVMBackend(path, funded, holder=chain_holder(data_dir) or ChainHolder())
    tester = EthereumTester(backend=backend, auto_mine_transactions=True)
    return tester, backend


# What a read-only process may not ask of the chain: the request is refused before eth-tester touches its state.
WRITES = frozenset(
    {
        "eth_sendRawTransaction",
        "eth_sendTransaction",
        "evm_mine",
        "evm_snapshot",
        "evm_revert",
        "testing_mine",
        "testing_timeTravel",
        "testing_snapshot",
        "testing_revert",
        "testing_reset",
    }
)


class LockedTesterProvider(EthereumTesterProvider):
    """EthereumTesterProvider serialised by a lock: py-evm is not safe for concurrent callers."""

    def __init__(self, tester: Any) -> None:
        super().__init__(ethereum_tester=tester)
        self._lock = threading.RLock()

    def make_request(self, method: Any, params: Any) -> Any:
        assert self.ethereum_tester is not None  # given at construction
        backend = self.ethereum_tester.backend
        if method in WRITES:
            backend.refuse_writes()
        with self._lock:
            backend.follow()
            try:
                return super().make_request(method, params)
            except TesterTransactionFailed as exc:
                # Answer like a node does (JSON-RPC error 3 with the revert data), so that web3 raises
                # ContractCustomError on every backend and ledger.tx maps one shape of error.
                return {"jsonrpc": "2.0", "id": 0, "error": _revert_error(str(exc.args[0]))}
            except EthValidationError as exc:  # e.g. a stale nonce: answer as geth and Besu do
                return {"jsonrpc": "2.0", "id": 0, "error": {"code": -32000, "message": _validation_message(exc)}}


def _validation_message(exc: Exception) -> str:
    text = str(exc)
    match = re.search(r"Invalid transaction nonce: Expected (\d+), but got (\d+)", text)
    if match and int(match.group(2)) < int(match.group(1)):
        return f"nonce too low: {text}"
    return text


def _revert_error(text: str) -> dict[str, Any]:
    reason = text.removeprefix("execution reverted: ")
    if reason.startswith(("b'", 'b"')):
        try:
            data = ast.literal_eval(reason)
            return {"code": 3, "message": "execution reverted", "data": "0x" + bytes(data).hex()}
        except (ValueError, SyntaxError):
            pass
    return {"code": 3, "message": f"execution reverted: {reason}"}
