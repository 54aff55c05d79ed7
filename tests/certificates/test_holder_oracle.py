"""Issue 15: the holder check is not an ID-number oracle (on SQLite and PostgreSQL).

The attack: the QR shows `4406` and the certificate's digest; a stranger walks the valid ID numbers of the
district (birth dates × sequences, check character computed) through `POST /v1/verify/holder` until one
matches. The per-caller rate limit alone does not stop many addresses, so wrong guesses are capped per
certificate, in the store, atomically.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

from sqlalchemy import select

from api.http.limits import RateLimiter
from identifiers import id_check_char
from qr.payload import payload_from_text
from store.db import transaction
from store.models import Certificate
from zero_errand.verification import HOLDER_GUESSES, HolderCheckLocked, holder_matches

LOCKED = "urn:zel:problem:holder-check-locked"


def digest_of(platform, number: str) -> str:
    with platform.ctx.sessions() as session:
        return session.scalars(select(Certificate.digest).where(Certificate.number == number)).one()


def candidates(region: str, count: int, skip: str) -> list[str]:
    """Valid-checksum ID numbers of `region` (what an attacker enumerates), without `skip`."""
    out, day = [], date(1985, 1, 1)
    while len(out) < count:
        for seq in range(1, 1000, 97):
            body = f"{region}{day:%Y%m%d}{seq:03d}"
            number = body + id_check_char(body)
            if number != skip:
                out.append(number)
        day += timedelta(days=1)
    return out[:count]


def no_rate_limit(platform) -> None:
    # The attacker has many addresses: the per-caller limit (60/min in production) is not what is tested here.
    platform.ctx.expensive_limiter = RateLimiter(100_000)


def test_a_hundred_wrong_guesses_get_five_answers_and_the_holder_sees_the_lock(platform) -> None:
    no_rate_limit(platform)
    client, holder_id = platform.client, platform.client.creds.people[0]
    digest = digest_of(platform, platform.certs["citizen"])
    guesses = candidates(holder_id[:6], 100, skip=holder_id)
    assert all(len(g) == 18 and g[:4] == "4406" for g in guesses)

    responses = [client.post("/v1/verify/holder", json={"digest": digest, "identifier": g}) for g in guesses]
    answered = [r for r in responses if r.status_code == 200]
    assert len(answered) == HOLDER_GUESSES == 5
    assert all(r.json() == {"match": False} for r in answered)
    refused = responses[HOLDER_GUESSES:]
    assert {r.status_code for r in refused} == {423}
    assert all(r.headers["content-type"].startswith("application/problem+json") for r in refused)
    assert all(r.json()["type"] == LOCKED and "match" not in r.json() for r in refused)

    # The holder's own number is refused too: a locked check answers nothing, right or wrong.
    right = client.post("/v1/verify/holder", json={"digest": digest, "identifier": holder_id})
    assert right.status_code == 423 and right.json()["type"] == LOCKED

    # The holder sees it in their account, in the certificate and in the list.
    own = client.get(f"/v1/citizen/certificates/{platform.certs['citizen']}", headers=platform.headers("citizen"))
    assert own.status_code == 200
    assert own.json()["holder_check"] == {"wrong_guesses": 5, "locked": True}
    listed = client.get("/v1/citizen/certificates", headers=platform.headers("citizen")).json()
    assert next(c for c in listed if c["number"] == platform.certs["citizen"])["holder_check"]["locked"] is True

    # Other certificates keep their own count.
    enterprise = digest_of(platform, platform.certs["enterprise"])
    assert client.post("/v1/verify/holder", json={"digest": enterprise, "identifier": platform.usccs[0]}).json() == {
        "match": True
    }
    theirs = client.get(
        f"/v1/enterprise/certificates/{platform.certs['enterprise']}", headers=platform.headers("enterprise")
    ).json()
    assert theirs["holder_check"] == {"wrong_guesses": 0, "locked": False}


def test_right_guesses_are_not_counted_and_malformed_ones_are_not_answered(platform) -> None:
    no_rate_limit(platform)
    client = platform.client
    digest = digest_of(platform, platform.certs["enterprise"])

    def ask(identifier: str):
        return client.post("/v1/verify/holder", json={"digest": digest, "identifier": identifier})

    for _ in range(10):
        assert ask(platform.usccs[0]).json() == {"match": True}
    bad = platform.usccs[1][:17] + ("0" if platform.usccs[1][17] != "0" else "1")
    assert ask(bad).status_code == 422  # a wrong check character is refused before any lookup: not a guess
    for n in range(1, HOLDER_GUESSES + 1):
        assert ask(platform.usccs[1]).json() == {"match": False}
        seen = client.get(
            f"/v1/enterprise/certificates/{platform.certs['enterprise']}", headers=platform.headers("enterprise")
        ).json()["holder_check"]
        assert seen == {"wrong_guesses": n, "locked": n == HOLDER_GUESSES}
    assert ask(platform.usccs[0]).status_code == 423
    assert ask(platform.usccs[1]).status_code == 423


def test_concurrent_wrong_guesses_never_overshoot(platform) -> None:
    """Twenty callers at once, each with its own connection (as several server processes would have): the
    conditional UPDATE … RETURNING lets exactly five wrong answers through."""
    ctx, number = platform.ctx, platform.certs["citizen"]
    digest = digest_of(platform, number)
    guesses = candidates(platform.client.creds.people[0][:6], 20, skip=platform.client.creds.people[0])
    answers: list[object] = []
    start = threading.Barrier(len(guesses))

    def guess(identifier: str) -> None:
        start.wait()
        try:
            with transaction(ctx.sessions) as session:
                answers.append(holder_matches(session, ctx.pii, digest, "citizen_id", identifier))
        except HolderCheckLocked:
            answers.append("locked")

    threads = [threading.Thread(target=guess, args=(g,)) for g in guesses]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(answers) == 20
    assert answers.count(False) == HOLDER_GUESSES and answers.count("locked") == 20 - HOLDER_GUESSES
    with ctx.sessions() as session:
        assert (
            session.scalars(select(Certificate.holder_wrong_guesses).where(Certificate.number == number)).one()
            == HOLDER_GUESSES
        )


def test_the_per_caller_rate_limit_still_applies(platform) -> None:
    platform.ctx.expensive_limiter = RateLimiter(3)
    digest = digest_of(platform, platform.certs["enterprise"])
    codes = [
        platform.client.post("/v1/verify/holder", json={"digest": digest, "identifier": platform.usccs[0]}).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]


def test_issued_certificates_show_only_the_first_four_digits(platform) -> None:
    holder_id = platform.client.creds.people[0]
    own = platform.client.get(
        f"/v1/citizen/certificates/{platform.certs['citizen']}", headers=platform.headers("citizen")
    ).json()
    assert own["content"]["header"]["subject"] == holder_id[:4] + "*" * 14
    verdict = platform.client.post("/v1/verify", json={"text": own["verify_url"]}).json()
    assert verdict["status"] == "VALID"
    assert verdict["certificate"]["subject"] == holder_id[:4] + "*" * 14
    assert holder_id[-4:].encode() not in payload_from_text(own["verify_url"])


def test_the_migration_adds_the_count_and_matches_the_model(database_url) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from store import models  # noqa: F401
    from store.db import Base, alembic_config, current_revision, head_revision, make_engine, upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "certificate" in repr(d)] == []
    command.downgrade(alembic_config(engine), "0005")
    assert current_revision(engine) == "0005"
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()
