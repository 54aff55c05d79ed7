"""A read model of AttestationRegistry built from its events: certificate status without an `eth_call`.

`AttestationRegistry.status(root, proof, digest)` costs ~4 ms on the embedded EVM; a verifier asking for
thousands of statuses a second cannot pay that. The index follows the contract's events (Anchored,
CertificateRevoked, CertificateSuspended, CertificateReinstated) in block order and answers `status` with the
contract's own rules: the root must be anchored, the Merkle proof must hold (checked here, same leaf hashing),
and the last state change *of the root's department* decides (a certificate belongs to the department that
anchored it). It catches up with the chain before answering when its view is older than
`max_age` seconds, and at once after a write through the same `Ledger` (`mark_stale`), so a revocation is
visible to the next status request of this process and to other processes within `max_age`.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

from eth_utils import keccak

from ledger.merkle import verify
from ledger.status import CertificateStatus


class EventSource(Protocol):
    """What the index reads from the chain: `ledger.client.Ledger` is one (named by protocol, not imported, since
    ledger.client builds on this module)."""

    attestations: Any  # the AttestationRegistry contract
    w3: Any

    def department_at(self, index: int) -> bytes: ...


AUDIT_LOG = 7  # ledger.kinds.Kind.AUDIT_LOG
EVENTS = ("Anchored", "CertificateRevoked", "CertificateSuspended", "CertificateReinstated")
STATE_OF_EVENT = {"CertificateRevoked": 2, "CertificateSuspended": 3, "CertificateReinstated": 1}


def event_topic(contract: Any, name: str) -> bytes:
    """topic0 of event `name` of `contract`."""
    abi = next(e for e in contract.abi if e.get("type") == "event" and e["name"] == name)
    return keccak(text=f"{name}({','.join(i['type'] for i in abi['inputs'])})")


class StatusIndex:
    """Anchored roots and per-digest states, replayed from AttestationRegistry's logs."""

    def __init__(self, ledger: EventSource, max_age: float = 0.5, chunk: int = 5000) -> None:
        self.ledger, self.max_age, self.chunk = ledger, max_age, chunk
        contract = ledger.attestations
        self._events = {event_topic(contract, name): contract.events[name]() for name in EVENTS}
        self._roots: dict[bytes, int] = {}  # root -> anchoring department's index
        self._states: dict[tuple[int, bytes], int] = {}  # (department index, digest) -> state
        self._next_block = 0
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def mark_stale(self) -> None:
        """Catch up before the next answer (called after this process writes to the contract)."""
        self._checked = float("-inf")

    def refresh(self) -> None:
        """Apply every AttestationRegistry log up to the chain head."""
        with self._lock:
            head = self.ledger.w3.eth.block_number
            while self._next_block <= head:
                to = min(head, self._next_block + self.chunk - 1)
                logs = self.ledger.w3.eth.get_logs(
                    {"address": self.ledger.attestations.address, "fromBlock": self._next_block, "toBlock": to}
                )
                for log in sorted(logs, key=lambda entry: (entry["blockNumber"], entry["logIndex"])):
                    self._apply(log)
                self._next_block = to + 1
            self._checked = time.monotonic()

    def _apply(self, log: Any) -> None:
        event = self._events.get(bytes(log["topics"][0]))
        if event is None:
            return
        decoded = event.process_log(log)
        name, args = decoded["event"], decoded["args"]
        if name == "Anchored":
            if args["kind"] != AUDIT_LOG:  # the audit log's heads are no certificates: never answer for them
                self._roots[bytes(args["root"])] = args["department"]
        else:
            self._states[(args["department"], bytes(args["digest"]))] = STATE_OF_EVENT[name]

    def status(self, root: bytes, proof: list[bytes], digest: bytes) -> CertificateStatus:
        """What `AttestationRegistry.status(root, proof, digest)` returns, from the replayed events."""
        if time.monotonic() - self._checked > self.max_age:
            self.refresh()
        department = self._roots.get(root)
        if department is None or not verify(root, digest, proof):
            return CertificateStatus.UNKNOWN
        return CertificateStatus(self._states.get((department, digest), CertificateStatus.ANCHORED))

    def anchor_department(self, root: bytes) -> bytes | None:
        """The id of the department that anchored `root` (None if it was never anchored)."""
        if time.monotonic() - self._checked > self.max_age:
            self.refresh()
        index = self._roots.get(root)
        return None if index is None else self.ledger.department_at(index)
