"""Group commit (zero_errand.group): requests that arrive while a transaction runs are issued together in the next
one, each answered only once its certificate is committed, each refused or failed on its own.

The batches are made deterministic by holding the first transaction open until the others have queued behind it.
On SQLite and PostgreSQL (the `platform` fixture), with the real issuance path; the one failure injected is a
request the batch function refuses to handle (it raises), to see that it fails alone and takes nothing with it.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from store import audit
from store.models import AuditEntry, Certificate
from zero_errand.certificates import CertKind
from zero_errand.group import GroupCommit
from zero_errand.issuance import IssuanceError, Request, Subject


def _tax(uscc: str, key: str | None = None, month: str = "2025-02", actor: str = "client:x") -> Request:
    return Request(CertKind.TAX_ENTERPRISE, Subject(uscc=uscc), "2025-01", month, actor, "enterprise", key)


class Held:
    """A batch function that holds its first call open until released, and refuses requests from `poison`."""

    def __init__(self, service) -> None:
        self.service, self.release, self.entered = service, threading.Event(), threading.Event()
        self.calls: list[int] = []

    def __call__(self, session, requests):
        self.calls.append(len(requests))
        if len(self.calls) == 1:
            self.entered.set()
            assert self.release.wait(30)
        if any(r.actor == "poison" for r in requests):
            raise RuntimeError("this request breaks its transaction")
        return self.service.request_many(session, requests)


def _queued_behind(group: GroupCommit, held: Held, requests: list[Request]) -> list:
    """Submit `requests[0]`, hold its transaction open, queue the rest behind it, release: each one's answer."""
    pool = ThreadPoolExecutor(len(requests))
    first = pool.submit(group.issue, requests[0])
    assert held.entered.wait(30)
    rest = [pool.submit(group.issue, r) for r in requests[1:]]
    deadline = time.monotonic() + 30
    while len(group._waiting) < len(rest):
        assert time.monotonic() < deadline, "the requests did not queue"
        time.sleep(0.01)
    held.release.set()
    answers = []
    for future in [first, *rest]:
        try:
            answers.append(future.result(60))
        except Exception as exc:  # noqa: BLE001 - the answer under test
            answers.append(exc)
    pool.shutdown()
    return answers


def test_requests_queued_behind_a_transaction_are_issued_in_the_next_one(platform) -> None:
    service = platform.ctx.require_certificates()
    held = Held(service)
    group = GroupCommit(platform.ctx.sessions, held)
    a, b = platform.usccs
    with platform.ctx.sessions() as s:
        audited = s.scalar(select(func.count()).select_from(AuditEntry))
    requests = [_tax(a, month="2025-01")] + [_tax((a, b)[n % 2], month=f"2025-{2 + n // 2:02d}") for n in range(10)]
    outcomes = _queued_behind(group, held, requests)
    assert held.calls == [1, 10] and group.batches == 2 and group.largest == 10
    assert all(o.error is None and o.created for o in outcomes)
    numbers = [o.certificate.number for o in outcomes]
    assert len(set(numbers)) == 11
    with platform.ctx.sessions() as s:  # committed, each audited on its own, the chain intact
        stored = s.scalars(select(Certificate).where(Certificate.number.in_(numbers))).all()
        assert {c.state for c in stored} == {"ISSUED"} and len(stored) == 11
        assert {c.owner for c in stored} == {f"uscc:{a}", f"uscc:{b}"}
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == audited + 11
        assert audit.verify(s).ok


def test_one_key_twice_in_a_batch_is_one_certificate_and_a_refusal_stays_alone(platform) -> None:
    service = platform.ctx.require_certificates()
    held = Held(service)
    group = GroupCommit(platform.ctx.sessions, held)
    a, b = platform.usccs
    requests = [
        _tax(b, month="2025-01"),
        _tax(a, key="order-7"),
        _tax(a, key="order-7"),  # the same request again, before the first was answered
        _tax(a, key="order-7", month="2025-03"),  # another request under the used key
        Request(CertKind.TAX_ENTERPRISE, Subject(uscc=a), "2019-01", "2019-02", "client:x", "enterprise"),
        _tax(b, month="2025-04"),
    ]
    first, one, again, reused, empty, other = _queued_behind(group, held, requests)
    assert held.calls == [1, 5]
    assert one.created and one.error is None and again.error is None and not again.created
    assert again.certificate.number == one.certificate.number
    assert isinstance(reused.error, IssuanceError) and reused.error.code == "idempotency-key-reused"
    assert isinstance(empty.error, IssuanceError) and empty.error.code == "no-records"
    assert first.created and other.created
    with platform.ctx.sessions() as s:
        keyed = s.scalars(select(Certificate).where(Certificate.idempotency_key == "order-7")).all()
    assert [c.number for c in keyed] == [one.certificate.number]


def test_a_request_that_breaks_its_transaction_fails_alone_and_the_others_are_issued(platform) -> None:
    service = platform.ctx.require_certificates()
    held = Held(service)
    group = GroupCommit(platform.ctx.sessions, held)
    a, b = platform.usccs
    requests = [_tax(a, month="2025-01"), _tax(a, month="2025-05"), _tax(b, actor="poison"), _tax(b, month="2025-06")]
    first, before, poisoned, after = _queued_behind(group, held, requests)
    assert isinstance(poisoned, RuntimeError) and "breaks its transaction" in str(poisoned)
    assert held.calls == [1, 3, 1, 1, 1]  # the batch of three failed as a whole, then each alone
    assert first.created and before.created and after.created
    with platform.ctx.sessions() as s:
        assert s.scalar(select(func.count()).where(AuditEntry.actor == "poison")) == 0  # nothing of it stored
        stored = s.scalar(
            select(func.count()).where(
                Certificate.number.in_([first.certificate.number, before.certificate.number, after.certificate.number])
            )
        )
        assert stored == 3


def test_many_threads_at_once_each_get_their_own_committed_certificate(platform) -> None:
    threads = 24
    service = platform.ctx.require_certificates()
    a, b = platform.usccs
    start = threading.Barrier(threads)

    def one(n: int):
        start.wait(30)
        return service.submit(_tax((a, b)[n % 2], key=f"many-{n}"))

    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(one, range(threads)))
    assert all(created for _, created in answers)
    numbers = {cert.number for cert, _ in answers}
    assert len(numbers) == threads
    with platform.ctx.sessions() as s:
        assert s.scalar(select(func.count()).where(Certificate.number.in_(numbers))) == threads
        assert audit.verify(s).ok


def test_the_issuing_thread_ends_when_idle_and_the_next_request_starts_another(platform) -> None:
    service = platform.ctx.require_certificates()
    group = GroupCommit(platform.ctx.sessions, service.request_many, idle=0.05)
    a, _ = platform.usccs
    assert group.issue(_tax(a, month="2025-07")).created
    deadline = time.monotonic() + 10
    while group._thread is not None:
        assert time.monotonic() < deadline, "the issuing thread did not end"
        time.sleep(0.01)
    assert group.issue(_tax(a, month="2025-08")).created and group.batches == 2


def test_a_caller_that_gives_up_is_left_out_and_the_writer_goes_on(platform) -> None:
    """A dropped connection cancels the awaited future: before its turn the request is left out; once taken it can
    no longer be cancelled and is answered as committed; the writing thread never dies of it."""
    import threading

    from store.group import GroupCommit as Generic

    release, seen = threading.Event(), []

    def batch(_session, requests: list[int]) -> list[int]:
        if requests == [1]:
            release.wait(10)
        seen.extend(requests)
        return [r * 10 for r in requests]

    group: Generic[int, int] = Generic(platform.ctx.sessions, batch, idle=0.5)
    first = group.submit(1)
    while not first.running():  # taken by the writer, which waits in the batch
        pass
    assert not first.cancel()  # running: too late to cancel
    gone, kept = group.submit(2), group.submit(3)
    assert gone.cancel()  # not yet taken: cancelled
    release.set()
    assert first.result(10) == 10 and kept.result(10) == 30
    assert group.submit(4).result(10) == 40  # the writer goes on
    assert 2 not in seen and sorted(seen) == [1, 3, 4]
