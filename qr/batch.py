"""Offline verification of many payloads on every core: what `zel verify --batch --offline` runs.

A verifier with a few thousand certificates to check (a bank's onboarding queue, an employer's files) is bound by
signature checks: an SM2 verification costs ~0.3–0.7 ms here (OpenSSL's generic curve arithmetic), a secp256k1
recovery ~0.05 ms. `verify_many` splits the list into chunks and verifies them in one worker process per core, each
holding the pinned trust list, and gives the verdicts back in order, exactly as `verify_pinned` gives them one by one.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime
from typing import Any

from qr.trustlist import Anchor, TrustList, verify_pinned
from qr.verify import Verdict

CHUNK = 256  # payloads per task: a chunk costs ~0.1 s, so the pool's messages cost nothing beside it
_worker: dict[str, Any] = {}


def _start(body: dict[str, Any], signer: str, anchor: Anchor, today: date | None, now: datetime | None) -> None:
    _worker.update(trust=TrustList(body, signer), anchor=anchor, today=today, now=now)


def _verify_chunk(texts: list[str]) -> list[Verdict]:
    w = _worker
    return [verify_pinned(t, w["trust"], w["anchor"], today=w["today"], now=w["now"]) for t in texts]


def verify_many(
    texts: Sequence[str],
    trust: TrustList,
    anchor: Anchor,
    *,
    workers: int | None = None,
    today: date | None = None,
    now: datetime | None = None,
) -> list[Verdict]:
    """`verify_pinned` of each text, in order, on `workers` processes (default: one per core). A list of fewer than two
    chunks, or one worker, is verified in this process."""
    workers = workers or len(os.sched_getaffinity(0)) or 1
    if workers == 1 or len(texts) < 2 * CHUNK:
        return [verify_pinned(t, trust, anchor, today=today, now=now) for t in texts]
    chunks = [list(texts[i : i + CHUNK]) for i in range(0, len(texts), CHUNK)]
    # fork: a worker starts in milliseconds with the modules it needs already in memory; not from a process with
    # threads (a server), where a lock held by another thread at the fork would stay held in the child
    fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    context = multiprocessing.get_context("fork" if fork else "spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start, initargs=(trust.body, trust.signer, anchor, today, now)
    ) as pool:
        return [verdict for chunk in pool.map(_verify_chunk, chunks) for verdict in chunk]
