"""Double random draws (双随机): inspection targets (weighted by credit class) and inspectors, both at random, from a
seed that is committed on chain before the draw and revealed after it, so that anyone can redo the draw.

1. Commit: the candidate enterprises with their classes and weights, the inspectors and the parameters are fixed
   and published; `commitment = keccak(seed || keccak(canonical(public parameters)))` is anchored on chain
   (AttestationRegistry, kind RANDOM_DRAW). The seed stays secret.
2. Draw: the randomness is `keccak(seed || hash of the commit block)`: the department could not know the block
   hash when it chose the seed, so it cannot grind seeds for a wanted result. Targets are drawn without
   replacement with probability proportional to their class weight; each target gets `per_target` distinct
   inspectors, uniformly.
3. Reveal: the seed and the result are published and `keccak(commitment || seed || keccak(result))` is anchored.

`redraw` recomputes everything from the published record and checks both anchors on chain.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

from eth_utils import keccak
from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.grading import load_policy
from credit.ledger import CreditError, CreditLedger
from ledger.departments import for_kind
from ledger.kinds import Kind
from ledger.merkle import leaf_hash
from qr.signed import canonical
from store.models import Enterprise, RandomDraw, Role, User

DRAW_DEPARTMENT = for_kind(Kind.RANDOM_DRAW).id


def _hash(value: Any) -> bytes:
    return keccak(canonical(value))


def public_parameters(draw: RandomDraw) -> dict[str, Any]:
    return {
        "uid": draw.uid,
        "department": draw.department,
        "targets": draw.targets,
        "per_target": draw.per_target,
        "candidates": draw.candidates,
        "inspectors": draw.inspectors,
    }


def _stream(randomness: bytes):  # noqa: ANN202 - an endless generator of 256-bit integers
    counter = 0
    while True:
        yield int.from_bytes(keccak(randomness + counter.to_bytes(8, "big")), "big")
        counter += 1


def compute(params: dict[str, Any], randomness: bytes) -> list[dict[str, Any]]:
    """The draw itself: a pure function of the public parameters and the randomness."""
    numbers = _stream(randomness)
    pool = sorted(params["candidates"], key=lambda c: c["uscc"])
    result = []
    for _ in range(min(params["targets"], len(pool))):
        total = sum(c["weight"] for c in pool)
        point, upto = next(numbers) % total, 0
        for i, candidate in enumerate(pool):
            upto += candidate["weight"]
            if point < upto:
                chosen = pool.pop(i)
                break
        people = sorted(params["inspectors"])
        team = [people.pop(next(numbers) % len(people)) for _ in range(min(params["per_target"], len(people)))]
        result.append({"uscc": chosen["uscc"], "grade": chosen["grade"], "inspectors": sorted(team)})
    return result


def commit(
    credit: CreditLedger, session: Session, *, targets: int, per_target: int, actor: str, seed: bytes | None = None
) -> tuple[RandomDraw, bytes]:
    """Fix the candidates and inspectors, anchor the commitment; returns the draw and its (secret) seed."""
    if targets < 1 or per_target < 1:
        raise CreditError("invalid", "targets and inspectors per target must be at least 1")
    weights = load_policy().draw_weight
    candidates = []
    for enterprise in session.scalars(select(Enterprise).order_by(Enterprise.uscc)):
        grade = credit.current_grade(session, enterprise.uscc)
        cls = grade.grade if grade is not None else credit.regrade(session, enterprise.uscc).grade
        candidates.append({"uscc": enterprise.uscc, "grade": cls, "weight": weights[cls]})
    inspectors = sorted(
        session.scalars(select(User.username).where(User.role == Role.INSPECTOR, User.disabled.is_(False)))
    )
    if not candidates or not inspectors:
        raise CreditError("invalid", "a draw needs enterprises and inspectors")
    seed = seed or os.urandom(32)
    draw = RandomDraw(
        uid=str(uuid.uuid4()),
        department=DRAW_DEPARTMENT,
        targets=targets,
        per_target=per_target,
        candidates=candidates,
        inspectors=inspectors,
        commitment="",
        state="COMMITTED",
        created_by=actor,
    )
    commitment = keccak(seed + _hash(public_parameters(draw)))
    draw.commitment = "0x" + commitment.hex()
    draw.commit_tx = credit.ledger.anchor_digest(credit.keys[DRAW_DEPARTMENT], commitment, Kind.RANDOM_DRAW).tx_hash
    session.add(draw)
    session.flush()
    return draw, seed


def reveal(credit: CreditLedger, session: Session, draw: RandomDraw, seed: bytes) -> RandomDraw:
    """Draw with the seed and the commit block's hash, publish the seed and the result, anchor the reveal."""
    if draw.state != "COMMITTED":
        raise CreditError("conflict", f"draw {draw.uid} was already drawn")
    if keccak(seed + _hash(public_parameters(draw))) != bytes.fromhex(draw.commitment[2:]):
        raise CreditError("invalid", "this seed does not open the draw's commitment")
    randomness = keccak(seed + _commit_block_hash(credit, draw))
    draw.result = compute(public_parameters(draw), randomness)
    draw.seed = "0x" + seed.hex()
    proof = keccak(bytes.fromhex(draw.commitment[2:]) + seed + _hash(draw.result))
    draw.reveal_tx = credit.ledger.anchor_digest(credit.keys[DRAW_DEPARTMENT], proof, Kind.RANDOM_DRAW).tx_hash
    draw.state, draw.drawn_at = "DRAWN", datetime.now(UTC)
    return draw


def _commit_block_hash(credit: CreditLedger, draw: RandomDraw) -> bytes:
    anchor = credit.ledger.anchor_of(leaf_hash(bytes.fromhex(draw.commitment[2:])))
    if anchor is None:
        raise CreditError("not-found", "the draw's commitment is not on chain")
    return bytes(credit.ledger.w3.eth.get_block(anchor["block_number"])["hash"])


def published(draw: RandomDraw) -> dict[str, Any]:
    """What anyone may see (and redo): parameters, commitment, and after the draw the seed and the result."""
    return {
        **public_parameters(draw),
        "commitment": draw.commitment,
        "state": draw.state,
        "seed": draw.seed,
        "result": draw.result,
        "commit_tx": draw.commit_tx,
        "reveal_tx": draw.reveal_tx,
        "committed_at": draw.committed_at.isoformat() if draw.committed_at else None,
        "drawn_at": draw.drawn_at.isoformat() if draw.drawn_at else None,
    }


def redraw(credit: CreditLedger, record: dict[str, Any]) -> dict[str, Any]:
    """Redo a published draw: the commitment opens with the seed, both anchors are on chain in order, and the
    recomputed result equals the published one."""
    params = {k: record[k] for k in ("uid", "department", "targets", "per_target", "candidates", "inspectors")}
    problems = []
    if not record.get("seed"):
        return {"uid": record["uid"], "ok": False, "problems": ["the draw has not been revealed yet"]}
    seed, commitment = bytes.fromhex(record["seed"][2:]), bytes.fromhex(record["commitment"][2:])
    if keccak(seed + _hash(params)) != commitment:
        problems.append("the seed does not open the commitment (parameters or seed differ from those committed)")
    committed = credit.ledger.anchor_of(leaf_hash(commitment))
    revealed = credit.ledger.anchor_of(leaf_hash(keccak(commitment + seed + _hash(record["result"]))))
    if committed is None:
        problems.append("the commitment is not on chain")
    if revealed is None:
        problems.append("the reveal (seed and result) is not on chain")
    result = None
    if committed is not None:
        if revealed is not None and revealed["block_number"] <= committed["block_number"]:
            problems.append("the reveal is not later than the commitment")
        block_hash = bytes(credit.ledger.w3.eth.get_block(committed["block_number"])["hash"])
        result = compute(params, keccak(seed + block_hash))
        if result != record["result"]:
            problems.append("the recomputed draw differs from the published result")
    return {"uid": record["uid"], "ok": not problems, "problems": problems, "result": result}
