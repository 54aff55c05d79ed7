"""Re-anchoring after a chain reset: same roots, same proofs, revocations re-applied, keys still valid."""

from __future__ import annotations

import shutil
import time

from sqlalchemy import select

from api.provisioning import provisioned_context
from api.settings import Settings
from ledger.client import CertificateStatus
from ledger.kinds import Kind
from ledger.proofs import proof_bytes, proof_of
from store.db import transaction
from store.models import AnchorBatch, Certificate
from tests.certificates.test_anchoring_faults import _issue


def _status(ctx, cert, root):
    with ctx.sessions() as s:  # the proof comes from the batch's leaves in the store
        proof = proof_bytes(proof_of(s, Certificate, cert, root))
    return ctx.ledger.status(bytes.fromhex(root[2:]), proof, bytes.fromhex(cert.digest[2:]))


def _newest_issue_time(ctx) -> int:
    with ctx.sessions() as s:
        return max(c["header"]["issuedAt"] for c in s.scalars(select(Certificate.content)))


def test_reanchor_after_the_chain_is_reset(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    ctx = provisioned_context(settings)
    _issue(ctx, 3)
    ctx.certificates.anchorer(max_wait=0).run_once(force=True)
    with transaction(ctx.sessions) as s:
        number = s.scalars(select(Certificate.number)).first()
        ctx.certificates.change_status(s, number, "revoke", department="si.440604", reason=3, note="", actor="t")
    newest = _newest_issue_time(ctx)
    ctx.ledger.close()
    # The chain is lost: a new, empty one with freshly deployed contracts.
    shutil.rmtree(tmp_path / "data" / "chain")
    shutil.rmtree(tmp_path / "data" / "deployments")
    # The old chain's clock may have run ahead of this one (the issuer stamps no certificate before its key's
    # validFrom): wait until the new chain is past the newest certificate, so its keys need the migration path.
    time.sleep(max(0.0, newest + 2 - time.time()))
    # the administrators re-register the keys through the migration path the registry records
    ctx = provisioned_context(Settings(data_dir=tmp_path / "data"), migrate=True)
    with ctx.sessions() as s:
        certs = s.scalars(select(Certificate)).all()
        roots = {b.id: b.root for b in s.scalars(select(AnchorBatch))}
    assert all(_status(ctx, c, roots[c.batch_id]) == CertificateStatus.UNKNOWN for c in certs)

    assert ctx.certificates.anchorer().reanchor() == (len(roots), 1)
    for cert in certs:
        expected = CertificateStatus.REVOKED if cert.number == number else CertificateStatus.ANCHORED
        assert _status(ctx, cert, roots[cert.batch_id]) == expected
        # The re-registered key is valid from the oldest certificate it signed, and flagged as migrated.
        issued_at = cert.content["header"]["issuedAt"]
        assert ctx.ledger.is_authorized(cert.signer, Kind.SOCIAL_INSURANCE_CERTIFICATE, issued_at)
        assert ctx.ledger.is_authorized(cert.signer, Kind.ATTESTATION, issued_at)
        assert ctx.ledger.key_info(cert.signer).migrated
    assert ctx.certificates.anchorer().reanchor() == (0, 0)  # idempotent
    ctx.ledger.close()
