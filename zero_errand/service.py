"""`CertificateService`: issuance, anchoring and status changes with the department keys loaded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import errors
from kinds.schema import KindSchema
from ledger.anchor import SCHEMA_KIND_BASE, Anchorer
from ledger.client import CertificateStatus, Ledger
from ledger.keys import Keystore
from ledger.proofs import proof_bytes, proof_of
from qr.signed import domain_separator
from store import audit
from store.models import AnchorBatch, Certificate, IssuanceJob, KindSchemaRecord
from store.pii import Pii
from zero_errand import attestations, webhooks
from zero_errand.attestations import KindBook, is_attestation
from zero_errand.builder import CertificateBuilder
from zero_errand.bulk import CHUNK, LEASE_SECONDS, JobError, JobWorker, create_attestation_job
from zero_errand.certificates import REASONS, CertKind, Domain
from zero_errand.departments import certificate_signers, load_department_keys
from zero_errand.group import GroupCommit
from zero_errand.issuance import IssuanceError, Outcome, Request, Subject, issue, issue_many
from zero_errand.kind_registry import keep
from zero_errand.standard_kinds import standard_kind, standard_schemas, standard_versions


class CertificateService:
    """Everything certificates need from the chain and the department keys, in one place."""

    def __init__(self, sessions: sessionmaker[Session], pii: Pii, ledger: Ledger, store: Keystore) -> None:
        self.sessions, self.pii, self.ledger = sessions, pii, ledger
        self.keys = load_department_keys(store)  # department keys only, each with its own password
        # what signs each department's certificates: its SM2 key where it has one registered, else the key above
        self.signers = certificate_signers(store, self.keys, ledger.key_info)
        self.domain = Domain(ledger.sender.chain_id, ledger.attestations.address)
        # the one builder every kind is signed and stored through (the credit report's makers use it too)
        self.builder = CertificateBuilder(self.signers, self.domain, ledger.key_valid_from)
        self.group = GroupCommit(sessions, self.request_many)  # concurrent API requests, one transaction a batch
        self.kinds = KindBook(sessions)  # kinds registered from schema files (issue 19)
        self._standard_index: dict[str, int] = {}  # certificate kind slug -> its schema's number on chain
        self._keep_standard_kinds()

    def _keep_standard_kinds(self) -> None:
        """Learn the certificate kinds' numbers on chain, and keep their files (every version) in the store where the
        store lacks them or has an earlier chain's number (a store made after `zel issuer provision`, or restored):
        verifiers read kinds from the store, and certificates issued under an earlier version keep verifying."""
        with self.sessions() as session:
            digests = ["0x" + s.digest.hex() for s in standard_schemas()]
            query = select(KindSchemaRecord.digest, KindSchemaRecord.chain_index).where(
                KindSchemaRecord.digest.in_(digests)
            )
            known = dict(session.execute(query).tuples().all())
        for kind in CertKind:
            for earlier in standard_versions(kind)[:-1]:
                index = self.ledger.schema_index(earlier.digest) or None
                if index is not None and known.get("0x" + earlier.digest.hex()) != index:
                    keep(self.sessions, earlier, index)
            self._learn_standard(kind, known.get("0x" + standard_kind(kind).digest.hex()))

    def _learn_standard(self, kind: CertKind, kept: int | None) -> int | None:
        """`kind`'s schema number on chain (None: not registered, or its registration awaits approvals), kept in
        the store unless `kept` already says it."""
        schema = standard_kind(kind)
        index = self.ledger.schema_index(schema.digest) or None
        if index is not None:
            self._standard_index[kind.slug] = index
            if kept != index:
                keep(self.sessions, schema, index)
        return index

    def chain_kind(self, slug: str) -> int:
        """The on-chain kind a stored certificate is anchored as: `SCHEMA_KIND_BASE` plus its schema's number (so
        that each schema is batched apart and anchored by `anchorSchemaRoot`, which only the kind's department may
        do): an attestation's by its tag, a certificate kind's by its schema file (kinds/standard/). Certificates
        issued before the kinds were schemas (format 1) are anchored under their kind's schema too: a verifier
        asks for a digest's status, whatever root holds it."""
        if is_attestation(slug):
            return SCHEMA_KIND_BASE + self.kinds.by_tag(slug).index
        # learnt at start; asked again only while its registration is still awaiting the administrators' approvals
        index = self._standard_index.get(slug) or self._learn_standard(CertKind.parse(slug), None)
        if index is None:
            raise errors.Unavailable(
                f"the certificate kind {slug} is not registered on chain: run `zel issuer provision`"
            )
        return SCHEMA_KIND_BASE + index

    def anchorer(self, batch_size: int = 4096, max_wait: float = 10.0) -> Anchorer:
        return Anchorer(
            self.sessions, self.ledger, self.keys, self.chain_kind, batch_size=batch_size, max_wait=max_wait
        )

    def attest(
        self,
        session: Session,
        *,
        kind: str,
        subject: str,
        fields: dict[str, Any],
        actor: str,
        role: str,
        department: str | None = None,
    ) -> Certificate:
        """Issue an attestation of the registered kind `kind` (its latest version), in the caller's transaction
        (`zero_errand.attestations.issue`)."""
        return attestations.issue(
            session,
            self.pii,
            self.kinds.latest(kind),
            subject=subject,
            fields=fields,
            keys=self.signers,
            separator=domain_separator(self.domain.chain_id, self.domain.verifying_contract),
            key_valid_from=self.ledger.key_valid_from,
            actor=actor,
            role=role,
            department=department,
        )

    def request(
        self,
        session: Session,
        *,
        kind: CertKind,
        subject: Subject,
        period_from: str,
        period_to: str,
        actor: str,
        actor_role: str,
        idempotency_key: str | None = None,
        now: datetime | None = None,
    ) -> tuple[Certificate, bool]:
        request = Request(kind, subject, period_from, period_to, actor, actor_role, idempotency_key)
        return issue(session, self.pii, self.builder, request, now=now)

    def submit(self, request: Request) -> tuple[Certificate, bool]:
        """Issue one request in its own committed transaction, shared with whatever requests arrive at the same
        time (`zero_errand.group`): (certificate, created), or the `IssuanceError` that refused it."""
        return self.group.issue(request).answer()

    async def submit_async(self, request: Request) -> tuple[Certificate, bool]:
        """`submit` for the event loop: awaits the group commit without holding a thread."""
        return (await asyncio.wrap_future(self.group.submit(request))).answer()

    def request_many(self, session: Session, requests: list[Request], now: datetime | None = None) -> list[Outcome]:
        """Issue a batch in the caller's transaction (`zero_errand.issuance.issue_many`): one outcome per request."""
        return issue_many(session, self.pii, self.builder, requests, now=now)

    def job_worker(self, *, lease_seconds: float = LEASE_SECONDS, job_id: int | None = None) -> JobWorker:
        """A bulk issuance worker (`zero_errand.bulk`) signing with this service's department keys."""
        return JobWorker(
            self.sessions, self.pii, self.builder, attester=self, lease_seconds=lease_seconds, job_id=job_id
        )

    def kind_of_tag(self, kind_tag: str) -> KindSchema:
        """The registered kind of an attestation job (`<slug>.v<version>`)."""
        return self.kinds.by_tag(kind_tag).kind

    def attest_owned(
        self, session: Session, kind: KindSchema, owner: str, values: dict[str, Any], idempotency_key: str, actor: str
    ) -> Certificate:
        """One entry of an attestation job (`zero_errand.bulk`), in the caller's transaction."""
        return attestations.issue_to_owner(
            session,
            self.pii,
            kind,
            owner=owner,
            values=values,
            keys=self.signers,
            separator=domain_separator(self.domain.chain_id, self.domain.verifying_contract),
            key_valid_from=self.ledger.key_valid_from,
            actor=actor,
            role="official",
            idempotency_key=idempotency_key,
        )

    def attestation_job(
        self, session: Session, *, kind: str, entries: list[Any], department: str | None, actor: str, chunk: int = CHUNK
    ) -> IssuanceJob:
        """A bulk job pushing attestations of the registered kind `kind` (its latest version) to `entries`
        (`zero_errand.bulk.create_attestation_job`), in the caller's transaction."""
        try:
            registered = self.kinds.latest(kind)
        except errors.NotFound as exc:  # a job's body names a kind there is not: the request is what is wrong
            raise JobError("invalid", exc.message, "kind") from exc
        return create_attestation_job(
            session,
            self.pii,
            registered.kind,
            attestations.tag(registered.kind),
            entries=entries,
            department=department,
            actor=actor,
            chunk=chunk,
        )

    def change_status(
        self, session: Session, number: str, action: str, *, department: str, reason: int, note: str, actor: str
    ) -> Certificate:
        """Revoke, suspend or reinstate on chain, then in the store. Only the issuing department may."""
        cert = session.scalars(select(Certificate).where(Certificate.number == number).with_for_update()).first()
        if cert is None:
            raise IssuanceError("not-found", f"no certificate {number}")
        if cert.department != department:
            raise IssuanceError("forbidden", "only the issuing department may change this certificate")
        if action != "reinstate" and reason not in REASONS:
            raise IssuanceError("invalid", f"reason must be one of {sorted(REASONS)}", "reason")
        if cert.state == "ISSUED":
            raise IssuanceError(
                "pending-anchor",
                "the certificate is not anchored yet; retry after its batch "
                "is on chain (at most the anchoring interval)",
            )
        if cert.state == "REVOKED":
            raise IssuanceError("conflict", "the certificate is already revoked (revocation is permanent)")
        wanted = {"revoke": "REVOKED", "suspend": "SUSPENDED", "reinstate": "ANCHORED"}[action]
        if (action == "suspend" and cert.state == "SUSPENDED") or (action == "reinstate" and cert.state != "SUSPENDED"):
            raise IssuanceError("conflict", f"cannot {action} a certificate that is {cert.state.lower()}")
        batch = session.get(AnchorBatch, cert.batch_id)
        assert batch is not None  # an anchored certificate has its batch
        root, digest = bytes.fromhex(batch.root[2:]), bytes.fromhex(cert.digest[2:])
        proof = proof_bytes(proof_of(session, Certificate, cert, batch.root))
        key = self.keys[department]
        on_chain = self.ledger.status(root, proof, digest)
        target = {
            "revoke": CertificateStatus.REVOKED,
            "suspend": CertificateStatus.SUSPENDED,
            "reinstate": CertificateStatus.ANCHORED,
        }[action]
        if on_chain != target:  # a retry after a crash may find the chain already changed
            if action == "revoke":
                self.ledger.revoke(key, root, proof, digest, reason)
            elif action == "suspend":
                self.ledger.suspend(key, root, proof, digest, reason)
            else:
                self.ledger.reinstate(key, root, proof, digest)
        cert.state = wanted
        cert.status_reason = reason if action != "reinstate" else None
        cert.status_note = note or None
        cert.status_changed_at = datetime.now(UTC)
        audit.append(
            session,
            actor=actor,
            role="official",
            action=f"certificate.{action}",
            target=number,
            detail={"reason": reason, "note": note},
        )
        event = {"revoke": "revoked", "suspend": "suspended", "reinstate": "reinstated"}[action]
        webhooks.enqueue(session, cert, f"certificate.{event}")
        return cert
