"""Online verification against this deployment's store and chain, and the QR payload of a certificate."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ledger.client import CertificateStatus, Ledger
from ledger.kinds import Kind
from ledger.store.models import AnchorBatch, Certificate
from qr.payload import encode, verify_url
from qr.signed import Content, Domain
from qr.verify import ChainState


def payload_of(cert: Certificate) -> bytes:
    return encode(Content(**cert.content), bytes.fromhex(cert.signature[2:]))


def url_of(cert: Certificate, public_url: str) -> str:
    return verify_url(public_url, payload_of(cert))


class LedgerResolver:
    """Answers the pipeline's online questions from IssuerRegistry, AttestationRegistry and the store."""

    def __init__(self, sessions: sessionmaker[Session], ledger: Ledger) -> None:
        self.sessions, self.ledger = sessions, ledger

    def domain(self) -> Domain:
        return Domain(self.ledger.sender.chain_id, self.ledger.attestations.address)

    def is_authorized(self, signer: str, chain_kind: int, timestamp: int) -> bool:
        return self.ledger.is_authorized(signer, Kind(chain_kind), timestamp)

    def key_known(self, signer: str) -> bool:
        return self.ledger.key_info(signer).department != b"\0" * 32

    def state(self, digest_hex: str) -> ChainState:
        with self.sessions() as s:
            cert = s.scalars(select(Certificate).where(Certificate.digest == digest_hex.lower())).first()
            if cert is None:
                return "unknown"
            batch: Any = s.get(AnchorBatch, cert.batch_id) if cert.batch_id else None
            if batch is None or batch.state != "ANCHORED":
                return "pending"
            root, proof = bytes.fromhex(batch.root[2:]), [bytes.fromhex(p[2:]) for p in cert.proof or []]
        status = self.ledger.status(root, proof, bytes.fromhex(digest_hex[2:]))
        return {CertificateStatus.ANCHORED: "anchored", CertificateStatus.REVOKED: "revoked",
                CertificateStatus.SUSPENDED: "suspended"}.get(status, "unknown")
