"""`qr.batch.verify_many` (what `zel verify --batch --offline` runs): on several processes, the same verdicts in the
same order as `verify_pinned` one by one, for both suites and every kind of wrong input."""

from __future__ import annotations

import random

from qr.batch import CHUNK, verify_many
from qr.payload import to_digits
from qr.trustlist import anchor_from, verify_pinned
from tests.qr.test_mutations import ADMIN, ATT_PAYLOADS, NOW, TODAY, TRUST, attestation_edge_cases, mutants


def test_many_payloads_on_two_processes_get_the_verdicts_one_process_gives_in_order() -> None:
    rng = random.Random(7)
    texts = ["#" + to_digits(p) for p in ATT_PAYLOADS] + ["#" + to_digits(p) for p, _ in attestation_edge_cases()]
    for payload in ATT_PAYLOADS[:4]:
        texts += [m if isinstance(m, str) else "#" + to_digits(m) for m in rng.sample(mutants(payload, rng), 150)]
    texts += ["", "#", "https://x/verify#123"]
    rng.shuffle(texts)
    assert len(texts) > 2 * CHUNK  # so the work is split between the processes
    anchor = anchor_from(ADMIN.address, None, None, None)
    alone = [verify_pinned(t, TRUST, anchor, today=TODAY, now=NOW) for t in texts]
    together = verify_many(texts, TRUST, anchor, workers=2, today=TODAY, now=NOW)
    assert together == alone
    assert {v.status for v in alone} >= {"VALID", "INVALID", "UNTRUSTED_ISSUER", "EXPIRED"}
