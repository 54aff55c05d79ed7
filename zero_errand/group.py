"""Group commit: certificate requests that arrive together are issued together, in one transaction.

Each request on its own is a transaction: the store's write lock, an audit-chain head, a commit (an fsync). Under
concurrent callers on SQLite the writers queue on the database's lock, and SQLite's busy handler polls it with
sleeps of up to 100 ms, so 50 callers get a few dozen certificates a second between them. Here the callers queue
in the process instead: one issuing thread takes every request waiting (up to `most`) and issues them with
`zero_errand.issuance.issue_many` in one transaction, while the next requests queue for the next one. A request is
answered once the transaction that holds its certificate has committed, exactly as before; a request refused on
its own merits (no records, an idempotency key reused) is refused alone. If a batch's transaction fails as a whole
(a database error), each of its requests is retried in a transaction of its own, so only the request that caused
it sees the error.

Callers get a `concurrent.futures.Future`: a thread waits on it (`issue`), the event loop awaits it
(`asyncio.wrap_future`) without holding a thread of the pool. The issuing thread starts with the first request and
ends after `idle` seconds without one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future

from sqlalchemy.orm import Session, sessionmaker

from store.db import transaction
from zero_errand.issuance import Outcome, Request

IssueBatch = Callable[[Session, list[Request]], list[Outcome]]  # issued at the clock's time, in the session given
Waiting = tuple[Request, "Future[Outcome]"]


class GroupCommit:
    """Issue single requests from many callers in shared transactions (see the module's docstring)."""

    def __init__(
        self, sessions: sessionmaker[Session], issue_batch: IssueBatch, most: int = 64, idle: float = 5.0
    ) -> None:
        self.sessions, self.issue_batch, self.most, self.idle = sessions, issue_batch, most, idle
        self._changed = threading.Condition()
        self._waiting: list[Waiting] = []
        self._thread: threading.Thread | None = None
        self.batches = 0  # transactions run and the most requests in one (the tests read them)
        self.largest = 0

    def submit(self, request: Request) -> Future[Outcome]:
        """Queue `request`; its future gives the outcome once its certificate (if any) is committed, or raises
        what its transaction raised when issuing it alone failed too."""
        future: Future[Outcome] = Future()
        with self._changed:
            self._waiting.append((request, future))
            if self._thread is None:
                self._thread = threading.Thread(target=self._issue_forever, name="group-commit", daemon=True)
                self._thread.start()
            self._changed.notify()
        return future

    def issue(self, request: Request) -> Outcome:
        """`submit`, waiting for the outcome in this thread."""
        return self.submit(request).result()

    def _issue_forever(self) -> None:
        while True:
            with self._changed:
                if not self._waiting:
                    self._changed.wait(self.idle)
                if not self._waiting:  # idle: the next submit starts a new thread
                    self._thread = None
                    return
                batch, self._waiting = self._waiting[: self.most], self._waiting[self.most :]
            self._run(batch)

    def _run(self, batch: list[Waiting]) -> None:
        """Issue `batch` in one transaction, or each alone if that fails. Every future is resolved when this
        returns, with an outcome or an exception."""
        self.batches += 1
        self.largest = max(self.largest, len(batch))
        try:
            try:
                self._issue(batch)
            except Exception as exc:  # the whole transaction failed: find out whose request it was
                if len(batch) == 1:
                    batch[0][1].set_exception(exc)
                else:
                    for member in batch:
                        try:
                            self._issue([member])
                        except Exception as alone:  # noqa: BLE001 - raised to the caller whose request it was
                            member[1].set_exception(alone)
        finally:
            for _, future in batch:
                if not future.done():  # interrupted before its turn
                    future.set_exception(RuntimeError("the batch holding this request was interrupted; retry"))

    def _issue(self, members: list[Waiting]) -> None:
        with transaction(self.sessions) as session:
            outcomes = self.issue_batch(session, [request for request, _ in members])
        for (_, future), outcome in zip(members, outcomes, strict=True):  # committed: now they may be answered
            future.set_result(outcome)
