"""Online verification against this deployment's store and chain, and the QR payload of a certificate."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from kinds.schema import KindSchema
from ledger.client import CertificateStatus, Ledger
from ledger.kinds import department_name, kinds_mask
from ledger.proofs import derive_proof, proof_bytes
from qr.payload import encode, verify_url
from qr.signed import Content, Domain
from qr.trustlist import OfflineResolver, TrustList
from qr.verify import ChainState
from store.models import AnchorBatch, Certificate, KindSchemaRecord
from store.pii import Pii
from zero_errand import attestations
from zero_errand.attestations import has_schema
from zero_errand.people import find_person

log = logging.getLogger(__name__)
STATE_OF: dict[CertificateStatus, ChainState] = {
    CertificateStatus.ANCHORED: "anchored",
    CertificateStatus.REVOKED: "revoked",
    CertificateStatus.SUSPENDED: "suspended",
}


def payload_of(cert: Certificate) -> bytes:
    """The QR payload of a stored certificate, or of an attestation (format 2: its kind's file from the store of the
    session the row was read in)."""
    if has_schema(cert):
        return attestations.payload(cert, attestations.kind_of(cert))
    return encode(Content(**cert.content), bytes.fromhex(cert.signature[2:]))


def store_bodies(sessions: Callable[[], Session]) -> dict[str, str]:
    """The registered kinds' files the store keeps, by schema digest."""
    with sessions() as session:
        return dict(session.execute(select(KindSchemaRecord.digest, KindSchemaRecord.body)).tuples().all())


def url_of(cert: Certificate, public_url: str) -> str:
    return verify_url(public_url, payload_of(cert))


class LedgerResolver:
    """Answers the pipeline's online questions from the chain and the store.

    Certificate status comes from AttestationRegistry's replayed events (`Ledger.indexed_status`), signer
    authority from IssuerRegistry's key list (re-read every few seconds): no EVM call per verification.
    """

    def __init__(self, sessions: sessionmaker[Session], ledger: Ledger, keys: KeyListCache | None = None) -> None:
        self.sessions, self.ledger = sessions, ledger
        self.keys = keys or KeyListCache(ledger, sessions=sessions)

    def domain(self) -> Domain:
        return Domain(self.ledger.sender.chain_id, self.ledger.attestations.address)

    def _keys(self) -> OfflineResolver:
        return self.keys.resolver()

    def is_authorized(self, signer: str, chain_kind: int, timestamp: int) -> bool:
        return self._keys().is_authorized(signer, chain_kind, timestamp)

    def key_known(self, signer: str) -> bool:
        return self._keys().key_known(signer)

    def kinds(self) -> Mapping[bytes, KindSchema]:
        return self._keys().kinds()

    def key_department(self, signer: str) -> str | None:
        return self._keys().key_department(signer)

    def key_migrated(self, signer: str) -> bool:
        return self._keys().key_migrated(signer)

    def sm2_key(self, key_id: bytes) -> tuple[str, bytes] | None:
        return self._keys().sm2_key(key_id)

    def state(self, digest_hex: str, department: str | None = None) -> ChainState:
        """The digest's state; its batch must have been anchored by `department` (default: the stored
        certificate's department), else "foreign-anchor"."""
        # One indexed read of five columns (no ORM objects) answers every status request; a proof not stored with
        # the certificate comes from its batch's tree (built once per batch, then cached: ledger.proofs).
        with self.sessions() as s:
            row = s.execute(
                select(
                    Certificate.proof, AnchorBatch.state, AnchorBatch.root, Certificate.department, Certificate.batch_id
                )
                .outerjoin(AnchorBatch, AnchorBatch.id == Certificate.batch_id)
                .where(Certificate.digest == digest_hex.lower())
                .limit(1)
            ).first()
            if row is None:
                return "unknown"
            cert_proof, batch_state, batch_root, stored_department, batch_id = row
            if batch_state != "ANCHORED":
                return "pending"
            if not cert_proof:
                cert_proof = derive_proof(s, Certificate, batch_id, digest_hex.lower(), batch_root)
        root, proof = bytes.fromhex(batch_root[2:]), proof_bytes(cert_proof)
        status = self.ledger.indexed_status(root, proof, bytes.fromhex(digest_hex[2:]))
        if status != CertificateStatus.UNKNOWN:
            anchored_by = self.ledger.indexed_anchor_department(root)
            if anchored_by is None or department_name(anchored_by) != (department or stored_department):
                return "foreign-anchor"
        return STATE_OF.get(status, "unknown")

    def reason(self, digest_hex: str) -> int | None:
        """The reason code the department gave when it last revoked or suspended the certificate (the store's copy
        of what it sent on chain); None if it gave none."""
        with self.sessions() as s:
            return s.scalar(select(Certificate.status_reason).where(Certificate.digest == digest_hex.lower()).limit(1))


def key_list(ledger: Ledger, bodies: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The domain, departments and department keys with their windows: what a verifier checks a signer against;
    and the kinds registered on chain whose files are in `bodies` (schema digest -> canonical JSON), so that a
    verifier reads any kind's payload and names its fields.

    The body of a trust list (`zel trustlist export` adds revocations and signs it) and what the verify page
    receives, so the page checks signatures and issuer authority in the browser.
    """
    kinds = [
        {"index": s.index, "digest": d, "department": department_name(s.department), "schema": json.loads(body)}
        for s in (ledger.schemas() if bodies else [])
        if (body := (bodies or {}).get(d := "0x" + s.digest.hex())) is not None
    ]
    return {
        "issued_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "chain_id": ledger.sender.chain_id,
        "verifying_contract": ledger.attestations.address,
        "issuer_registry": ledger.issuers.address,
        "departments": [
            {"id": department_name(d), "name": n, "admitted_at": a, "retired_at": r}
            for d, n, a, r in ledger.departments()
        ],
        "keys": [
            {
                "address": k.address,
                "department": department_name(k.department),
                "kinds": kinds_mask(k.kinds),
                "valid_from": k.valid_from,
                "revoked_at": k.revoked_at,
                "migrated": k.migrated,
                "suite": k.suite,
                **({"public_key": "0x" + k.public_key.hex()} if k.public_key else {}),
            }
            for k in ledger.keys()
        ],
        "kinds": kinds,
    }


class KeyListCache:
    """The key list, re-read from the chain when older than `ttl` seconds or after this process changed
    IssuerRegistry (key changes are rare and audited; another process's change shows within `ttl`).

    A list that is merely old is served while one background thread re-reads it, so no request waits for the chain;
    a change made by this process is read at once. Re-reading costs several EVM calls (~100 ms of the interpreter on
    the embedded chain, which the requests then share): every `ttl` the thread first asks whether IssuerRegistry
    logged anything since the block the list was read at (one `eth_getLogs`), and re-reads only then, or when the
    list is `full_every` seconds old whatever the logs say.
    """

    def __init__(
        self,
        ledger: Ledger,
        ttl: float = 5.0,
        sessions: Callable[[], Session] | None = None,
        full_every: float = 60.0,
    ) -> None:
        """`sessions`: the store whose kind files the list carries (none: the list names no kinds)."""
        self.ledger, self.ttl, self.sessions, self.full_every = ledger, ttl, sessions, full_every
        self._value: dict[str, Any] | None = None
        self._resolver: OfflineResolver
        self._seen = -1
        self._at = 0.0  # when the list was last found current (read, or checked unchanged)
        self._loaded_at = 0.0  # when it was last read in full
        self._block = -1  # the chain's block number just before that read
        self._refreshing = threading.Lock()

    def _load(self) -> None:
        seen, at, block = self.ledger.issuer_changes, time.monotonic(), self.ledger.w3.eth.block_number
        value = key_list(self.ledger, store_bodies(self.sessions) if self.sessions is not None else None)
        self._value, self._resolver, self._seen = value, TrustList(value, "").resolver, seen
        self._at = self._loaded_at = at
        self._block = block

    def _unchanged(self) -> bool:
        """IssuerRegistry logged nothing since the list was read (and it is not `full_every` old)."""
        if time.monotonic() - self._loaded_at > self.full_every:
            return False
        latest = self.ledger.w3.eth.block_number
        if latest > self._block:
            logs = self.ledger.w3.eth.get_logs(
                {"address": self.ledger.issuers.address, "fromBlock": self._block + 1, "toBlock": latest}
            )
            if logs:
                return False
            self._block = latest
        return True

    def _refresh_in_background(self) -> None:
        def run() -> None:
            try:
                if self._unchanged():
                    self._at = time.monotonic()
                else:
                    self._load()
            except Exception:  # the chain is away: keep serving the list we have, try again after `ttl`
                log.warning(
                    "could not re-read the key list; serving the one from %.0f s ago",
                    time.monotonic() - self._at,
                    exc_info=True,
                )
                self._at = time.monotonic()
            finally:
                self._refreshing.release()

        if self._refreshing.acquire(blocking=False):
            threading.Thread(target=run, name="key-list", daemon=True).start()

    def get(self) -> dict[str, Any]:
        if self._value is None or self._seen != self.ledger.issuer_changes:
            self._load()
        elif time.monotonic() - self._at > self.ttl:
            self._refresh_in_background()
        assert self._value is not None
        return self._value

    def resolver(self) -> OfflineResolver:
        """IssuerRegistry.isAuthorized replayed from the cached list."""
        self.get()
        return self._resolver


HOLDER_GUESSES = 5  # wrong answers the holder check gives per certificate, ever


class HolderCheckLocked(Exception):
    """The certificate's holder check has answered its last wrong guess; it answers no more, right or wrong."""


def holder_check_state(cert: Certificate) -> dict[str, Any]:
    """What the holder sees in their account: wrong guesses strangers made, and whether the check is locked."""
    wrong = cert.holder_wrong_guesses or 0
    return {"wrong_guesses": wrong, "locked": wrong >= HOLDER_GUESSES}


def holder_matches(session: Session, pii: Pii, digest_hex: str, kind: str, identifier: str) -> bool | None:
    """Was the certificate with this digest issued to `identifier`, a valid, normalized citizen ID number
    (`kind` "citizen_id") or USCC? None when no certificate has this digest; `HolderCheckLocked` once the
    certificate has had `HOLDER_GUESSES` wrong guesses.

    The payload shows only the region prefix of the ID number; the store knows the holder by a keyed index, so
    the answer needs the server and reveals one bit per guess. The birth date and sequence leave thousands of
    valid candidates, so the per-caller rate limit alone would let anyone with many addresses find the number:
    wrong guesses are counted per certificate, in the store, by one conditional UPDATE (atomic across server
    processes). A right guess is not counted. Commit the session afterwards to keep the count.
    """
    row = session.execute(
        select(Certificate.id, Certificate.owner, Certificate.holder_wrong_guesses)
        .where(Certificate.digest == digest_hex.lower())
        .limit(1)
    ).first()
    if row is None:
        return None
    cert_id, owner, wrong = row
    if wrong >= HOLDER_GUESSES:
        raise HolderCheckLocked(digest_hex)
    if kind == "uscc":
        match = owner == f"uscc:{identifier}"
    else:
        person = find_person(session, pii, identifier)
        match = person is not None and owner == f"person:{person.id}"
    if match:
        return True
    counted = session.execute(
        update(Certificate)
        .where(Certificate.id == cert_id, Certificate.holder_wrong_guesses < HOLDER_GUESSES)
        .values(holder_wrong_guesses=Certificate.holder_wrong_guesses + 1)
        .returning(Certificate.holder_wrong_guesses)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if counted is None:  # concurrent callers used the last guesses between the read and this update
        raise HolderCheckLocked(digest_hex)
    return False
