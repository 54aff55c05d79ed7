"""A certificate's `detailHash` is salted: the monthly breakdown of a personal social-insurance certificate names the
employer, whose USCC every published random draw lists, so an unsalted hash would give the employer away to anyone
holding the QR code. The salt stays with the detail (store and download), and recomputing the hash uses it."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from kinds import eip712
from qr.signed import detail_hash
from store.db import transaction
from store.models import Certificate, Enterprise, SiContribution, User
from tests.schema_certs import decoded
from zero_errand.certificates import CertKind
from zero_errand.issuance import Subject
from zero_errand.standard_kinds import standard_kind
from zero_errand.verification import payload_of

PERIOD = {"kind": "si-individual", "period_from": "2025-01", "period_to": "2025-06"}


def test_identical_details_get_different_salted_hashes(platform) -> None:
    c, h = platform.client, platform.headers("citizen")
    first, second = (c.post("/v1/citizen/certificates", json=PERIOD, headers=h).json() for _ in range(2))
    lines = first["detail"]["fields"]["lines"]  # the breakdown: the kind's table outside the QR code
    assert lines == second["detail"]["fields"]["lines"] and lines
    assert first["content"]["header"]["detailHash"] != second["content"]["header"]["detailHash"]
    schema = standard_kind(CertKind.SI_INDIVIDUAL)
    for cert in (first, second):
        # What the holder downloads carries the salt, and rebuilds the signed hash with it.
        signed = cert["content"]["header"]["detailHash"]
        assert re.fullmatch(r"[0-9a-f]{64}", cert["detail"]["salt"])
        assert eip712.detail_hash(cert["detail"]) == signed and eip712.detail_matches(schema, cert["detail"], signed)
        fetched = c.get(f"/v1/citizen/certificates/{cert['number']}", headers=h).json()
        assert fetched["detail"] == cert["detail"]
    with platform.ctx.sessions() as s:  # so does the store
        stored = s.scalars(select(Certificate).where(Certificate.number == first["number"])).one()
        assert stored.detail == first["detail"]
        assert eip712.detail_hash(stored.detail) == stored.content["header"]["detailHash"]
        # The QR payload carries the same signed hash as 32 opaque bytes, and no detail.
        assert decoded(payload_of(stored)).header["detailHash"] == stored.content["header"]["detailHash"]
        assert stored.detail["salt"] not in payload_of(stored).hex()


def test_guessing_the_employer_from_the_signed_hash_finds_nothing(platform) -> None:
    """The attack: take the signed content from a QR code, rebuild the breakdown for each plausible employer (every
    enterprise a published draw lists) and compare hashes. Without the salt it names the employer; with it,
    nothing matches."""
    with platform.ctx.sessions() as s:
        person = s.scalars(select(User.person_id).where(User.username == "citizen1")).one()
        employers = {
            row.employer_uscc
            for row in s.scalars(
                select(SiContribution).where(
                    SiContribution.person_id == person, SiContribution.month.between("2025-01", "2025-06")
                )
            )
        }
        candidates = sorted(s.scalars(select(Enterprise.uscc)))
    with transaction(platform.ctx.sessions) as s:
        cert, _ = platform.ctx.certificates.request(
            s,
            kind=CertKind.SI_INDIVIDUAL,
            subject=Subject(person_id=person),
            **{k: PERIOD[k] for k in ("period_from", "period_to")},
            actor="user:citizen1",
            actor_role="citizen",
        )
        lines, signed = cert.detail["fields"]["lines"], cert.content["header"]["detailHash"]
    assert len(employers) == 1 and employers <= set(candidates) and len(candidates) > 1
    (employer,) = employers

    def with_employer(uscc: str) -> list[dict]:
        return [{**line, "employer": uscc} for line in lines]

    def unsalted(uscc: str) -> str:
        return eip712.detail_hash({"fields": {"lines": with_employer(uscc)}})

    true = eip712.detail_hash({"fields": {"lines": lines}})
    assert unsalted(employer) == true != signed  # the true detail, unsalted, is not what was signed
    assert [u for u in candidates if unsalted(u) == true] == [employer]  # (unsalted, it would tell)
    guesses = [
        h
        for uscc in candidates
        for h in (
            unsalted(uscc),
            eip712.detail_hash({"fields": {"lines": with_employer(uscc)}, "salt": ""}),
            detail_hash(with_employer(uscc)),
        )
    ]
    assert signed not in guesses


def test_credit_reports_salt_their_detail_too(platform) -> None:
    c, h = platform.client, platform.headers("enterprise")
    span = {"period_from": "2024-01-01", "period_to": str(date.today())}
    first, second = (c.post("/v1/enterprise/credit/report", json=span, headers=h).json() for _ in range(2))
    assert {k: v for k, v in first["report"].items() if k != "salt"} == {
        k: v for k, v in second["report"].items() if k != "salt"
    }
    with platform.ctx.sessions() as s:
        certs = [s.scalars(select(Certificate).where(Certificate.number == r["number"])).one() for r in (first, second)]
    assert certs[0].content["header"]["detailHash"] != certs[1].content["header"]["detailHash"]
    schema = standard_kind(CertKind.CREDIT_REPORT)
    for cert, shown in zip(certs, (first, second), strict=True):
        signed = cert.content["header"]["detailHash"]
        assert re.fullmatch(r"[0-9a-f]{64}", cert.detail["salt"]) and shown["report"]["salt"] == cert.detail["salt"]
        assert eip712.detail_matches(schema, cert.detail, signed)
        assert shown["report"]["records"] == cert.detail["fields"]["records"]
