"""The verify page's server side: the public key list and the holder check (on SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select

from api.http.limits import RateLimiter
from store.models import Certificate
from zero_errand.certificates import CertKind
from zero_errand.standard_kinds import standard_schemas


def digest_of(platform, number: str) -> str:
    with platform.ctx.sessions() as session:
        return session.scalars(select(Certificate.digest).where(Certificate.number == number)).one()


def test_the_key_list_names_the_signers_and_the_domain(platform) -> None:
    body = platform.client.get("/v1/verify/keys").json()
    with platform.ctx.sessions() as session:
        signers = set(session.scalars(select(Certificate.signer)))
    assert signers and signers <= {k["address"] for k in body["keys"]}
    assert body["chain_id"] == platform.ctx.ledger.sender.chain_id
    assert body["verifying_contract"] == platform.ctx.ledger.attestations.address
    assert {d["id"] for d in body["departments"]} == {
        "tax.440604",
        "si.440604",
        "amr.440604",
        "dsj.440604",
        "ps.440604",
        "edu.440604",
    }
    # the certificate kinds' own schema files (kinds/standard/), every version (a credit report issued under version
    # 1 still verifies), registered at provisioning; no department's yet
    listed = sorted((k["schema"]["slug"], k["schema"]["version"]) for k in body["kinds"])
    assert listed == sorted((s.slug, s.version) for s in standard_schemas())
    assert {slug for slug, _ in listed} == {k.slug for k in CertKind} and ("credit-report", 2) in listed


def test_the_holder_check_answers_one_bit(platform) -> None:
    people, client = platform.client.creds.people, platform.client
    citizen = digest_of(platform, platform.certs["citizen"])
    enterprise = digest_of(platform, platform.certs["enterprise"])

    def ask(digest: str, identifier: str):
        return client.post("/v1/verify/holder", json={"digest": digest, "identifier": identifier})

    assert ask(citizen, people[0]).json() == {"match": True}
    assert ask(citizen, people[1]).json() == {"match": False}
    assert ask(citizen, " ".join([people[0][:6], people[0][6:14], people[0][14:].lower()])).json()["match"] is True
    assert ask(enterprise, platform.usccs[0].lower()).json() == {"match": True}
    assert ask(enterprise, platform.usccs[1]).json() == {"match": False}
    assert ask(enterprise, people[0]).json() == {"match": False}  # a person is not the enterprise
    wrong_check = people[0][:17] + ("1" if people[0][17] != "1" else "2")
    r = ask(citizen, wrong_check)
    assert r.status_code == 422 and "position 18" in r.json()["detail"]
    r = ask("0x" + "ab" * 32, people[0])
    assert r.status_code == 404
    assert ask("0x1234", people[0]).status_code == 422


def test_the_holder_check_is_rate_limited(platform) -> None:
    platform.ctx.expensive_limiter = RateLimiter(5)  # five guesses a minute for this test
    digest = digest_of(platform, platform.certs["citizen"])
    codes = [
        platform.client.post("/v1/verify/holder", json={"digest": digest, "identifier": platform.usccs[0]}).status_code
        for _ in range(7)
    ]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
