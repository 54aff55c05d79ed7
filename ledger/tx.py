"""Sending transactions: local signing, nonces, gas, fees, retries, receipts and error mapping.

Every transaction is signed here with an eth-account key and sent with `eth_sendRawTransaction`; the
client never calls `eth_sendTransaction` (Besu has no unlocked accounts). Contract custom errors and RPC
failures leave this module as `ledger.errors` exceptions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from eth_abi import decode as abi_decode
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import (
    ContractLogicError,
    ContractPanicError,
    ProviderConnectionError,
    TimeExhausted,
    TransactionNotFound,
    Web3RPCError,
)

from ledger.errors import (
    InsufficientFunds,
    LedgerError,
    NodeUnavailable,
    TransactionFailed,
    TransactionTimeout,
    contract_error,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

GAS_HEADROOM = 1.25
GAS_PAD = 10_000
TRANSIENT = (requests.ConnectionError, requests.Timeout, ProviderConnectionError, ConnectionError, TimeoutError)


class ErrorDecoder:
    """Decodes revert data of our contracts' custom errors into typed `LedgerError`s."""

    def __init__(self, abis: list[list[dict[str, Any]]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str], list[str]]] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = [i["type"] for i in item["inputs"]]
                names = [i["name"] for i in item["inputs"]]
                selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
                self._errors[selector] = (item["name"], types, names)

    def decode(self, data: str | bytes | None) -> LedgerError | None:
        if data is None:
            return None
        raw = bytes.fromhex(data.removeprefix("0x")) if isinstance(data, str) else bytes(data)
        entry = self._errors.get(raw[:4])
        if entry is None:
            return None
        name, types, names = entry
        values = abi_decode(types, raw[4:]) if types else ()
        return contract_error(name, dict(zip(names, values, strict=True)))


@contextmanager
def map_errors(decoder: ErrorDecoder, action: str) -> Iterator[None]:
    """Translate web3, RPC and transport exceptions raised inside the block into `LedgerError`s."""
    try:
        yield
    except LedgerError:
        raise
    except ContractPanicError as exc:
        raise TransactionFailed(f"{action} failed with a panic: {exc.message}") from exc
    except ContractLogicError as exc:  # ContractCustomError included
        mapped = decoder.decode(_revert_data(exc.data))
        raise (mapped or TransactionFailed(f"{action} reverted: {exc.message}")) from exc
    except TRANSIENT as exc:
        raise NodeUnavailable(f"chain node unreachable during {action}: {exc}") from exc
    except Web3RPCError as exc:
        text = str(exc.message).lower()
        if "insufficient funds" in text or "cannot afford" in text:
            raise InsufficientFunds(
                f"{action}: the signing key cannot pay for gas on this chain; fund it first"
            ) from exc
        mapped = decoder.decode(_rpc_error_data(exc))
        raise (mapped or TransactionFailed(f"{action} rejected by the node: {exc.message}")) from exc


def _revert_data(data: Any) -> str | None:
    """Revert data as a hex string, from a node's plain `data` or ganache's `{"result": "0x..."}`."""
    if isinstance(data, dict):
        data = data.get("result") or data.get("data")
    return data if isinstance(data, str) and data.startswith("0x") else None


def _rpc_error_data(exc: Web3RPCError) -> str | None:
    rpc = exc.rpc_response or {}
    error = rpc.get("error") if isinstance(rpc, dict) else None
    return _revert_data(error.get("data")) if isinstance(error, dict) else None


def with_retries(fn: Callable[[], T], *, attempts: int, base_delay: float, action: str) -> T:
    """Call `fn`, retrying transport failures with exponential backoff; then `NodeUnavailable`."""
    delay = base_delay
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except TRANSIENT as exc:
            if attempt == attempts:
                raise NodeUnavailable(
                    f"chain node unreachable during {action} after {attempts} attempts: {exc}"
                ) from exc
            log.warning("%s: node unreachable (%s), retry %d in %.1fs", action, exc, attempt, delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
    raise AssertionError("unreachable")


class NonceManager:
    """Hands out nonces per sender; safe for concurrent senders sharing one key in one process."""

    def __init__(self, w3: Web3) -> None:
        self._w3 = w3
        self._lock = threading.Lock()
        self._next: dict[str, int] = {}
        self.locks: dict[str, threading.Lock] = {}

    def sender_lock(self, address: str) -> threading.Lock:
        with self._lock:
            return self.locks.setdefault(address, threading.Lock())

    def reserve(self, address: str) -> int:
        with self._lock:
            if address not in self._next:
                self._next[address] = self._w3.eth.get_transaction_count(to_checksum_address(address), "pending")
            nonce = self._next[address]
            self._next[address] = nonce + 1
            return nonce

    def resync(self, address: str) -> None:
        """Forget the cached nonce; the next reservation asks the node (after "nonce too low")."""
        with self._lock:
            self._next.pop(address, None)


@dataclass(frozen=True)
class TxResult:
    """A mined transaction."""

    tx_hash: str
    block_number: int
    gas_used: int
    logs: tuple[Any, ...]


class TxSender:
    """Builds, signs, sends and awaits transactions for any number of local keys."""

    def __init__(
        self,
        w3: Web3,
        decoder: ErrorDecoder,
        *,
        receipt_timeout: float = 120.0,
        retries: int = 5,
        retry_delay: float = 0.5,
        poll_interval: float = 0.1,
    ) -> None:
        self.w3 = w3
        self.decoder = decoder
        self.nonces = NonceManager(w3)
        self.receipt_timeout = receipt_timeout
        self.retries = retries
        self.retry_delay = retry_delay
        self.poll_interval = poll_interval
        self._chain_id: int | None = None

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self._rpc(lambda: self.w3.eth.chain_id, "reading the chain id")
        return self._chain_id

    def _rpc(self, fn: Callable[[], T], action: str) -> T:
        with map_errors(self.decoder, action):
            return with_retries(fn, attempts=self.retries, base_delay=self.retry_delay, action=action)

    def fees(self) -> dict[str, int]:
        """Fee fields: zero gas price on free-gas networks (Besu QBFT), EIP-1559 where there is a base fee."""
        block = self._rpc(lambda: self.w3.eth.get_block("latest"), "reading the latest block")
        base = block.get("baseFeePerGas")
        if base is None:
            price = self._rpc(lambda: self.w3.eth.gas_price, "reading the gas price")
            return {"gasPrice": price}
        if base == 0:
            return {"maxFeePerGas": 0, "maxPriorityFeePerGas": 0}
        tip = 10**9
        return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}

    def transact(self, account: LocalAccount, call: Any, action: str, *, gas: int | None = None) -> TxResult:
        """Send contract function call `call` signed by `account`; wait for and return its receipt."""
        sender = account.address
        if gas is None:
            estimate = self._rpc(lambda: call.estimate_gas({"from": sender}), action)
            gas = int(estimate * GAS_HEADROOM) + GAS_PAD
        with self.nonces.sender_lock(sender):
            # Serialising one key's sends keeps nonces gap-free when a send fails; other keys go on.
            for _ in range(3):
                nonce = self._rpc(lambda: self.nonces.reserve(sender), action)
                tx = self._rpc(
                    lambda n=nonce: call.build_transaction(  # type: ignore[misc]
                        {"from": sender, "nonce": n, "gas": gas, "chainId": self.chain_id, **self.fees()}
                    ),
                    action,
                )
                signed = account.sign_transaction(tx)
                try:
                    tx_hash = self._send_raw(signed.raw_transaction, signed.hash, action)
                    break
                except _NonceTooLow:
                    self.nonces.resync(sender)
            else:
                raise TransactionFailed(f"{action}: the node kept rejecting our nonce as too low")
        return self.wait(tx_hash, action, call=call, sender=sender)

    def send_value(self, account: LocalAccount, to: str, value: int, action: str = "transfer") -> TxResult:
        """Send plain value (funding a key on chains that charge gas)."""
        sender = account.address
        with self.nonces.sender_lock(sender):
            nonce = self._rpc(lambda: self.nonces.reserve(sender), action)
            tx: dict[str, Any] = {
                "to": to,
                "value": value,
                "gas": 21_000,
                "nonce": nonce,
                "chainId": self.chain_id,
                **self.fees(),
            }
            signed = account.sign_transaction(tx)
            tx_hash = self._send_raw(signed.raw_transaction, signed.hash, action)
        return self.wait(tx_hash, action)

    def _send_raw(self, raw: bytes, expected_hash: bytes, action: str) -> bytes:
        def send() -> bytes:
            try:
                return bytes(self.w3.eth.send_raw_transaction(raw))
            except Web3RPCError as exc:
                text = str(exc.message).lower()
                if "already known" in text or "known transaction" in text or "already imported" in text:
                    return bytes(expected_hash)  # an earlier attempt got through
                if any(m in text for m in _NONCE_MESSAGES):
                    if self._receipt_or_none(expected_hash) is not None:
                        return bytes(expected_hash)
                    raise _NonceTooLow() from exc
                raise

        with map_errors(self.decoder, action):
            return with_retries(send, attempts=self.retries, base_delay=self.retry_delay, action=action)

    def _receipt_or_none(self, tx_hash: bytes) -> Any:
        try:
            return self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        except (TransactionNotFound, TimeExhausted):
            return None

    def wait(self, tx_hash: bytes, action: str, *, call: Any = None, sender: str | None = None) -> TxResult:
        """Await a receipt for up to the receipt timeout; map a reverted transaction to its error."""
        deadline = time.monotonic() + self.receipt_timeout
        while True:
            receipt = self._rpc(lambda: self._receipt_or_none(tx_hash), action)
            if receipt is not None:
                break
            if time.monotonic() > deadline:
                raise TransactionTimeout(
                    f"{action}: transaction 0x{tx_hash.hex()} not mined within {self.receipt_timeout:.0f}s",
                    detail={"tx_hash": "0x" + tx_hash.hex()},
                )
            time.sleep(self.poll_interval)
        if receipt["status"] != 1:
            if call is not None:
                # Replay at the failing block to learn the custom error.
                with map_errors(self.decoder, action):
                    call.call({"from": sender}, block_identifier=receipt["blockNumber"] - 1)
            raise TransactionFailed(f"{action}: transaction 0x{tx_hash.hex()} reverted")
        return TxResult("0x" + tx_hash.hex(), receipt["blockNumber"], receipt["gasUsed"], tuple(receipt["logs"]))


class _NonceTooLow(Exception):
    """The node says our nonce is stale (geth/Besu "nonce too low", ganache "correct nonce")."""


_NONCE_MESSAGES = ("nonce too low", "nonce is too low", "incorrect nonce", "correct nonce", "invalid transaction nonce")
