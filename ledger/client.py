"""`Ledger`: the one object the services use to read and write the three contracts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger.chain import ChainConfig, Connection, connect
from ledger.deploy import CONTRACT_ORDER, Deployment, deploy_contracts, load_artifact
from ledger.errors import ConfigurationError, NotDeployed
from ledger.index import StatusIndex
from ledger.keys import Keystore
from ledger.kinds import Kind, kinds_from_mask
from ledger.tx import ErrorDecoder, TxResult, TxSender, map_errors, with_retries

ADMIN_KEY = "admin"
# What an embedded chain gives a new key so it can pay for gas (the chain has a base fee).
FUNDING = 100 * 10**18


class CertificateStatus(IntEnum):
    """AttestationRegistry.Status."""

    UNKNOWN = 0
    ANCHORED = 1
    REVOKED = 2
    SUSPENDED = 3


class Grade(IntEnum):
    """CreditRegistry.Grade."""

    NONE = 0
    A = 1
    B = 2
    C = 3
    D = 4


@dataclass(frozen=True)
class KeyInfo:
    address: str
    department: bytes
    kinds: list[Kind]
    valid_from: int
    revoked_at: int


@dataclass(frozen=True)
class Standing:
    head: bytes
    length: int
    grade: Grade
    red_listed: bool
    black_list_start: int
    black_list_end: int


class Ledger:
    """Typed access to IssuerRegistry, AttestationRegistry and CreditRegistry on one chain."""

    def __init__(self, conn: Connection, deployment: Deployment) -> None:
        self.conn = conn
        self.w3: Web3 = conn.w3
        self.deployment = deployment
        abis = {name: load_artifact(name)["abi"] for name in CONTRACT_ORDER}
        self.decoder = ErrorDecoder(list(abis.values()))
        cfg = conn.config
        self.sender = TxSender(self.w3, self.decoder, receipt_timeout=cfg.receipt_timeout, retries=cfg.retries)
        self.issuers = self.w3.eth.contract(address=deployment.addresses["IssuerRegistry"], abi=abis["IssuerRegistry"])
        self.attestations = self.w3.eth.contract(
            address=deployment.addresses["AttestationRegistry"], abi=abis["AttestationRegistry"]
        )
        self.credit = self.w3.eth.contract(address=deployment.addresses["CreditRegistry"], abi=abis["CreditRegistry"])
        self._index: StatusIndex | None = None
        self.issuer_changes = 0  # IssuerRegistry writes through this object: cached key lists re-read on change

    # -- opening -----------------------------------------------------------------------------------

    @classmethod
    def open(cls, config: ChainConfig) -> "Ledger":
        """Connect and load this chain's deployment record (raises `NotDeployed` if there is none)."""
        conn = connect(config)
        try:
            sender = TxSender(conn.w3, ErrorDecoder([]), retries=config.retries)
            return cls(conn, Deployment.load(config.data_dir, sender.chain_id))
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self, call: Any, action: str, *args: Any) -> Any:
        with map_errors(self.decoder, action):
            return with_retries(lambda: call.call(*args), attempts=self.sender.retries,
                                base_delay=self.sender.retry_delay, action=action)

    def _write(self, account: LocalAccount, call: Any, action: str, gas: int | None = None) -> TxResult:
        try:
            return self.sender.transact(account, call, action, gas=gas)
        finally:  # even a failed write may have landed: read models catch up before their next answer
            if call.address == self.attestations.address and self._index is not None:
                self._index.mark_stale()
            elif call.address == self.issuers.address:
                self.issuer_changes += 1

    # -- IssuerRegistry ----------------------------------------------------------------------------

    def admit_department(self, admin: LocalAccount, department: bytes, name: str) -> TxResult:
        return self._write(admin, self.issuers.functions.admitDepartment(department, name), "admitting a department")

    def retire_department(self, admin: LocalAccount, department: bytes) -> TxResult:
        return self._write(admin, self.issuers.functions.retireDepartment(department), "retiring a department")

    def register_key(
        self, admin: LocalAccount, key: str, department: bytes, kinds_mask: int, valid_from: int = 0
    ) -> TxResult:
        call = self.issuers.functions.registerKey(key, department, kinds_mask, valid_from)
        return self._write(admin, call, "registering a key")

    def revoke_key(self, admin: LocalAccount, key: str, revoked_at: int = 0) -> TxResult:
        return self._write(admin, self.issuers.functions.revokeKey(key, revoked_at), "revoking a key")

    def grant_inspector(self, admin: LocalAccount, inspector: str, department: bytes) -> TxResult:
        call = self.issuers.functions.grantInspector(inspector, department)
        return self._write(admin, call, "granting the inspector role")

    def revoke_inspector(self, admin: LocalAccount, inspector: str) -> TxResult:
        return self._write(admin, self.issuers.functions.revokeInspector(inspector), "revoking an inspector")

    def is_authorized(self, key: str, kind: Kind, timestamp: int) -> bool:
        return self._read(self.issuers.functions.isAuthorized(key, int(kind), timestamp), "checking a key")

    def is_inspector(self, account: str) -> bool:
        return self._read(self.issuers.functions.isInspector(account), "checking an inspector")

    def key_info(self, key: str) -> KeyInfo:
        dept, mask, valid_from, revoked_at = self._read(self.issuers.functions.keyInfo(key), "reading a key")
        return KeyInfo(key, dept, kinds_from_mask(mask), valid_from, revoked_at)

    def keys(self) -> list[KeyInfo]:
        return [self.key_info(k) for k in self._read(self.issuers.functions.keys(), "listing keys")]

    def departments(self) -> list[tuple[bytes, str, int, int]]:
        out = []
        for dept in self._read(self.issuers.functions.departments(), "listing departments"):
            name, admitted, retired = self._read(self.issuers.functions.departmentInfo(dept), "reading a department")
            out.append((dept, name, admitted, retired))
        return out

    # -- AttestationRegistry -----------------------------------------------------------------------

    def anchor_root(self, key: LocalAccount, root: bytes, kind: Kind, leaf_count: int) -> TxResult:
        call = self.attestations.functions.anchorRoot(root, int(kind), leaf_count)
        return self._write(key, call, "anchoring a batch root")

    def anchor_digest(self, key: LocalAccount, digest: bytes, kind: Kind) -> TxResult:
        call = self.attestations.functions.anchorDigest(digest, int(kind))
        return self._write(key, call, "anchoring a digest")

    def revoke(self, key: LocalAccount, root: bytes, proof: list[bytes], digest: bytes, reason: int) -> TxResult:
        call = self.attestations.functions.revoke(root, proof, digest, reason)
        return self._write(key, call, "revoking a certificate")

    def suspend(self, key: LocalAccount, root: bytes, proof: list[bytes], digest: bytes, reason: int) -> TxResult:
        call = self.attestations.functions.suspend(root, proof, digest, reason)
        return self._write(key, call, "suspending a certificate")

    def reinstate(self, key: LocalAccount, root: bytes, proof: list[bytes], digest: bytes) -> TxResult:
        call = self.attestations.functions.reinstate(root, proof, digest)
        return self._write(key, call, "reinstating a certificate")

    def status(self, root: bytes, proof: list[bytes], digest: bytes) -> CertificateStatus:
        call = self.attestations.functions.status(root, proof, digest)
        return CertificateStatus(self._read(call, "reading a certificate status"))

    def indexed_status(self, root: bytes, proof: list[bytes], digest: bytes) -> CertificateStatus:
        """`status` answered from the contract's replayed events (no EVM call): for high-rate verification."""
        if self._index is None:
            self._index = StatusIndex(self)
        with map_errors(self.decoder, "reading certificate events"):
            return self._index.status(root, proof, digest)

    def anchor_of(self, root: bytes) -> dict[str, Any] | None:
        """The anchor record of `root`, or None when it was never anchored."""
        dept, issuer, kind, leaves, at, block = self._read(
            self.attestations.functions.anchorOf(root), "reading an anchor"
        )
        if at == 0:
            return None
        return {"department": dept, "issuer": issuer, "kind": Kind(kind), "leaf_count": leaves,
                "anchored_at": at, "block_number": block}

    # -- CreditRegistry ----------------------------------------------------------------------------

    def append_credit_record(
        self, key: LocalAccount, subject: bytes, record_digest: bytes, expected_head: bytes | None = None
    ) -> TxResult:
        """Append a record digest; `expected_head` defaults to the head read now."""
        head = expected_head if expected_head is not None else self.standing(subject).head
        call = self.credit.functions.appendRecord(subject, record_digest, head)
        return self._write(key, call, "appending a credit record")

    def set_grade(self, key: LocalAccount, subject: bytes, grade: Grade, basis: bytes) -> TxResult:
        return self._write(key, self.credit.functions.setGrade(subject, int(grade), basis), "setting a grade")

    def set_red_list(self, key: LocalAccount, subject: bytes, listed: bool, basis: bytes) -> TxResult:
        return self._write(key, self.credit.functions.setRedList(subject, listed, basis), "setting the red list")

    def set_black_list(self, key: LocalAccount, subject: bytes, start: int, end: int, basis: bytes) -> TxResult:
        call = self.credit.functions.setBlackList(subject, start, end, basis)
        return self._write(key, call, "setting the black list")

    def standing(self, subject: bytes) -> Standing:
        head, length, grade, red, start, end = self._read(self.credit.functions.standing(subject), "reading standing")
        return Standing(head, length, Grade(grade), red, start, end)

    def is_black_listed(self, subject: bytes, timestamp: int) -> bool:
        return self._read(self.credit.functions.isBlackListed(subject, timestamp), "reading the black list")

    # -- chain -------------------------------------------------------------------------------------

    def fund(self, payer: LocalAccount, address: str, minimum: int = FUNDING // 10) -> TxResult | None:
        """Top up `address` from `payer` on chains that charge for gas; no-op on free-gas chains."""
        fees = self.sender.fees()
        if not any(fees.values()):
            return None
        if self.w3.eth.get_balance(address) >= minimum:
            return None
        return self.sender.send_value(payer, address, FUNDING, "funding a key")

    def block_timestamp(self) -> int:
        return self._read_block()["timestamp"]

    def _read_block(self) -> Any:
        with map_errors(self.decoder, "reading the latest block"):
            return self.w3.eth.get_block("latest")


def bootstrap(config: ChainConfig, *, redeploy: bool = False) -> tuple[Ledger, LocalAccount, bool]:
    """Open the chain with contracts deployed, creating what a new embedded data directory lacks.

    On the embedded chain this creates the admin keystore (with a development password file when no
    password is configured), funds it at genesis, and deploys on first start. On a node, the admin
    keystore must exist and be funded. Returns (ledger, admin account, deployed now?).
    """
    store = Keystore(config.data_dir)
    if not store.exists(ADMIN_KEY):
        if not config.embedded:
            raise ConfigurationError(
                f"no admin keystore in {store.dir}: create it with `zel keys new {ADMIN_KEY}` and fund it"
            )
        store.new(ADMIN_KEY, store.ensure_dev_password())
    admin = store.load(ADMIN_KEY)
    conn = connect(config, fund=[admin.address])
    try:
        sender = TxSender(conn.w3, ErrorDecoder([]), retries=config.retries)
        deployed_now = False
        try:
            deployment = Deployment.load(config.data_dir, sender.chain_id)
            if redeploy:
                raise NotDeployed("redeploy requested")
        except NotDeployed:
            deployment = deploy_contracts(conn.w3, sender, admin, config.data_dir, redeploy=redeploy)
            deployed_now = True
        return Ledger(conn, deployment), admin, deployed_now
    except BaseException:
        conn.close()
        raise
