"""Registering attestation kinds from schema files (issue 19): on chain (IssuerRegistry, the district admin's act)
and in the store (the file itself, which the chain knows only by its digest).

Before anything is sent, `chain_problems` checks the file against the ledger so that every refusal names the field
and the rule (an unknown or retired department, a slug another department owns, a version not above the latest);
the contract refuses the same things on its own for any caller that skips these checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlalchemy import select
from sqlalchemy.orm import Session

import errors
from kinds.schema import KindSchema, canonical, load
from ledger.client import Ledger, SchemaInfo
from ledger.kinds import department_id
from store.models import KindSchemaRecord

Sessions = Callable[[], Session]


class KindRegistrationRefused(errors.InvalidInput):
    """The ledger refuses the kind as it is; `detail["problems"]` lists each place and rule."""

    code = "kind-refused"


@dataclass(frozen=True)
class Registered:
    """The outcome of `register`: the kind's on-chain number (None while a proposal awaits approvals)."""

    kind: KindSchema
    index: int | None
    already: bool  # the same schema was registered before: nothing was sent
    proposal_id: int | None = None


def _department_name(raw: bytes) -> str:
    return raw.rstrip(b"\0").decode("ascii", "replace")


def chain_problems(ledger: Ledger, kind: KindSchema) -> list[dict[str, str]]:
    """What the ledger would refuse about `kind`, each as {where, rule}; empty when registration can go ahead (or
    the very same schema is registered already)."""
    problems = []
    info = ledger.department_info(department_id(kind.department))
    if info.index == 0:
        admitted = ", ".join(_department_name(d[0]) for d in ledger.departments() if not d[3])
        problems.append({"where": "department", "rule": f"unknown department {kind.department} (admitted: {admitted})"})
    elif info.retired_at:
        problems.append({"where": "department", "rule": f"department {kind.department} is retired"})
    for known in ledger.schemas():
        if known.digest == kind.digest:
            return []
        if known.digest[:8] == kind.digest[:8]:
            problems.append({"where": "", "rule": f"schema #{known.index} has the same 8-byte id; change any value"})
        if known.slug != kind.slug:
            continue
        owner = _department_name(known.department)
        if owner != kind.department:
            problems.append({"where": "slug", "rule": f"{kind.slug} is a kind of department {owner}: choose another"})
        elif known.version >= kind.version:
            problems.append(
                {"where": "version", "rule": f"must be above {known.version}, the latest registered version"}
            )
    return problems


def register(ledger: Ledger, admin: LocalAccount, sessions: Sessions, kind: KindSchema) -> Registered:
    """Register `kind` on chain (unless it is already) and keep its file in the store; `KindRegistrationRefused`
    with every problem the ledger would refuse."""
    existing = ledger.schema_index(kind.digest)
    found = ledger.schema_info(existing) if existing else None
    already = found is not None and found.digest == kind.digest
    proposal_id = None
    if not already:
        problems = chain_problems(ledger, kind)
        if problems:
            first = problems[0]
            raise KindRegistrationRefused(
                f"{first['where'] or 'schema'}: {first['rule']}",
                field=first["where"] or None,
                detail={"problems": problems},
            )
        result = ledger.register_schema(admin, kind.digest, department_id(kind.department), kind.slug, kind.version)
        proposal_id = None if result.executed else result.proposal_id
        existing = ledger.schema_index(kind.digest) if result.executed else 0
    keep(sessions, kind, existing or None)
    return Registered(kind, existing or None, already, proposal_id)


def keep(sessions: Sessions, kind: KindSchema, index: int | None) -> None:
    """Keep `kind`'s file in the store, with its number on chain (None: its registration awaits approvals)."""
    digest = "0x" + kind.digest.hex()
    with sessions() as session, session.begin():
        record = session.get(KindSchemaRecord, digest)
        if record is None:
            session.add(
                KindSchemaRecord(
                    digest=digest,
                    slug=kind.slug,
                    version=kind.version,
                    department=kind.department,
                    body=canonical(kind.source).decode(),
                    chain_index=index,
                    registered_at=datetime.now(UTC),
                )
            )
        elif index is not None:
            record.chain_index = index


@dataclass(frozen=True)
class Listed:
    """A kind on chain, with its file where the store has it (None: registered elsewhere, file not here)."""

    chain: SchemaInfo
    kind: KindSchema | None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.chain.index,
            "slug": self.chain.slug,
            "version": self.chain.version,
            "department": _department_name(self.chain.department),
            "schema_digest": "0x" + self.chain.digest.hex(),
            "registered_at": datetime.fromtimestamp(self.chain.registered_at, UTC).isoformat(),
            "file_here": self.kind is not None,
        }
        if self.kind is not None:
            out.update(
                title={"zh": self.kind.title.zh, "en": self.kind.title.en},
                subject=self.kind.subject,
                validity_days=self.kind.validity_days,
                fields=[f.name for f in self.kind.fields],
            )
        return out


def listed(ledger: Ledger, sessions: Sessions) -> list[Listed]:
    """Every kind registered on chain, in registration order, with the store's file for it. A stored file whose
    digest is not the chain's is not shown as the kind's (the store cannot rewrite a kind)."""
    with sessions() as session:
        bodies = dict(session.execute(select(KindSchemaRecord.digest, KindSchemaRecord.body)).tuples().all())
    out = []
    for info in ledger.schemas():
        body = bodies.get("0x" + info.digest.hex())
        kind = load(body) if body is not None else None
        out.append(Listed(info, kind if kind is not None and kind.digest == info.digest else None))
    return out
