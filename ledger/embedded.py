"""The embedded chain: py-evm in process, behind web3's EthereumTesterProvider, persisted on disk.

py-evm keeps all chain state in a key-value database. `SqliteDB` stores it in one SQLite file under the
data directory; writes are buffered and committed in one SQLite transaction after each mined block, so a
crash leaves the chain at its last whole block. Reopening builds the chain over the same database at its
stored canonical head, and the pending block continues from there.
"""

from __future__ import annotations

import ast
import fcntl
import os
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from eth.abc import DatabaseAPI
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

from ledger.errors import ConfigurationError

# The embedded chain id: eth-tester's (web3's tester provider answers eth_chainId with it). Not 1337, so
# code that hard-codes ganache's id fails in the embedded tests, not in production.
EMBEDDED_CHAIN_ID = 131277322940537
GENESIS_BALANCE = to_wei(1_000_000_000, "ether")
GAS_LIMIT = 30_000_000


class SqliteDB(BaseDB):
    """A py-evm key-value database in one SQLite file, committed explicitly by `flush()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
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
        """Commit every buffered write in one transaction."""
        with self._lock:
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
        vm_configuration = ((0, CancunVM),)

        def create_header_from_parent(self, parent_header: Any, **header_params: Any) -> Any:
            # eth-tester keeps the gas limit constant; so do we.
            return super().create_header_from_parent(
                parent_header, **assoc(header_params, "gas_limit", parent_header.gas_limit)
            )

        def get_transaction_builder(self) -> Any:
            return super().get_vm().get_transaction_builder()

    return ZelEmbeddedChain


class PersistentPyEVMBackend(PyEVMBackend):
    """eth-tester's py-evm backend over a `SqliteDB`, reopened at its canonical head."""

    def __init__(self, db_path: Path, funded: list[str]) -> None:
        self.db_path = db_path
        self._funded = funded
        super().__init__()

    def reset_to_genesis(self, *args: Any, **kwargs: Any) -> None:
        self._lock_file = _exclusive_lock(self.db_path.with_suffix(".lock"))
        self.kv = SqliteDB(self.db_path)
        atomic: DatabaseAPI = AtomicDB(self.kv)
        chain_cls = _chain_class()
        # eth-tester manages no accounts here: zel signs every transaction locally.
        self.account_keys = []
        try:
            self.chain = chain_cls(atomic)
        except CanonicalHeadNotFound:  # an empty database: a new chain
            params = get_default_genesis_params({"gas_limit": GAS_LIMIT, "timestamp": int(time.time())})
            state = {
                bytes.fromhex(addr.removeprefix("0x")): {
                    "balance": GENESIS_BALANCE,
                    "nonce": 0,
                    "code": b"",
                    "storage": {},
                }
                for addr in self._funded
            }
            self.chain = chain_cls.from_genesis(atomic, params, state)
            self.kv.flush()

    def mine_blocks(self, num_blocks: int = 1, coinbase: bytes = b"\x00" * 20) -> tuple[bytes, ...]:
        hashes = super().mine_blocks(num_blocks, coinbase)
        self.kv.flush()
        return hashes

    def add_account(self, private_key: Any) -> None:  # pragma: no cover - we never unlock accounts
        raise NotImplementedError("zel signs locally; the embedded chain holds no unlocked accounts")

    def close(self) -> None:
        self.kv.close()
        self._lock_file.close()


def _exclusive_lock(path: Path) -> Any:
    """Hold an exclusive lock on `path` for the life of the returned file: one process per embedded chain."""
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise ConfigurationError(
            f"the embedded chain in {path.parent} is in use by {holder}; stop it, or run the anchor worker "
            "inside `zel serve` (it does by default), or point both at a node with ZEL_CHAIN_URL"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


def chain_db_path(data_dir: Path) -> Path:
    return data_dir / "chain" / "chain.sqlite"


def open_embedded_tester(data_dir: Path, funded: list[str]) -> tuple[EthereumTester, PersistentPyEVMBackend]:
    """Open (or create) the embedded chain under `data_dir/chain`, funding `funded` at genesis."""
    path = chain_db_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    backend = PersistentPyEVMBackend(path, funded)
    tester = EthereumTester(backend=backend, auto_mine_transactions=True)
    return tester, backend



class LockedTesterProvider(EthereumTesterProvider):
    """EthereumTesterProvider serialised by a lock: py-evm is not safe for concurrent callers."""

    def __init__(self, tester: Any) -> None:
        super().__init__(ethereum_tester=tester)
        self._lock = threading.RLock()

    def make_request(self, method: Any, params: Any) -> Any:
        with self._lock:
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
