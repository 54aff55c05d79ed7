"""`Ledger`: the one object the services use to read and write the three contracts."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from ledger.chain import ChainConfig, Connection, connect
from ledger.deploy import CONTRACT_ORDER, Deployment, deploy_contracts, load_artifact
from ledger.errors import ConfigurationError, LedgerError, NotDeployed, UnknownEntry
from ledger.index import StatusIndex, event_topic
from ledger.keys import Keystore
from ledger.kinds import CreditScope, Kind, department_name, kinds_from_mask
from ledger.status import CertificateStatus  # re-exported: the status type of `Ledger.status`, imported from here
from ledger.tx import ErrorDecoder, TxResult, TxSender, map_errors, with_retries

ADMIN_KEY = "admin"
# What an embedded chain gives a new key so it can pay for gas (the chain has a base fee).
FUNDING = 100 * 10**18


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
    migrated: bool = False  # registered through the migration path with a historic window
    public_key: bytes = b""  # an SM2 key's X || Y (its address is derived from it); empty for a secp256k1 key

    @property
    def suite(self) -> str:
        """The key's signature suite: "sm2" (GB/T 32918) or "secp256k1"."""
        return "sm2" if self.public_key else "secp256k1"


@dataclass(frozen=True)
class DepartmentInfo:
    id: bytes
    name: str
    index: int
    admitted_at: int
    retired_at: int
    credit_scopes: int


@dataclass(frozen=True)
class SchemaInfo:
    """A registered attestation kind's schema (IssuerRegistry.schemaInfo): number, digest, department, slug, version."""

    index: int
    digest: bytes
    department: bytes
    slug: str
    version: int
    registered_at: int


@dataclass(frozen=True)
class Standing:
    head: bytes
    length: int
    grade: Grade
    red_listed: bool
    black_list_start: int
    black_list_end: int
    red_list_owner: bytes | None = None  # the department whose entry it is
    black_list_owner: bytes | None = None


@dataclass(frozen=True)
class AdminResult(TxResult):
    """An administrative transaction: the proposal it made or approved, and whether that executed."""

    proposal_id: int = 0
    approvals: int = 0
    executed: bool = False


@dataclass(frozen=True)
class Proposal:
    id: int
    proposer: str
    approvals: int
    executed: bool
    call: str  # the decoded call, e.g. "registerKey(0x…, tax.440604, 1, 0)"


def _topic_of(log: Any) -> bytes:
    return bytes(log["topics"][0]) if log["topics"] else b""


def _arg(value: Any) -> str:
    """A decoded call argument as `zel issuer proposals` shows it (department ids by name)."""
    if isinstance(value, bytes):
        name = value.rstrip(b"\0")
        readable = len(value) == 32 and name and all(0x20 < c < 0x7F for c in name)
        return department_name(value) if readable else "0x" + value.hex()
    return str(value)


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
        address = {name: to_checksum_address(a) for name, a in deployment.addresses.items()}
        self.issuers = self.w3.eth.contract(address=address["IssuerRegistry"], abi=abis["IssuerRegistry"])
        self.attestations = self.w3.eth.contract(
            address=address["AttestationRegistry"], abi=abis["AttestationRegistry"]
        )
        self.credit = self.w3.eth.contract(address=address["CreditRegistry"], abi=abis["CreditRegistry"])
        self._index: StatusIndex | None = None
        self._department_ids: dict[int, bytes] = {}
        self._valid_from: dict[str, int] = {}
        self._public_keys: dict[str, bytes] = {}  # a registered key's SM2 public key (b"" for secp256k1): fixed
        self._proposed_topic, self._approved_topic, self._executed_topic = (
            event_topic(self.issuers, name) for name in ("Proposed", "Approved", "Executed")
        )
        self.issuer_changes = 0  # IssuerRegistry writes through this object: cached key lists re-read on change
        self._anchor_gas: dict[str, int] = {}  # gas limit for anchorRoot by sender, from its first anchor

    # -- opening -----------------------------------------------------------------------------------

    @classmethod
    def open(cls, config: ChainConfig) -> Ledger:
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

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self, call: Any, action: str, *args: Any) -> Any:
        with map_errors(self.decoder, action):
            return with_retries(
                lambda: call.call(*args),
                attempts=self.sender.retries,
                base_delay=self.sender.retry_delay,
                action=action,
            )

    def _write(self, account: LocalAccount, call: Any, action: str, gas: int | None = None) -> TxResult:
        try:
            return self.sender.transact(account, call, action, gas=gas)
        finally:  # even a failed write may have landed: read models catch up before their next answer
            if call.address == self.attestations.address and self._index is not None:
                self._index.mark_stale()
            elif call.address == self.issuers.address:
                self.issuer_changes += 1

    # -- IssuerRegistry: administration through k-of-n approvals ----------------------------------

    def administer(self, admin: LocalAccount, call: Any, action: str) -> AdminResult:
        """Propose an administrative call on IssuerRegistry as `admin` (which approves it too). With a threshold
        of 1 it executes in the same transaction; otherwise it waits for `approve` by other administrators."""
        data = call._encode_transaction_data()
        result = self._write(admin, self.issuers.functions.propose(data), f"proposing: {action}")
        return self._admin_result(result)

    def approve(self, admin: LocalAccount, proposal_id: int) -> AdminResult:
        """Approve a pending proposal; the approval that reaches the threshold executes it."""
        data = self.proposal_data(proposal_id)
        call = self.issuers.functions.approve(proposal_id, data)
        return self._admin_result(self._write(admin, call, f"approving proposal {proposal_id}"))

    def proposal_data(self, proposal_id: int) -> bytes:
        """The calldata of proposal `proposal_id`, from its `Proposed` event."""
        with map_errors(self.decoder, "reading a proposal"):
            logs = self.issuers.events.Proposed().get_logs(
                from_block=self.deployment.block, argument_filters={"id": proposal_id}
            )
        if not logs:
            raise UnknownEntry(f"there is no proposal {proposal_id}")
        return bytes(logs[0]["args"]["data"])

    def proposals(self) -> list[Proposal]:
        """Every proposal, with what it calls and its approvals."""
        out = []
        with map_errors(self.decoder, "reading proposals"):
            logs = self.issuers.events.Proposed().get_logs(from_block=self.deployment.block)
        for log in logs:
            pid = log["args"]["id"]
            _hash, proposer, approvals, executed = self._read(
                self.issuers.functions.proposal(pid), "reading a proposal"
            )
            data = bytes(log["args"]["data"])
            try:
                fn, args = self.issuers.decode_function_input(data)
                what = f"{fn.abi_element_identifier}({', '.join(_arg(v) for v in args.values())})"
            except ValueError:
                what = "0x" + data.hex()
            out.append(Proposal(pid, proposer, approvals, executed, what))
        return out

    def threshold(self) -> int:
        return self._read(self.issuers.functions.threshold(), "reading the approval threshold")

    def administrators(self) -> list[str]:
        return list(self._read(self.issuers.functions.administrators(), "reading the administrators"))

    def _admin_result(self, result: TxResult) -> AdminResult:
        events = self.issuers.events
        proposed = [events.Proposed().process_log(lg) for lg in result.logs if _topic_of(lg) == self._proposed_topic]
        approved = [events.Approved().process_log(lg) for lg in result.logs if _topic_of(lg) == self._approved_topic]
        executed = any(_topic_of(lg) == self._executed_topic for lg in result.logs)
        pid = (proposed or approved)[0]["args"]["id"]
        return AdminResult(
            result.tx_hash,
            result.block_number,
            result.gas_used,
            result.logs,
            pid,
            approved[0]["args"]["approvals"],
            executed,
        )

    def admit_department(
        self, admin: LocalAccount, department: bytes, name: str, credit_scopes: int = 0
    ) -> AdminResult:
        call = self.issuers.functions.admitDepartment(department, name, credit_scopes)
        return self.administer(admin, call, "admitting a department")

    def set_credit_scopes(self, admin: LocalAccount, department: bytes, credit_scopes: int) -> AdminResult:
        call = self.issuers.functions.setCreditScopes(department, credit_scopes)
        return self.administer(admin, call, "setting credit scopes")

    def retire_department(self, admin: LocalAccount, department: bytes) -> AdminResult:
        return self.administer(admin, self.issuers.functions.retireDepartment(department), "retiring a department")

    def register_key(
        self, admin: LocalAccount, key: str, department: bytes, kinds_mask: int, valid_from: int = 0
    ) -> AdminResult:
        """Register a key valid from its registration block (or a later `valid_from`; never an earlier one)."""
        call = self.issuers.functions.registerKey(key, department, kinds_mask, valid_from)
        return self.administer(admin, call, "registering a key")

    def register_sm2_key(
        self, admin: LocalAccount, public_key: bytes, department: bytes, kinds_mask: int, valid_from: int = 0
    ) -> AdminResult:
        """Register an SM2 public key X || Y (64 bytes) as `register_key` registers a secp256k1 key; it is known
        on chain by its derived address (`ledger.sm2_address.sm2_key_address`), which `revoke_key` and `key_info`
        take."""
        call = self.issuers.functions.registerSm2Key(public_key, department, kinds_mask, valid_from)
        return self.administer(admin, call, "registering an SM2 key")

    def migrate_sm2_key(
        self, admin: LocalAccount, public_key: bytes, department: bytes, kinds_mask: int, valid_from: int, basis: bytes
    ) -> AdminResult:
        """The migration path for an SM2 key: registered valid from a past time, flagged `migrated` on chain."""
        call = self.issuers.functions.migrateSm2Key(public_key, department, kinds_mask, valid_from, basis)
        return self.administer(admin, call, "migrating an SM2 key")

    def migrate_key(
        self, admin: LocalAccount, key: str, department: bytes, kinds_mask: int, valid_from: int, basis: bytes
    ) -> AdminResult:
        """The migration path: register a key valid from a past time, flagged `migrated` on chain."""
        call = self.issuers.functions.migrateKey(key, department, kinds_mask, valid_from, basis)
        return self.administer(admin, call, "migrating a key")

    def revoke_key(self, admin: LocalAccount, key: str, revoked_at: int = 0) -> AdminResult:
        return self.administer(admin, self.issuers.functions.revokeKey(key, revoked_at), "revoking a key")

    def grant_inspector(self, admin: LocalAccount, inspector: str, department: bytes) -> AdminResult:
        call = self.issuers.functions.grantInspector(inspector, department)
        return self.administer(admin, call, "granting the inspector role")

    def revoke_inspector(self, admin: LocalAccount, inspector: str) -> AdminResult:
        return self.administer(admin, self.issuers.functions.revokeInspector(inspector), "revoking an inspector")

    def register_schema(
        self, admin: LocalAccount, digest: bytes, department: bytes, slug: str, version: int
    ) -> AdminResult:
        """Register an attestation kind's schema for its department (`zel kinds register`)."""
        call = self.issuers.functions.registerSchema(digest, department, slug, version)
        return self.administer(admin, call, "registering a kind's schema")

    # -- IssuerRegistry: reading -------------------------------------------------------------------

    def schema_info(self, index: int) -> SchemaInfo | None:
        """Schema number `index`, or None when there is none."""
        digest, dept, slug, version, at = self._read(self.issuers.functions.schemaInfo(index), "reading a schema")
        return None if version == 0 else SchemaInfo(index, bytes(digest), bytes(dept), slug, version, at)

    def schemas(self) -> list[SchemaInfo]:
        """Every registered schema, in registration order."""
        count = self._read(self.issuers.functions.schemaCount(), "counting schemas")
        return [info for i in range(1, count + 1) if (info := self.schema_info(i)) is not None]

    def schema_index(self, digest: bytes) -> int:
        """The number of the schema registered under `digest`'s first 8 bytes (0: none)."""
        return self._read(self.issuers.functions.schemaIndex(digest[:8]), "finding a schema")

    def is_authorized(self, key: str, kind: Kind, timestamp: int) -> bool:
        return self._read(self.issuers.functions.isAuthorized(key, int(kind), timestamp), "checking a key")

    def is_inspector(self, account: str) -> bool:
        return self._read(self.issuers.functions.isInspector(account), "checking an inspector")

    def key_info(self, key: str) -> KeyInfo:
        dept, mask, valid_from, revoked_at, migrated = self._read(self.issuers.functions.keyInfo(key), "reading a key")
        public_key = self._public_keys.get(key)
        if public_key is None:
            public_key = self.sm2_public_key(key)
            if dept.strip(b"\0"):  # registered: its public key (or its having none) never changes
                self._public_keys[key] = public_key
        return KeyInfo(key, dept, kinds_from_mask(mask), valid_from, revoked_at, migrated, public_key)

    def sm2_public_key(self, key: str) -> bytes:
        """The SM2 public key X || Y registered under address `key` (empty for a secp256k1 or unknown key)."""
        return bytes(self._read(self.issuers.functions.sm2PublicKey(key), "reading an SM2 key"))

    def key_valid_from(self, key: str) -> int:
        """A registered key's validFrom (cached: it never changes once registered; 0 for an unknown key)."""
        if key not in self._valid_from:
            info = self.key_info(key)
            if not info.department.strip(b"\0"):
                return 0
            self._valid_from[key] = info.valid_from
        return self._valid_from[key]

    def keys(self) -> list[KeyInfo]:
        return [self.key_info(k) for k in self._read(self.issuers.functions.keys(), "listing keys")]

    def department_info(self, department: bytes) -> DepartmentInfo:
        name, index, admitted, retired, scopes = self._read(
            self.issuers.functions.departmentInfo(department), "reading a department"
        )
        return DepartmentInfo(department, name, index, admitted, retired, scopes)

    def departments(self) -> list[tuple[bytes, str, int, int]]:
        """(id, name, admitted at, retired at) of every department, in admission order."""
        return [(d.id, d.name, d.admitted_at, d.retired_at) for d in self.department_infos()]

    def department_infos(self) -> list[DepartmentInfo]:
        ids = self._read(self.issuers.functions.departments(), "listing departments")
        return [self.department_info(dept) for dept in ids]

    def department_at(self, index: int) -> bytes:
        """The department id with admission number `index` (cached: numbers never change)."""
        if index not in self._department_ids:
            self._department_ids[index] = bytes(
                self._read(self.issuers.functions.departmentAt(index), "reading a department")
            )
        return self._department_ids[index]

    # -- AttestationRegistry -----------------------------------------------------------------------

    def anchor_root(self, key: LocalAccount, root: bytes, kind: Kind, leaf_count: int) -> TxResult:
        """Anchor a batch root. anchorRoot costs the same for every root (it writes one new record), so its gas is
        estimated for a key's first anchor only and then given: an estimate runs the call again in the node (on
        the embedded chain, tens of milliseconds of the service's time a batch). A refusal still raises its error
        (the reverted transaction is replayed for it) and drops the remembered limit."""
        call = self.attestations.functions.anchorRoot(root, int(kind), leaf_count)
        gas = self._anchor_gas.get(key.address)
        try:
            result = self._write(key, call, "anchoring a batch root", gas=gas)
        except LedgerError:
            self._anchor_gas.pop(key.address, None)
            raise
        if gas is None:
            self._anchor_gas[key.address] = 2 * result.gas_used  # used, doubled: ~130k against a 30M block
        return result

    def anchor_schema_root(self, key: LocalAccount, root: bytes, schema: int, leaf_count: int) -> TxResult:
        """Anchor a batch of attestations of one registered schema (number `schema`)."""
        call = self.attestations.functions.anchorSchemaRoot(root, schema, leaf_count)
        return self._write(key, call, "anchoring a batch of attestations")

    def schema_of(self, root: bytes) -> int:
        """The schema number of an anchored batch of attestations (0: a built-in kind's batch, or unknown)."""
        return self._read(self.attestations.functions.schemaOf(root), "reading a batch's schema")

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
        with map_errors(self.decoder, "reading certificate events"):
            return self._status_index().status(root, proof, digest)

    def anchor_of(self, root: bytes) -> dict[str, Any] | None:
        """The anchor record of `root`, or None when it was never anchored (the anchoring key is in the
        `Anchored` event, not in storage)."""
        dept, kind, leaves, at, block = self._read(self.attestations.functions.anchorOf(root), "reading an anchor")
        if at == 0:
            return None
        return {
            "department": bytes(dept),
            "kind": Kind(kind),
            "leaf_count": leaves,
            "anchored_at": at,
            "block_number": block,
        }

    def indexed_anchor_department(self, root: bytes) -> bytes | None:
        """The department that anchored `root`, from the replayed events (None if it was never anchored)."""
        with map_errors(self.decoder, "reading certificate events"):
            return self._status_index().anchor_department(root)

    def _status_index(self) -> StatusIndex:
        if self._index is None:
            self._index = StatusIndex(self)
        return self._index

    # -- CreditRegistry ----------------------------------------------------------------------------

    def append_credit_record(
        self,
        key: LocalAccount,
        subject: bytes,
        record_digest: bytes,
        scope: CreditScope,
        expected_head: bytes | None = None,
    ) -> TxResult:
        """Append a record digest of category `scope`; `expected_head` defaults to the head read now."""
        head = expected_head if expected_head is not None else self.standing(subject).head
        call = self.credit.functions.appendRecord(subject, record_digest, head, int(scope))
        return self._write(key, call, "appending a credit record")

    def set_grade(self, key: LocalAccount, subject: bytes, grade: Grade, basis: bytes) -> TxResult:
        return self._write(key, self.credit.functions.setGrade(subject, int(grade), basis), "setting a grade")

    @functools.cached_property
    def batch_grades(self) -> bool:
        """Whether the deployed CreditRegistry has `setGrades` (a deployment made before it was added has not: its
        runtime code dispatches on each function's 4-byte selector, which it then does not contain)."""
        selector = keccak(text="setGrades(bytes32[],uint8[],bytes32[])")[:4]
        return selector in bytes(self.w3.eth.get_code(self.credit.address))

    def set_grades(self, key: LocalAccount, subjects: list[bytes], grades: list[Grade], bases: list[bytes]) -> TxResult:
        """Several subjects' grades in one transaction (CreditRegistry.setGrades: all or nothing)."""
        call = self.credit.functions.setGrades(subjects, [int(g) for g in grades], bases)
        return self._write(key, call, f"setting {len(subjects)} grades")

    def set_red_list(self, key: LocalAccount, subject: bytes, listed: bool, basis: bytes) -> TxResult:
        return self._write(key, self.credit.functions.setRedList(subject, listed, basis), "setting the red list")

    def set_black_list(self, key: LocalAccount, subject: bytes, start: int, end: int, basis: bytes) -> TxResult:
        call = self.credit.functions.setBlackList(subject, start, end, basis)
        return self._write(key, call, "setting the black list")

    def standing(self, subject: bytes) -> Standing:
        head, length, grade, red, red_owner, black_owner, start, end = self._read(
            self.credit.functions.standing(subject), "reading standing"
        )
        return Standing(
            head,
            length,
            Grade(grade),
            red,
            start,
            end,
            self.department_at(red_owner) if red_owner else None,
            self.department_at(black_owner) if black_owner else None,
        )

    def is_black_listed(self, subject: bytes, timestamp: int) -> bool:
        return self._read(self.credit.functions.isBlackListed(subject, timestamp), "reading the black list")

    # -- chain -------------------------------------------------------------------------------------

    def fund(self, payer: LocalAccount, address: str, minimum: int = FUNDING // 10) -> TxResult | None:
        """Top up `address` from `payer` on chains that charge for gas; no-op on free-gas chains."""
        fees = self.sender.fees()
        if not any(fees.values()):
            return None
        if self.w3.eth.get_balance(to_checksum_address(address)) >= minimum:
            return None
        return self.sender.send_value(payer, address, FUNDING, "funding a key")

    def block_timestamp(self) -> int:
        return self._read_block()["timestamp"]

    def _read_block(self) -> Any:
        with map_errors(self.decoder, "reading the latest block"):
            return self.w3.eth.get_block("latest")


def bootstrap(
    config: ChainConfig, *, redeploy: bool = False, administrators: list[str] | None = None, threshold: int = 1
) -> tuple[Ledger, LocalAccount, bool]:
    """Open the chain with contracts deployed, as the district admin: an offline administrative act, never
    done by the service (which opens the chain with `Ledger.open` and department keys only).

    On the embedded chain this creates the `admin` keystore (with a development password file when no
    password is configured), funds it at genesis, and deploys on first start with `administrators` (default:
    the admin key alone) approving `threshold` of n. On a node, the admin keystore must exist and be funded.
    Returns (ledger, admin account, deployed now?).
    """
    store = Keystore(config.data_dir)
    if not store.exists(ADMIN_KEY):
        if not config.embedded:
            raise ConfigurationError(
                f"no admin keystore in {store.dir}: create it with `zel keys new {ADMIN_KEY}` and fund it"
            )
        store.new(ADMIN_KEY, store.ensure_dev_password(ADMIN_KEY))
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
            deployment = deploy_contracts(
                conn.w3,
                sender,
                admin,
                config.data_dir,
                redeploy=redeploy,
                administrators=administrators,
                threshold=threshold,
            )
            deployed_now = True
        return Ledger(conn, deployment), admin, deployed_now
    except BaseException:
        conn.close()
        raise
